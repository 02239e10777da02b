"""A label word, a table header or a column name is never a name."""

from __future__ import annotations

import pytest

from extraction.parsing import parse_fields
from extraction.parsing.names import address_like, name_like, only_label_words
from tests.extraction.ocr_lines import document, stacked


@pytest.mark.parametrize("text", ["Address", "| Pos |", "Description", "Qty Amount", "Bill to", "Tel"])
def test_label_and_column_words_are_not_names(text: str) -> None:
    assert only_label_words(text) and not name_like(text)


@pytest.mark.parametrize("text", ["ACME Ltd", "Posh Nails", "Taxi Berlin GmbH", "Address Book Co"])
def test_names_that_contain_such_words_stay_names(text: str) -> None:
    assert not only_label_words(text) and name_like(text)


def test_a_customer_label_followed_by_a_column_word_gives_no_customer_name() -> None:
    fields = parse_fields(document((50, 50, "ACME Ltd"), (50, 100, "Customer:"), (300, 100, "Address")))
    assert fields.customer_name is None
    fields = parse_fields(stacked("Pos", "Description", "ACME Ltd", "12 High Street"))
    assert fields.vendor_name is not None and fields.vendor_name.value == "ACME Ltd"


@pytest.mark.parametrize("text", ["RECHNUNGS-KORREKTUR", "Rechnungskorrektur", "Stornorechnung"])
def test_a_document_title_is_no_name(text: str) -> None:
    # German invoices title a correction "Rechnungskorrektur" where others print "Credit note".
    assert not name_like(text)


@pytest.mark.parametrize(("text", "address"), [
    ("1050 N. Harbor Ave", True), ("Riverton, WY", True), ("Pusat Perniagaan Seri Indah", True),
    ("21 Spice Kitchen", False), ("Riverton Outfitters, Co", False), ("MAPLE GROCERS", False),
])
def test_lines_that_read_as_an_address(text: str, address: bool) -> None:
    assert address_like(text) is address
