"""Rule-based, layout-aware field parsing: OCR lines with boxes in, `InvoiceFields` out. Offline."""

from __future__ import annotations

from extraction.models import DocumentText, InvoiceFields


def parse_fields(doc: DocumentText) -> InvoiceFields:
    """Read every invoice field from the document's lines (stub: filled in next)."""
    return InvoiceFields()


def needs_second_opinion(fields: InvoiceFields) -> bool:
    """True when the fields are not trustworthy enough to skip a slower, better OCR pass."""
    return fields.total is None or fields.total.confidence < 0.8


__all__ = ["needs_second_opinion", "parse_fields"]
