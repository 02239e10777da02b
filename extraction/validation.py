"""Plausibility checks on extracted fields: what a reviewer should look at."""

from __future__ import annotations

from extraction.models import InvoiceFields


def validate(fields: InvoiceFields) -> list[str]:
    """Warnings for a person (stub)."""
    return []
