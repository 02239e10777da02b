"""What a document implies about where it is from: the day/month order of US receipts (and, where no address
says, of pages written the American way), and a currency implied by the address or the VAT number (held with
less confidence than a printed one)."""

from __future__ import annotations

from datetime import date

from extraction.choice.model import default_model
from extraction.parsing import parse_fields
from extraction.parsing.dates import find_dates
from extraction.parsing.locale import country_hint, currency_of_vat_id, guess_day_first
from tests.extraction.ocr_lines import stacked


def test_country_hints() -> None:
    assert country_hint(["2621 ORANGETHORPE AVE", "FULLERTON, CA 92831"]) == "US"
    assert country_hint(["KEDAI MAJU SDN BHD", "43000 KAJANG, SELANGOR"]) == "MY"
    assert country_hint(["12 Market Street", "Bristol BS1 4DJ"]) is None
    assert country_hint(["Springfield, IL 62701 Tel. 217 555 0100"]) == "US"
    assert country_hint(["Lakeside, MI 49116 USA"]) == "US"


def test_a_country_code_before_a_postcode_and_town_is_no_us_state() -> None:
    # The European order: country code, postcode, town. "DE" is also Delaware's code, "MA" Massachusetts'.
    assert country_hint(["Beispiel GmbH, Hauptstraße 5", "DE 80331 München"]) is None
    assert country_hint(["MA 20250 Casablanca"]) is None


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


def test_where_nothing_settles_the_order_the_page_s_habits_guess_it_and_the_date_stays_ambiguous() -> None:
    american = ["CORNER DELI", "03/04/2019 7:31 PM", "TOTAL $12.50"]
    assert guess_day_first(american, country_hint(american)) is False
    fields = parse_fields(stacked(*american))
    assert fields.invoice_date is not None and fields.invoice_date.value == date(2019, 3, 4)
    model = default_model()
    assert model is not None and model.guessed_order_right < 1.0
    assert fields.invoice_date.confidence <= model.guessed_order_right  # a guess, not a fact of the page
    [match] = find_dates("03/04/2019", guess_day_first=False)
    assert match.value == date(2019, 3, 4) and match.ambiguous
    # Euros, another country's address, dashes or dots keep day first.
    assert guess_day_first(["03/04/2019 7:31 PM", "TOTAL 12.50 EUR"], None) is True
    assert guess_day_first(["KEDAI MAJU SDN BHD", "03/04/2019 7:31 PM", "TOTAL $12.50"], "MY") is True
    assert guess_day_first(["03-04-2019 7:31 PM", "TOTAL $12.50"], None) is True
    # Dollars that write the day first: an Australian Business Number, a named country, its currency.
    assert guess_day_first(["TAX INVOICE ABN 12 345 678 901", "03/04/2019 7:31 PM", "TOTAL $12.50"], None) is True
    assert guess_day_first(["Orchard Road, Singapore", "03/04/2019 7:31 PM", "TOTAL $12.50"], None) is True
    assert guess_day_first(["03/04/2019 7:31 PM", "TOTAL S$12.50"], None) is True
