"""Validation warnings: what a reviewer should look at."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from extraction.models import FieldValue, InvoiceFields
from extraction.validation import validate

TODAY = date(2024, 6, 1)


def value(v: object) -> FieldValue:
    return FieldValue(value=v, confidence=0.9, source="ocr")


def fields(**values: object) -> InvoiceFields:
    return InvoiceFields(**{name: value(v) for name, v in values.items()})


def test_consistent_fields_give_no_warning() -> None:
    ok = fields(
        subtotal=Decimal("100.00"), tax=Decimal("20.00"), total=Decimal("120.00"), currency="EUR",
        invoice_date=date(2024, 5, 1), due_date=date(2024, 5, 31),
    )
    assert validate(ok, today=TODAY) == []


def test_totals_that_do_not_add_up() -> None:
    [warning] = validate(fields(subtotal=Decimal("100"), tax=Decimal("20"), total=Decimal("125"), currency="EUR"), today=TODAY)
    assert "do not add up" in warning and "120.00" in warning and "125.00" in warning


def test_dates_in_the_future_and_due_before_issue() -> None:
    warnings = validate(fields(invoice_date=date(2024, 7, 1), due_date=date(2024, 6, 15)), today=TODAY)
    assert any("in the future" in w for w in warnings)
    assert any("before the invoice date" in w for w in warnings)
    assert validate(fields(invoice_date=date(2024, 6, 2)), today=TODAY) == []  # a day of slack for time zones


def test_negative_total_only_on_a_credit_note() -> None:
    assert any("negative" in w for w in validate(fields(total=Decimal("-8.79"), currency="EUR"), today=TODAY))
    credit = fields(total=Decimal("-8.79"), currency="EUR", document_type="credit_note")
    assert validate(credit, today=TODAY) == []


def test_missing_currency() -> None:
    assert validate(fields(total=Decimal("5.00")), today=TODAY) == ["No currency was found; the amounts are shown without one."]
