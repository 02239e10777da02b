"""Reading values: amounts in every notation, dates in every order and language, labels in six languages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extraction.parsing.amounts import currency_votes, find_amounts, parse_amount
from extraction.parsing.dates import find_dates, infer_day_first
from extraction.parsing.labels import document_type, find_labels


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1,234.56", "1234.56", None),
        ("1.234,56", "1234.56", None),
        ("1 234,56 €", "1234.56", "EUR"),
        ("1'234.50 CHF", "1234.50", "CHF"),
        ("€ 717,97", "717.97", "EUR"),
        ("RM12.30", "12.30", "MYR"),
        ("$4.11", "4.11", "USD"),
        ("£ 20.00", "20.00", "GBP"),
        ("Rs 1939", "1939", "INR"),
        ("12.30 EUR", "12.30", "EUR"),
        ("(9.32)", "-9.32", None),
        ("9,32-", "-9.32", None),
        ("-0.01", "-0.01", None),
        ("PRICE/GAL $ 3.459", "3.459", "USD"),  # a dollar price to the tenth of a cent, not 3459
        ("€ 2.500", "2500", "EUR"),  # where "." groups thousands it still does
        ("RM .02", "0.02", "MYR"),
        ("24 .99", "24.99", None),  # a space before the decimal point, as text layers produce
    ],
)
def test_amounts_in_every_notation(text: str, value: str, currency: str | None) -> None:
    amounts = find_amounts(text, whole_needs_marker=False)
    assert [(a.value, a.currency) for a in amounts] == [(Decimal(value), currency)]


@pytest.mark.parametrize(
    "text",
    ["20.09.2018", "12:30", "Tel 03-7865 3412", "GST 6%", "Qty 3", "2024", "19,0", "TOTAL .99", "GST No 001234567890"],
)
def test_dates_times_rates_ids_and_counts_are_not_money(text: str) -> None:
    assert find_amounts(text) == []


def test_an_amount_after_dot_leaders_but_not_after_one_dot() -> None:
    assert [a.value for a in find_amounts("Subtotal.....12.00")] == [Decimal("12.00")]
    assert [a.value for a in find_amounts("TOTAL...16,70")] == [Decimal("16.70")]
    assert find_amounts("v.16") == [] and find_amounts("1.16,70") == []


def test_several_amounts_on_a_line_keep_their_order_and_positions() -> None:
    text = "Tax 15% on $ 112.90 $ 16.94"
    amounts = find_amounts(text)
    assert [a.value for a in amounts] == [Decimal("112.90"), Decimal("16.94")]
    assert text[amounts[1].start : amounts[1].end].strip() == "$ 16.94"


def test_a_misread_currency_prefix_does_not_hide_the_amount() -> None:
    assert [a.value for a in find_amounts("SUBTOTAL RN43.40")] == [Decimal("43.40")]


def test_parse_amount_wants_exactly_one() -> None:
    assert parse_amount("€ 1.234,56") == Decimal("1234.56")
    assert parse_amount("1.00 2.00") is None
    assert parse_amount("no money") is None


def test_currency_votes_prefer_codes_over_symbols() -> None:
    votes = currency_votes("Total € 12,00 EUR, paid $ 3.00")
    assert votes.most_common(1)[0][0] == "EUR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice Date: August 3, 2014", date(2014, 8, 3)),
        ("Jan 31 , 2022", date(2022, 1, 31)),
        ("2018-06-13", date(2018, 6, 13)),
        ("20.09.2018", date(2018, 9, 20)),
        ("03-Aug-2014", date(2014, 8, 3)),
        ("Datum: 15. März 2019", date(2019, 3, 15)),  # de
        ("du 02 Juillet 2015", date(2015, 7, 2)),  # fr
        ("Factuurdatum: 29 maart 2014", date(2014, 3, 29)),  # nl
        ("1 de enero de 2020", date(2020, 1, 1)),  # es
        ("Tarikh: 12 Ogos 2017", date(2017, 8, 12)),  # ms
        ("5 Disember 2017", date(2017, 12, 5)),  # ms
        ("31.12.17", date(2017, 12, 31)),
        ("Date 03/02/201815:28", date(2018, 2, 3)),  # OCR glued the time to the year
        ("Date :26-05--2018", date(2018, 5, 26)),
        ("Date:26/03/2017,11:59", date(2017, 3, 26)),  # a time after a comma
        ("S#1 Ju1.30'11(Sat)07:27", date(2011, 7, 30)),  # OCR: "1" for "l"
        ("0ct 25, 2014", date(2014, 10, 25)),  # OCR: "0" for "O"
    ],
)
def test_dates_in_every_common_format_and_language(text: str, expected: date) -> None:
    assert [d.value for d in find_dates(text)] == [expected]


def test_month_year_phone_numbers_and_amounts_are_not_dates() -> None:
    assert find_dates("August 2014") == []
    assert find_dates("Tel 03-7865 3412") == []
    assert find_dates("Total 12.30") == []


def test_ambiguous_numeric_dates_follow_the_document_order() -> None:
    assert find_dates("02/03/2018")[0].value == date(2018, 3, 2)  # day first by default ...
    assert find_dates("02/03/2018")[0].ambiguous  # ... and flagged
    assert find_dates("02/03/2018", day_first=False)[0].value == date(2018, 2, 3)
    assert not find_dates("02/03/2018", day_first=False)[0].ambiguous
    assert find_dates("13/03/2018")[0].ambiguous is False


def test_a_dotted_numeric_date_is_day_first_whatever_the_document_says() -> None:
    # dd.mm.yyyy is the continental European form; month-first dates are written with slashes or dashes.
    assert find_dates("Rechnung vom 06.12.2018", day_first=False)[0].value == date(2018, 12, 6)
    assert find_dates("Rechnung vom 06.12.2018")[0].ambiguous is False
    assert find_dates("Invoice 06/12/2018", day_first=False)[0].value == date(2018, 6, 12)


def test_day_first_is_inferred_from_an_unambiguous_date_elsewhere() -> None:
    assert infer_day_first(["Invoice 03/20/2023", "Due 04/04/2023"]) is False
    assert infer_day_first(["Date 13/11/2017", "Delivery 02/11/2017"]) is True
    assert infer_day_first(["02/03/2018"]) is None


@pytest.mark.parametrize(
    ("text", "field", "label"),
    [
        ("Invoice No: 42183017", "invoice_number", "Invoice No"),
        ("Rechnungsnummer: 4711", "invoice_number", "Rechnungsnummer"),
        ("Handelsrechnung (380) Nr. 471113 vom 13.06.2018", "invoice_number", "Handelsrechnung (380) Nr."),
        ("Facture n°562044387", "invoice_number", "Facture n"),
        ("Factuurnummer: 993548900", "invoice_number", "Factuurnummer"),
        ("Factura Nº 2020-17", "invoice_number", "Factura Nº"),
        ("Invoice Date: 3 August 2014", "invoice_date", "Invoice Date"),
        ("Rechnungsdatum 01.02.2020", "invoice_date", "Rechnungsdatum"),
        ("Date de facture 13/11/2017", "invoice_date", "Date de facture"),
        ("Fecha de emisión 01/02/2020", "invoice_date", "Fecha de emisión"),
        ("Zahlbar bis 30.05.2017", "due_date", "Zahlbar bis"),
        ("Date d'échéance 13/12/2017", "due_date", "Date d'échéance"),
        ("Vervaldatum 22-9-2022", "due_date", "Vervaldatum"),
        ("Grand Total 48.15", "total", "Grand Total"),
        ("Gesamtbetrag: 571,04 €", "total", "Gesamtbetrag"),
        ("Montant TTC 29,99", "total", "Montant TTC"),
        ("Totaal € 717,97", "total", "Totaal"),
        ("Total a pagar 10,00", "total", "Total a pagar"),
        ("Jumlah Besar 12.00", "total", "Jumlah Besar"),
        ("Summe inkl. USt: 559,84 €", "total", "Summe inkl. USt"),
        ("Sub Total 45.43", "subtotal", "Sub Total"),
        ("Total HT 624,90 €", "subtotal", "Total HT"),
        ("Exclusief BTW € 593,36", "subtotal", "Exclusief BTW"),
        ("Total GST 2.73", "tax", "Total GST"),
        ("MwSt-Betrag 70,00", "tax", "MwSt-Betrag"),
        ("Total Qty: 3", "not_total", "Total Qty"),
        ("Taxes 0.41", "tax", "Taxes"),
        ("G.S.T. 6%: 1.14", "tax", "G.S.T. 6%"),
        ("Incl. VAT (20%): $3.10", "tax", "Incl. VAT (20%)"),  # the tax a gross price includes, at its rate
        ("inkl. 7% MwSt 0,84", "tax", "inkl. 7% MwSt"),
        ("Total Inclusive GST: 18.90", "total", "Total Inclusive GST"),
        ("Tip: 3.00", "not_total", "Tip"),
        ("CHANGE 1.85", "payment", "CHANGE"),
    ],
)
def test_labels_in_several_languages(text: str, field: str, label: str) -> None:
    found = find_labels(text)
    assert (found[0].field, text[found[0].start : found[0].end]) == (field, label)


def test_the_longest_label_wins_where_labels_overlap() -> None:
    assert [m.field for m in find_labels("Total Sales (Inclusive GST) 48.16")] == ["total"]
    assert [m.field for m in find_labels("Total 6% supplies (excl. GST): 12.00")] == ["subtotal"]
    assert [m.field for m in find_labels("USt-IdNr: DE123456789")] == ["not_total"]


@pytest.mark.parametrize(
    ("text", "field"),
    [("Totai 12.00", "total"), ("lotal $9.10", "total"), ("Sibtotal 8.40", "subtotal"),
     ("SUBTOTAI 8.40", "subtotal"), ("Anount Due 4.00", "total"), ("Amcunt 4.00", "total"),
     ("Totai Qty 3", "not_total")],
)
def test_a_summary_word_with_one_letter_misread_by_ocr_is_still_its_label(text: str, field: str) -> None:
    assert [m.field for m in find_labels(text)] == [field]


def test_real_words_near_a_summary_word_are_no_labels() -> None:
    # One letter off "total", but not by a letter OCR mistakes for the right one.
    assert find_labels("Tonal balm 4.00") == [] and find_labels("Totem 4.00") == []


def test_an_id_with_label_words_inside_is_not_a_label() -> None:
    assert find_labels("invoice_number_1") == []


def test_document_type_from_the_title() -> None:
    assert document_type(["GUTSCHRIFT Nr. 12"]) == "credit_note"
    assert document_type(["Rechnungskorrektur Nr. RK21012345"]) == "corrected_invoice"
    assert document_type(["TAX INVOICE"]) == "invoice"
    assert document_type(["Thank you"]) is None


def test_compact_dates_only_where_asked() -> None:
    assert [d.value for d in find_dates("Date/Time 20180428/191204", compact=True)] == [date(2018, 4, 28)]
    assert find_dates("Order 20180428") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JAN31'13 8:01PM", date(2013, 1, 31)),  # a US till glues month, day and year
        ("Nov12'16 05:41PM", date(2016, 11, 12)),
        ("DATE 09/06/2007 THU TIME 09:30", date(2007, 9, 6)),  # the weekday settles the order
        ("Saturday 10-9-2016", date(2016, 9, 10)),
        ("Mon 02/03/2026", date(2026, 3, 2)),
    ],
)
def test_glued_month_names_and_weekdays(text: str, expected: date) -> None:
    found = find_dates(text)
    assert [match.value for match in found] == [expected]
    assert not found[0].ambiguous
