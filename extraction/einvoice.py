"""Structured e-invoices: exact values from the XML a hybrid PDF carries (or an XML file itself).

Understood syntaxes, recognised by their root element rather than by file name:
- UN/CEFACT CII D16B `CrossIndustryInvoice` (ZUGFeRD 2.x, Factur-X, XRechnung CII),
- ZUGFeRD 1.0 `CrossIndustryDocument` (same ideas, older element names) and its release-candidate
  twin (root `Invoice` in the `CBFBUY` namespace, still found in old Mustang files),
- OASIS UBL 2.x `Invoice` and `CreditNote` (XRechnung UBL, Peppol).

Elements are matched by local name so that namespace prefixes and minor namespace versions do not
matter. The parser never resolves entities, loads DTDs or touches the network (XXE / billion laughs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from extraction.models import FieldValue, InvoiceFields, LineItem

SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)

# --- element helpers (local names, so any prefix or namespace version works) ---------------------


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            yield child


def _find(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element along a path of local names (each step: direct children)."""
    for name in path:
        if element is None:
            return None
        element = next(_children(element, name), None)
    return element


def _find_all(element: etree._Element | None, *path: str) -> list[etree._Element]:
    if element is None:
        return []
    found = [element]
    for name in path:
        found = [child for parent in found for child in _children(parent, name)]
    return found


def _first_of(element: etree._Element | None, *paths: tuple[str, ...]) -> etree._Element | None:
    """The first path that exists: CII 2.x and ZUGFeRD 1.0 name the same things differently."""
    for path in paths:
        found = _find(element, *path)
        if found is not None:
            return found
    return None


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = " ".join(element.text.split())
    return text or None


def _decimal(element: etree._Element | None) -> Decimal | None:
    text = _text(element)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _date(element: etree._Element | None) -> date | None:
    """A CII date (`DateTimeString format="102"` YYYYMMDD, or a bare ISO string) or a UBL date."""
    if element is None:
        return None
    inner = _find(element, "DateTimeString")
    text = _text(inner if inner is not None else element)
    if text is None:
        return None
    for pattern in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[:10] if "-" in text else text[:8], pattern).date()
        except ValueError:
            continue
    return None


# UNTDID 1001 document codes that credit the buyer, and the one for a corrected invoice.
_CREDIT_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
_CORRECTED_CODES = frozenset({"384"})


def _document_type(code: str | None) -> str:
    if code in _CREDIT_CODES:
        return "credit_note"
    return "corrected_invoice" if code in _CORRECTED_CODES else "invoice"


def _exact_fields(line_items: list[LineItem], **values: object) -> InvoiceFields:
    """The XML's values as the truth: confidence 1.0, source "xml"."""
    exact = {name: FieldValue(value=value, confidence=1.0, source="xml") for name, value in values.items() if value is not None}
    return InvoiceFields(**exact, line_items=line_items)


def _xml_item(description: str | None, quantity: Decimal | None, unit_price: Decimal | None, amount: Decimal | None) -> LineItem:
    return LineItem(
        description=description, quantity=quantity, unit_price=unit_price, amount=amount, confidence=1.0, source="xml"
    )


def _join_address(*parts: str | None) -> str | None:
    return ", ".join(part for part in parts if part) or None


def _money_in_currency(elements: list[etree._Element], currency: str | None) -> Decimal | None:
    """The amount stated in the invoice currency (CII may repeat tax in the accounting currency)."""
    for element in elements:
        if currency is None or element.get("currencyID") in (None, currency):
            return _decimal(element)
    return _decimal(elements[0]) if elements else None


# --- CII (ZUGFeRD 1.0 and 2.x) -------------------------------------------------------------------


def _cii_party(party: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """Name, address (`line1, line2, line3, postcode city, country`) and VAT (else tax) number."""
    if party is None:
        return None, None, None
    address = _find(party, "PostalTradeAddress")
    city = " ".join(filter(None, (_text(_find(address, "PostcodeCode")), _text(_find(address, "CityName")))))
    composed = _join_address(
        _text(_find(address, "LineOne")),
        _text(_find(address, "LineTwo")),
        _text(_find(address, "LineThree")),
        city,
        _text(_find(address, "CountryID")),
    )
    registrations = {
        reg.get("schemeID"): _text(reg) for reg in _find_all(party, "SpecifiedTaxRegistration", "ID")
    }
    tax_id = registrations.get("VA") or registrations.get("FC")
    return _text(_find(party, "Name")), composed, tax_id


def _cii_line_items(transaction: etree._Element) -> list[LineItem]:
    items = []
    for line in _find_all(transaction, "IncludedSupplyChainTradeLineItem"):
        agreement = _first_of(line, ("SpecifiedLineTradeAgreement",), ("SpecifiedSupplyChainTradeAgreement",))
        delivery = _first_of(line, ("SpecifiedLineTradeDelivery",), ("SpecifiedSupplyChainTradeDelivery",))
        settlement = _first_of(
            line, ("SpecifiedLineTradeSettlement",), ("SpecifiedSupplyChainTradeSettlement",)
        )
        amount = _decimal(
            _first_of(
                settlement,
                ("SpecifiedTradeSettlementLineMonetarySummation", "LineTotalAmount"),
                ("SpecifiedTradeSettlementMonetarySummation", "LineTotalAmount"),
            )
        )
        description = _text(_find(line, "SpecifiedTradeProduct", "Name"))
        if description is None and amount is None:
            continue  # a free-text note line (ZUGFeRD 1.0 EXTENDED), not a position
        quantity = _decimal(_find(delivery, "BilledQuantity"))
        unit_price = _decimal(_find(agreement, "NetPriceProductTradePrice", "ChargeAmount"))
        items.append(_xml_item(description, quantity, unit_price, amount))
    return items


def _parse_cii(root: etree._Element) -> InvoiceFields:
    document = _first_of(root, ("ExchangedDocument",), ("HeaderExchangedDocument",))
    transaction = _first_of(root, ("SupplyChainTradeTransaction",), ("SpecifiedSupplyChainTradeTransaction",))
    agreement = _first_of(
        transaction, ("ApplicableHeaderTradeAgreement",), ("ApplicableSupplyChainTradeAgreement",)
    )
    settlement = _first_of(
        transaction, ("ApplicableHeaderTradeSettlement",), ("ApplicableSupplyChainTradeSettlement",)
    )
    summation = _first_of(
        settlement,
        ("SpecifiedTradeSettlementHeaderMonetarySummation",),
        ("SpecifiedTradeSettlementMonetarySummation",),
    )
    currency = _text(_find(settlement, "InvoiceCurrencyCode"))
    vendor, vendor_address, vendor_tax_id = _cii_party(_find(agreement, "SellerTradeParty"))
    customer, _, _ = _cii_party(_find(agreement, "BuyerTradeParty"))
    due_dates = [
        _date(element) for element in _find_all(settlement, "SpecifiedTradePaymentTerms", "DueDateDateTime")
    ]
    return _exact_fields(
        _cii_line_items(transaction) if transaction is not None else [],
        invoice_number=_text(_find(document, "ID")),
        invoice_date=_date(_find(document, "IssueDateTime")),
        due_date=next((d for d in due_dates if d is not None), None),
        vendor_name=vendor,
        vendor_address=vendor_address,
        vendor_tax_id=vendor_tax_id,
        customer_name=customer,
        currency=currency,
        subtotal=_decimal(_find(summation, "TaxBasisTotalAmount")),
        tax=_money_in_currency(_find_all(summation, "TaxTotalAmount"), currency),
        total=_decimal(_find(summation, "GrandTotalAmount")),
        document_type=_document_type(_text(_find(document, "TypeCode"))),
    )


# --- UBL -----------------------------------------------------------------------------------------


def _ubl_party(party: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    party = _find(party, "Party")
    if party is None:
        return None, None, None
    name = _text(_find(party, "PartyLegalEntity", "RegistrationName")) or _text(_find(party, "PartyName", "Name"))
    address = _find(party, "PostalAddress")
    city = " ".join(filter(None, (_text(_find(address, "PostalZone")), _text(_find(address, "CityName")))))
    composed = _join_address(
        _text(_find(address, "StreetName")),
        _text(_find(address, "AdditionalStreetName")),
        *(_text(_find(line, "Line")) for line in _find_all(address, "AddressLine")),
        city,
        _text(_find(address, "Country", "IdentificationCode")),
    )
    schemes = {
        (_text(_find(scheme, "TaxScheme", "ID")) or "").upper(): _text(_find(scheme, "CompanyID"))
        for scheme in _find_all(party, "PartyTaxScheme")
    }
    tax_id = schemes.get("VAT") or next((value for value in schemes.values() if value), None)
    return name, composed, tax_id


def _parse_ubl(root: etree._Element, line_name: str, quantity_name: str, type_code: str | None) -> InvoiceFields:
    currency = _text(_find(root, "DocumentCurrencyCode"))
    totals = _find(root, "LegalMonetaryTotal")
    vendor, vendor_address, vendor_tax_id = _ubl_party(_find(root, "AccountingSupplierParty"))
    customer, _, _ = _ubl_party(_find(root, "AccountingCustomerParty"))
    due = _date(_find(root, "DueDate")) or _date(_find(root, "PaymentMeans", "PaymentDueDate"))
    items = [
        _xml_item(
            _text(_find(line, "Item", "Name")),
            _decimal(_find(line, quantity_name)),
            _decimal(_find(line, "Price", "PriceAmount")),
            _decimal(_find(line, "LineExtensionAmount")),
        )
        for line in _find_all(root, line_name)
    ]
    return _exact_fields(
        items,
        invoice_number=_text(_find(root, "ID")),
        invoice_date=_date(_find(root, "IssueDate")),
        due_date=due,
        vendor_name=vendor,
        vendor_address=vendor_address,
        vendor_tax_id=vendor_tax_id,
        customer_name=customer,
        currency=currency,
        subtotal=_decimal(_find(totals, "TaxExclusiveAmount")),
        tax=_money_in_currency(_find_all(root, "TaxTotal", "TaxAmount"), currency),
        total=_decimal(_find(totals, "TaxInclusiveAmount")),
        document_type=_document_type(type_code),
    )


def parse_einvoice_xml(xml: bytes) -> InvoiceFields | None:
    """Parse a CII or UBL invoice; None when the bytes are not XML or not an invoice syntax we know."""
    try:
        root = etree.fromstring(xml, parser=SAFE_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return parse_einvoice_root(root)


def parse_einvoice_root(root: etree._Element | None) -> InvoiceFields | None:
    """The fields of a parsed CII or UBL invoice; None when the root is no invoice syntax we know."""
    if root is None or not isinstance(root.tag, str):
        return None
    if _first_of(root, ("ExchangedDocument",), ("HeaderExchangedDocument",)) is not None:
        return _parse_cii(root)
    if "ubl" not in (etree.QName(root).namespace or "").lower():
        return None
    match etree.QName(root).localname:
        case "Invoice":
            return _parse_ubl(root, "InvoiceLine", "InvoicedQuantity", _text(_find(root, "InvoiceTypeCode")))
        case "CreditNote":
            return _parse_ubl(root, "CreditNoteLine", "CreditedQuantity", _text(_find(root, "CreditNoteTypeCode")) or "381")
        case _:
            return None
