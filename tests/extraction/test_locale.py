"""What a document implies about where it is from: the day/month order of US receipts, and a currency
implied by the address or the VAT number (held with less confidence than a printed one)."""

from __future__ import annotations

from datetime import date

from extraction.parsing import parse_fields
from extraction.parsing.locale import country_hint, currency_of_vat_id
from tests.extraction.ocr_lines import stacked


def test_country_hints() -> None:
    assert country_hint(["2621 ORANGETHORPE AVE", "FULLERTON, CA 92831"]) == "US"
    assert country_hint(["KEDAI MAJU SDN BHD", "43000 KAJANG, SELANGOR"]) == "MY"
    assert country_hint(["12 Market Street", "Bristol BS1 4DJ"]) is None


def test_currency_of_a_vat_number() -> None:
    assert (currency_of_vat_id("DE123456789"), currency_of_vat_id("GB123456789"), currency_of_vat_id("123")) == ("EUR", "GBP", None)


def test_a_us_receipt_reads_ambiguous_dates_month_first_and_implies_dollars() -> None:
    fields = parse_fields(stacked("CORNER DELI", "100 MAIN ST", "SPRINGFIELD, IL 62701", "03/04/2019 12:31", "TOTAL 12.50"))
    assert fields.invoice_date is not None and fields.invoice_date.value == date(2019, 3, 4)
    assert fields.currency is not None and fields.currency.value == "USD" and fields.currency.confidence <= 0.5


def test_elsewhere_ambiguous_dates_stay_day_first() -> None:
    fields = parse_fields(stacked("CORNER DELI", "12 Market Street", "03/04/2019 12:31", "TOTAL 12.50"))
    assert fields.invoice_date is not None and fields.invoice_date.value == date(2019, 4, 3)
    assert fields.currency is None
