"""The four headline fields of an invoice, as live events and lists show them.

Written into the final update of an extraction, so a live `processed` event carries the summary of that very
write: looking the document up later (`updateLookup`) would race with a person's correction made since.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bson_codec import from_bson

SUMMARY_FIELDS = ("vendor_name", "invoice_number", "total", "currency")


def event_summary(extraction: Mapping[str, Any] | None, corrections: Mapping[str, Any] | None) -> dict[str, str | None]:
    """Each headline field as a string (money exact), a person's correction winning over the machine's value."""
    fields = (extraction or {}).get("fields") or {}
    corrections = corrections or {}
    summary: dict[str, str | None] = {}
    for name in SUMMARY_FIELDS:
        chosen = corrections.get(name) or fields.get(name) or {}
        value = from_bson(chosen.get("value")) if isinstance(chosen, Mapping) else None
        summary[name] = None if value is None else str(value)
    return summary
