"""E-invoice XML: the real ZUGFeRD / Factur-X samples (read in place) match their labels exactly; UBL and
hand-written CII parse; hostile XML (external entities, entity expansion) is never resolved."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extraction.einvoice import parse_einvoice_xml
from extraction.evaluation import LABEL_TO_FIELD, normalise
from extraction.pdf import embedded_invoice_xml


def _labelled_zugferd(datasets: Path) -> list[tuple[Path, dict[str, object]]]:
    directory = datasets / "zugferd-corpus"
    records = [json.loads(line) for line in (directory / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [(directory / r["file"], r["fields"]) for r in records]


def test_every_zugferd_sample_matches_its_labels(datasets: Path) -> None:
    mismatches = []
    documents = _labelled_zugferd(datasets)
    assert len(documents) >= 40
    for path, labels in documents:
        xml = embedded_invoice_xml(path.read_bytes())
        fields = parse_einvoice_xml(xml) if xml is not None else None
        assert fields is not None, path.name
        for label, name in LABEL_TO_FIELD.items():
            if label not in labels:
                continue
            value = getattr(fields, name)
            if value is None or normalise(name, value.value) != normalise(name, labels[label]):
                mismatches.append((path.name, name, labels[label], None if value is None else value.value))
            elif value.confidence != 1.0 or value.source != "xml":
                mismatches.append((path.name, name, "confidence 1.0 from xml", value))
    assert mismatches == []


CII = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument>
    <ram:ID>GS-2024-7</ram:ID>
    <ram:TypeCode>381</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20240315</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:SpecifiedTradeProduct><ram:Name>Returned stapler</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>-10.00</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>-10.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>Lieferant   GmbH</ram:Name>
        <ram:PostalTradeAddress>
          <ram:PostcodeCode>80333</ram:PostcodeCode><ram:LineOne>Lieferantenstra&#223;e 20</ram:LineOne>
          <ram:CityName>M&#252;nchen</ram:CityName><ram:CountryID>DE</ram:CountryID>
        </ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID></ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Kunden AG</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradePaymentTerms>
        <ram:DueDateDateTime><udt:DateTimeString format="102">20240415</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>-10.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="USD">-2.10</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">-1.90</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>-11.90</ram:GrandTotalAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def test_cii_credit_note_written_by_hand() -> None:
    fields = parse_einvoice_xml(CII)
    assert fields is not None
    assert fields.invoice_number.value == "GS-2024-7"  # type: ignore[union-attr]
    assert fields.invoice_date.value == date(2024, 3, 15)  # type: ignore[union-attr]
    assert fields.due_date.value == date(2024, 4, 15)  # type: ignore[union-attr]
    assert fields.vendor_name.value == "Lieferant GmbH"  # type: ignore[union-attr]
    assert fields.vendor_address.value == "Lieferantenstraße 20, 80333 München, DE"  # type: ignore[union-attr]
    assert fields.vendor_tax_id.value == "DE123456789"  # VAT id preferred over the national tax number
    assert fields.customer_name.value == "Kunden AG"  # type: ignore[union-attr]
    assert fields.tax.value == Decimal("-1.90")  # the tax in the invoice currency, not the accounting one
    assert (fields.subtotal.value, fields.total.value) == (Decimal("-10.00"), Decimal("-11.90"))  # type: ignore[union-attr]
    assert fields.document_type.value == "credit_note"  # type: ignore[union-attr]
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in fields.line_items] == [
        ("Returned stapler", Decimal(1), Decimal("-10.00"), Decimal("-10.00"))
    ]
    assert fields.total.confidence == 1.0 and fields.total.source == "xml"  # type: ignore[union-attr]


UBL = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>UBL-42</cbc:ID>
  <cbc:IssueDate>2024-02-01</cbc:IssueDate>
  <cbc:DueDate>2024-03-02</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress>
      <cbc:StreetName>Hoofdstraat 1</cbc:StreetName><cbc:CityName>Utrecht</cbc:CityName>
      <cbc:PostalZone>3500 MJ</cbc:PostalZone><cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>NL810433941B01</cbc:CompanyID></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Verkoper B.V.</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>Klant BV</cbc:Name></cac:PartyName>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">4</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Koffiebonen</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">25.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>"""


def test_ubl_invoice() -> None:
    fields = parse_einvoice_xml(UBL)
    assert fields is not None
    assert fields.invoice_number.value == "UBL-42"  # type: ignore[union-attr]
    assert (fields.invoice_date.value, fields.due_date.value) == (date(2024, 2, 1), date(2024, 3, 2))  # type: ignore[union-attr]
    assert fields.vendor_name.value == "Verkoper B.V."  # type: ignore[union-attr]
    assert fields.vendor_address.value == "Hoofdstraat 1, 3500 MJ Utrecht, NL"  # type: ignore[union-attr]
    assert fields.vendor_tax_id.value == "NL810433941B01"  # type: ignore[union-attr]
    assert fields.customer_name.value == "Klant BV"  # type: ignore[union-attr]
    assert (fields.subtotal.value, fields.tax.value, fields.total.value) == (  # type: ignore[union-attr]
        Decimal("100.00"), Decimal("21.00"), Decimal("121.00"),
    )
    assert fields.line_items[0].quantity == Decimal(4) and fields.line_items[0].unit_price == Decimal("25.00")


def test_ubl_credit_note() -> None:
    xml = (
        UBL.replace(b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", b"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2")
        .replace(b"<Invoice ", b"<CreditNote ")
        .replace(b"</Invoice>", b"</CreditNote>")
        .replace(b"InvoiceLine", b"CreditNoteLine")
        .replace(b"InvoicedQuantity", b"CreditedQuantity")
        .replace(b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", b"")
    )
    fields = parse_einvoice_xml(xml)
    assert fields is not None and fields.document_type.value == "credit_note"  # type: ignore[union-attr]
    assert fields.line_items[0].quantity == Decimal(4)


@pytest.mark.parametrize(
    "xml",
    [
        b"",
        b"not xml at all",
        b"<?xml version='1.0'?><html><body>hello</body></html>",
        b"<Invoice><unclosed></Invoice>",
        b"<?xml version='1.0'?><order xmlns='urn:example:order'><ID>1</ID></order>",
    ],
)
def test_what_is_not_an_invoice_gives_none(xml: bytes) -> None:
    assert parse_einvoice_xml(xml) is None


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
  <rsm:ExchangedDocument><ram:ID>&xxe;</ram:ID></rsm:ExchangedDocument>
</rsm:CrossIndustryInvoice>""".encode()
    fields = parse_einvoice_xml(xxe)
    number = fields.invoice_number.value if fields is not None and fields.invoice_number else ""
    assert "TOP-SECRET" not in number


def test_entity_expansion_bombs_are_not_expanded() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
  <rsm:ExchangedDocument><ram:ID>&lol4;</ram:ID></rsm:ExchangedDocument>
</rsm:CrossIndustryInvoice>"""
    fields = parse_einvoice_xml(bomb)
    number = fields.invoice_number.value if fields is not None and fields.invoice_number else ""
    assert "lollol" not in number
