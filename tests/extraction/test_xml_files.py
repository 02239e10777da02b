"""Standalone XML e-invoices as files: read through `extract()` like any upload, exact values with
confidence 1.0; hostile or foreign XML ends `failed` with a reason a person can act on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from extraction import extract
from extraction.decode import sniff
from extraction.models import ErrorCode
from extraction.xml_invoice import MAX_XML_BYTES, check_xml_invoice, looks_like_xml
from tests.extraction.test_einvoice import CII, UBL


@pytest.mark.parametrize("content_type", [None, "application/xml", "text/xml", "application/octet-stream"])
def test_a_ubl_invoice_file_is_read_exactly_whatever_it_was_sent_as(content_type: str | None) -> None:
    result = extract(UBL, content_type)
    assert result.ok, result.error
    assert (result.method, result.content_type, result.pages) == ("xml", "application/xml", 1)
    fields = result.fields
    assert fields.invoice_number is not None and fields.invoice_number.value == "UBL-42"
    assert fields.total is not None and fields.total.value == Decimal("121.00")
    assert (fields.total.confidence, fields.total.source) == (1.0, "xml")
    assert [(i.description, i.amount) for i in fields.line_items] == [("Koffiebonen", Decimal("100.00"))]


def test_a_cii_file_with_a_byte_order_mark_and_leading_blanks_is_read() -> None:
    result = extract(b"\xef\xbb\xbf\n  " + CII)
    assert result.ok, result.error
    assert result.fields.invoice_number is not None and result.fields.invoice_number.value == "GS-2024-7"


def test_xml_is_sniffed_from_the_bytes_and_other_text_is_not() -> None:
    assert sniff(UBL) == "application/xml"
    assert looks_like_xml(b"<Invoice xmlns='x'/>")
    assert not looks_like_xml(b"hello, I am a text file")
    assert not looks_like_xml(b"a < b and c > d")


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (b"<?xml version='1.0'?><order xmlns='urn:example:order'><ID>1</ID></order>", "not an e-invoice"),
        (b"<?xml version='1.0'?><Invoice><unclosed></Invoice>", "not well formed"),
        (b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><r>&e;</r>", "document type declaration"),
    ],
)
def test_xml_that_is_not_a_readable_invoice_fails_with_a_reason(xml: bytes, words: str) -> None:
    result = extract(xml, "application/xml")
    assert not result.ok and result.error is not None
    assert result.error.code in (ErrorCode.unsupported_type, ErrorCode.unreadable_file)
    assert words in result.error.message
    with pytest.raises(Exception, match=words):
        check_xml_invoice(xml)


def test_a_billion_laughs_is_refused_before_parsing() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol2;</ID></Invoice>"""
    result = extract(bomb)
    assert not result.ok and result.error is not None and "document type declaration" in result.error.message


def test_an_oversized_xml_file_is_refused() -> None:
    padded = UBL.replace(b"</Invoice>", b"<!--" + b"x" * MAX_XML_BYTES + b"--></Invoice>")
    result = extract(padded)
    assert not result.ok and result.error is not None and "MB" in result.error.message
