"""Plausibility checks on extracted fields: what a reviewer should look at before trusting them.

Each warning is a sentence for a person. The checks look only at the fields, so they apply equally
to values read by OCR, from a PDF's text, from e-invoice XML or from an LLM.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from extraction.models import InvoiceFields

# Documents whose total may be negative: they give money back.
_CREDIT_TYPES = frozenset({"credit_note", "corrected_invoice"})
# Invoices are issued today at the latest; one day of slack covers time zones.
_FUTURE_SLACK = timedelta(days=1)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def validate(fields: InvoiceFields, *, today: date | None = None) -> list[str]:
    """Warnings for a person: what does not add up or cannot be right."""
    today = today or date.today()
    warnings: list[str] = []
    subtotal, tax, total = fields.subtotal, fields.tax, fields.total
    if subtotal is not None and tax is not None and total is not None:
        expected = subtotal.value + tax.value
        if expected != total.value:
            warnings.append(
                f"The totals do not add up: subtotal {_money(subtotal.value)} + tax {_money(tax.value)} = "
                f"{_money(expected)}, but the total reads {_money(total.value)}."
            )
    if fields.invoice_date is not None and fields.invoice_date.value > today + _FUTURE_SLACK:
        warnings.append(f"The invoice date {fields.invoice_date.value.isoformat()} is in the future.")
    if (
        fields.invoice_date is not None
        and fields.due_date is not None
        and fields.due_date.value < fields.invoice_date.value
    ):
        warnings.append(
            f"The due date {fields.due_date.value.isoformat()} is before the invoice date "
            f"{fields.invoice_date.value.isoformat()}."
        )
    is_credit = fields.document_type is not None and fields.document_type.value in _CREDIT_TYPES
    if total is not None and total.value < 0 and not is_credit:
        warnings.append(f"The total {_money(total.value)} is negative, but the document is not a credit note.")
    if total is not None and fields.currency is None:
        warnings.append("No currency was found; the amounts are shown without one.")
    return warnings
