"""Rule-based, layout-aware field parsing: OCR words with boxes in, `InvoiceFields` out. Offline.

The modules each own one question: `amounts` and `dates` read values, `labels` knows the words that
announce fields, `layout` and `pairing` tie values to labels by position, and `totals`, `issue_dates`,
`invoice_number`, `vendor`, `address`, `customer`, `taxids` and `line_items` decide each field from the
evidence; `names` knows what a line says about names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from extraction.models import DocumentText, FieldValue, InvoiceFields, Source, mean_word_confidence
from extraction.parsing.address import choose_vendor_address
from extraction.parsing.amounts import currency_votes
from extraction.parsing.customer import choose_customer_name, customer_cells
from extraction.parsing.dates import infer_day_first
from extraction.parsing.invoice_number import choose_invoice_number
from extraction.parsing.issue_dates import IssueDates, choose_dates
from extraction.parsing.layout import Cell, Layout, build_layout
from extraction.parsing.labels import document_type, find_labels
from extraction.parsing.line_items import receipt_items, table_items
from extraction.parsing.locale import CURRENCY_OF_COUNTRY, MONTH_FIRST, country_hint, currency_of_vat_id, usual_day_first
from extraction.parsing.pairing import LabelledCell, label_cells
from extraction.parsing.taxids import choose_vendor_tax_id
from extraction.parsing.totals import choose_totals
from extraction.parsing.vendor import VendorOption, vendor_options

# Below these confidences a field is not trusted enough to skip a better (slower) reading.
# (An ambiguous day/month order costs a date some confidence, but a better OCR pass cannot settle it.)
# The vendor name is not asked: its doubt is about which line names the vendor, which a second
# reading does not settle (zugferd --ocr-only: 25 -> 19 of 42 documents read twice, same totals;
# invoice2data: RapidOCR reads the cloud providers' headers worse, vendor 2/8 -> 4/8).
_TRUSTED_TOTAL = 0.8
_TRUSTED_DATE = 0.6
_CLEAR_READING = 0.75


def _source(doc: DocumentText) -> Source:
    return "pdf_text" if doc.pages and all(page.source == "pdf_text" for page in doc.pages) else "ocr"


def _currency(layout: Layout, source: Source) -> FieldValue[str] | None:
    """The currency named most often (codes count double), located at its first mention."""
    votes: Counter[str] = Counter()
    first_seen: dict[str, Cell] = {}
    for cell in layout.cells:
        for code, count in currency_votes(cell.text).items():
            votes[code] += count
            first_seen.setdefault(code, cell)
    if not votes:
        return None
    (code, count), *rest = votes.most_common()
    # "$" alone says USD only weakly; an explicit code or an unambiguous symbol repeated says more.
    confidence = 0.9 if count >= 2 and (not rest or count >= 2 * rest[0][1]) else 0.6
    cell = first_seen[code]
    return FieldValue(value=code, confidence=confidence, source=source, page=cell.page, bbox=cell.bbox)


def _implied_currency(country: str | None, vat_id: FieldValue[str] | None, source: Source) -> FieldValue[str] | None:
    """No currency printed: the one the VAT number's country or the address's country implies, held
    with less confidence than a printed one."""
    code = currency_of_vat_id(vat_id.value if vat_id else None) or CURRENCY_OF_COUNTRY.get(country or "")
    return FieldValue(value=code, confidence=0.5, source=source) if code else None


def _document_type(layout: Layout, source: Source) -> FieldValue[str] | None:
    """What the document calls itself in its title lines (the first rows of the first page)."""
    for cell in [c for row in layout.rows[:15] for c in row.cells]:
        kind = document_type([cell.text])
        if kind is not None:
            return FieldValue(value=kind, confidence=0.7, source=source, page=cell.page, bbox=cell.bbox)
    return None


def _usual_term(dates: IssueDates) -> bool:
    """Due 7 to 120 days after issue, as payment terms are ("11/03/2017", due "12/03/2017": 30 days
    read month first, 1 day read day first)."""
    if dates.invoice_date is None or dates.due_date is None:
        return False
    return 7 <= (dates.due_date.value - dates.invoice_date.value).days <= 120


@dataclass
class RuleReading:
    """What the rules found: their choice of each field, and the evidence the learned choice reuses."""

    fields: InvoiceFields
    layout: Layout
    labelled: list[LabelledCell]
    day_first: bool | None  # the order the document settles for its dates (None: nothing settles it)
    source: Source
    vendors: list[VendorOption] = field(default_factory=list)  # the likeliest vendor names, best first
    guess_day_first: bool = True  # the order dates are read in while nothing settles it (they stay ambiguous)


def parse_fields(doc: DocumentText, *, llm: InvoiceFields | None = None) -> InvoiceFields:
    """Read every invoice field from the document's words and their positions: the rules find and
    describe candidates, the trained choice (`extraction.choice`) picks among them and calibrates
    (weighing an LLM's answer for the same document, when there is one)."""
    reading = read_with_rules(doc)
    if reading is None:
        return InvoiceFields()
    from extraction.choice import choose  # the choice builds on this package

    return choose(reading, llm=llm)


def read_with_rules(doc: DocumentText) -> RuleReading | None:
    """The rules' reading of the document; None when it has no text."""
    layout = build_layout(doc)
    if not layout.rows:
        return None
    source = _source(doc)
    texts = [row.text for row in layout.rows]
    # Day or month first is settled by the document's unambiguous dates, else by the country its address
    # names; otherwise dates are read in the order the page's habits suggest, and count as ambiguous.
    day_first = infer_day_first(texts)
    country = country_hint(texts)
    if day_first is None and country in MONTH_FIRST:
        day_first = False
    guess = usual_day_first(texts)
    labelled = label_cells(layout)
    excluded = customer_cells(layout, labelled)

    items = table_items(layout, source)
    line_amounts = [item.amount for item in items if item.amount is not None]
    line_sum = sum(line_amounts, Decimal(0)) if line_amounts else None
    totals = choose_totals(layout, labelled, source, line_sum=line_sum)
    # Rows guessed without a table header (receipts) are returned, but do not vote on the totals.
    items = items or receipt_items(layout, source)
    if line_sum is not None and any(f is not None and f.value == line_sum for f in (totals.subtotal, totals.total)):
        items = [item.model_copy(update={"confidence": 0.8}) for item in items]  # the items add up
    dates = choose_dates(layout, labelled, source, day_first=day_first, guess_day_first=guess)
    if day_first is None and dates.due_date is not None:  # every date reads both ways: a payment term can tell
        swapped = choose_dates(layout, labelled, source, day_first=not guess)
        if _usual_term(swapped) and not _usual_term(dates):
            dates, day_first = swapped, not guess
    vendors = vendor_options(layout, labelled, excluded, source)
    vendor_name, name_cell = (vendors[0].name, vendors[0].last_cell) if vendors else (None, None)
    vendor_tax_id = choose_vendor_tax_id(layout, excluded, source)
    currency = _currency(layout, source) or _implied_currency(country, vendor_tax_id, source)
    fields = InvoiceFields(
        invoice_number=choose_invoice_number(layout, labelled, source),
        invoice_date=dates.invoice_date,
        due_date=dates.due_date,
        vendor_name=vendor_name,
        vendor_address=choose_vendor_address(layout, vendor_name, name_cell, excluded) if vendor_name and name_cell else None,
        vendor_tax_id=vendor_tax_id,
        customer_name=choose_customer_name(layout, labelled, source),
        currency=currency,
        subtotal=totals.subtotal,
        tax=totals.tax,
        total=totals.total,
        document_type=_document_type(layout, source),
        line_items=items,
    )
    return RuleReading(fields, layout, labelled, day_first, source, vendors, guess)


def needs_second_opinion(fields: InvoiceFields, doc: DocumentText) -> bool:
    """True when a better OCR pass could change a key field: the total or the date is missing or
    doubtful, or the totals do not add up.

    A missing total is sought again only where a clear reading shows a total label: the first page
    of a longer invoice usually carries none, and a second engine cannot read what is not printed
    (zugferd page 1 alone: 30 -> 14 of 42 pages read twice, the same totals and dates gained). A
    poor reading (Tesseract on a speckled receipt photo: mean word confidence 0.5; clean pages
    0.86-0.95) may have lost the label itself."""
    if fields.total is None:
        if _announces_total(doc) or mean_word_confidence(doc.pages) < _CLEAR_READING:
            return True
    elif fields.total.confidence < _TRUSTED_TOTAL:
        return True
    if fields.invoice_date is None or fields.invoice_date.confidence < _TRUSTED_DATE:
        return True
    if fields.subtotal is not None and fields.tax is not None and fields.total is not None:
        return fields.subtotal.value + fields.tax.value != fields.total.value
    return False


def _announces_total(doc: DocumentText) -> bool:
    return any(
        label.field == "total" for page in doc.pages for line in page.lines for label in find_labels(line.text)
    )


__all__ = ["RuleReading", "needs_second_opinion", "parse_fields", "read_with_rules"]
