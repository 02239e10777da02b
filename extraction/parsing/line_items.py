"""Line items from the column alignment of the table under a header row (Description / Qty / Price / Amount).

The header row's words give the columns' horizontal positions; each later row with an amount becomes
an item whose numbers are assigned to the column they sit under; rows without numbers continue the
previous item's description. The table ends at the first summary label (total quantity, subtotal, tax,
total, cash...), which no description swallows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from extraction.models import LineItem, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.dates import fold
from extraction.parsing.labels import find_labels, is_summary, leading_label, summary_label
from extraction.parsing.layout import Cell, Layout, Row

_COLUMNS = {
    "description": r"description|desc|item|items|article|artikel|omschrijving|designation|descripcion|concepto|produkt"
    r"|product|leistung|bezeichnung|artikelbezeichnung|beschreibung|particulars|details|libelle",
    "quantity": r"qty|quantity|menge|anzahl|aantal|quantite|cantidad|qte|kuantiti|qty\.|hoeveelheid",
    "unit_price": r"unit\s*price|price|rate|preis|einzelpreis|nettopreis|prix(?:\s*unitaire)?|unitaire|prijs(?:\s*per\s*stuk)?"
    r"|precio|harga|u/price",
    "amount": r"amount|line\s*total|total|betrag|gesamtbetrag|gesamt|nettowert|montant|bedrag|importe|jumlah|prix\s*ht|amt",
    # Columns an item's figures are not read from (a discount, a tax rate or amount): a figure under one is
    # neither the quantity, nor the price, nor the amount, whichever of those is printed nearest.
    "other": r"disc(?:ount)?|rabatt|korting|remise|descuento|btw|vat|mwst|ust|tva|iva|gst|sst|tax(?:es)?|steuer",
}
_COLUMN_RES = {name: re.compile(rf"(?<![a-z])(?:{pattern})(?![a-z])") for name, pattern in _COLUMNS.items()}
_QUANTITY = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w.,]*\d)(?!\s?%)")  # "21 %" is a rate


def column_words(text: str) -> list[tuple[int, int]]:
    """Spans of `text` (folded) that name a table column ("Description", "Qty", "Amount")."""
    folded = fold(text)
    return [m.span() for pattern in _COLUMN_RES.values() for m in pattern.finditer(folded)]


@dataclass(frozen=True)
class _Header:
    row: Row
    columns: dict[str, tuple[float, float]]  # column -> x range of its header word


def _header(row: Row) -> _Header | None:
    columns: dict[str, tuple[float, float]] = {}
    for cell in row.cells:
        text = fold(cell.text)
        found = {name: list(pattern.finditer(text)) for name, pattern in _COLUMN_RES.items()}
        if any(found[name] for name in found if name != "other"):
            found["other"] = []  # "Total incl. VAT" names the amount, not a tax column
        for name, matches in found.items():
            for match in matches:
                if name not in columns:
                    box = cell.span_bbox(match.start(), match.end())
                    columns[name] = (box[0], box[2])
    has_numbers = "amount" in columns or "unit_price" in columns
    named = len(columns) - ("other" in columns)  # a tax or discount word alone does not make a table header
    return _Header(row, columns) if named >= 2 and has_numbers else None


def _column_of(box: tuple[float, float, float, float], header: _Header) -> str | None:
    """The header column whose span is horizontally nearest to a value's box."""
    centre = (box[0] + box[2]) / 2
    best, distance = None, float("inf")
    for name, (x0, x1) in header.columns.items():
        gap = 0.0 if x0 <= centre <= x1 else min(abs(centre - x0), abs(centre - x1))
        if gap < distance:
            best, distance = name, gap
    return best


def _item(row: Row, header: _Header, source: Source) -> LineItem | None:
    amounts = [(cell, a) for cell in row.cells for a in find_amounts(cell.text)]
    if not amounts:
        return None
    columns = [(_column_of(cell.span_bbox(a.start, a.end), header), a.value) for cell, a in amounts]
    values = {column: value for column, value in columns if column in ("unit_price", "amount")}  # the last wins
    figures = [value for column, value in columns if column != "other"]
    values.setdefault("amount", (figures or [amounts[-1][1].value])[-1])
    # Numbers right of the description end it; a quantity column printed before it ("QTY DESCRIPTION") does not.
    description_x = header.columns.get("description", (0.0, 0.0))[0]
    numeric_columns = [x0 for name, (x0, _) in header.columns.items() if name != "description" and x0 > description_x]
    first_number_x = min([*numeric_columns, *(cell.span_bbox(a.start, a.end)[0] for cell, a in amounts if cell.bbox[0] > description_x)])
    description_parts = []
    quantity = None
    for cell in row.cells:
        for match in _QUANTITY.finditer(cell.text):
            box = cell.span_bbox(match.start(), match.end())
            if _column_of(box, header) == "quantity" and quantity is None:
                try:
                    quantity = Decimal(match.group().replace(",", "."))
                except InvalidOperation:
                    quantity = None
        if cell.bbox[0] < first_number_x:
            description_parts.append(_text_before_numbers(cell, first_number_x))
    description = " ".join(part for part in description_parts if part) or None
    if description and (count := _LEADING_COUNT.match(description)) and header.columns.get("quantity", (1e9,))[0] < description_x:
        quantity = quantity if quantity is not None else Decimal(count["count"])
        description = description[count.end():].strip() or None
    return LineItem(
        description=description,
        quantity=quantity,
        unit_price=values.get("unit_price"),
        amount=values["amount"],
        confidence=0.5,
        source=source,
        page=row.page,
        bbox=row.bbox,
    )


def _text_before_numbers(cell: Cell, limit: float) -> str:
    words = [w.text for w in cell.words if (w.bbox[0] + w.bbox[2]) / 2 < limit]
    return " ".join(words).strip()


def find_line_items(layout: Layout, source: Source) -> list[LineItem]:
    """Items of the table under a header row; on documents without one (receipts), the priced rows above
    the totals block."""
    return table_items(layout, source) or receipt_items(layout, source)


# "2 x", "2x", "2 @": a count before the description; "@ 1.99" / "@1.99": the unit price.
_LEADING_COUNT = re.compile(r"^\s*(?P<count>\d{1,3})(?:\s*[xX@*]\s*|\s+)(?=\D)")
_UNIT_PRICE = re.compile(r"@\s*\$?\s*(?P<price>\d+[.,]\d{2})")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_BARCODE = re.compile(r"(?<!\w)\d{8,}(?!\w)")
_TIME_OR_DATE = re.compile(r"\d{1,2}:\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def _starts_with_label(row: Row) -> str | None:
    label = leading_label(row.cells[0].text)
    return label.field if label is not None else None


def _starts_summary(row: Row) -> bool:
    return summary_label(row.cells[0].text) is not None


_RATE_ONLY = re.compile(r"\s*(?:\d{1,2}(?:[.,]\d{1,2})?\s*%)?\s*")


def _names_summary(description: str | None) -> bool:
    """Whether a row's text before its figure ends in a summary label: the figure is what the label names."""
    text = (description or "").rstrip(" :.")
    return any(is_summary(label, text) and label.end >= len(text) for label in find_labels(text))


def receipt_items(layout: Layout, source: Source) -> list[LineItem]:
    """Rows of the first page that carries a totals block, above it: a description on the left and one
    amount at the right end. A row with text and no amount right under an item continues its
    description (wrapped); a summary row (total, subtotal, tax, tips, cash) is never an item."""
    end = next((row.index for row in layout.rows if _starts_summary(row) and find_amounts(row.text)), None)
    if end is None:
        return []
    page = layout.rows[end].page
    width = layout.page_sizes.get(page, (1.0, 1.0))[0] or 1.0
    items: list[LineItem] = []
    previous_was_item = False
    for row in layout.rows[:end]:
        if row.page != page:
            continue
        amounts = [(cell, a) for cell in row.cells for a in find_amounts(cell.text)]
        label = _starts_with_label(row)
        if label is not None or _TIME_OR_DATE.search(row.text):
            previous_was_item = False
            continue
        if not amounts:
            text = row.text.strip()
            if previous_was_item and items and _LETTERS.search(text) and not re.search(r"\d{3,}", text) and len(text) <= 40:
                last = items[-1]
                items[-1] = last.model_copy(update={"description": f"{last.description or ''} {text}".strip()})
            previous_was_item = False
            continue
        cell, amount = amounts[-1]
        box = cell.span_bbox(amount.start, amount.end)
        description = " ".join(
            _text_before_numbers(c, box[0]) for c in row.cells if c.bbox[0] < box[0]
        ).strip()
        description = _BARCODE.sub("", _UNIT_PRICE.sub("", description)).strip()
        summary = any(is_summary(found, description) for found in find_labels(description))
        if box[2] < 0.5 * width or not _LETTERS.search(description) or summary or find_amounts(description):
            previous_was_item = False  # not priced at the right, no words, a summary row, or two prices
            continue
        quantity = unit_price = None
        if count := _LEADING_COUNT.match(description):
            quantity = Decimal(count["count"])
            description = description[count.end():].strip()
        if price := _UNIT_PRICE.search(row.text):
            unit_price = Decimal(price["price"].replace(",", "."))
        items.append(LineItem(
            description=description or None, quantity=quantity, unit_price=unit_price, amount=amount.value,
            confidence=0.4, source=source, page=row.page, bbox=row.bbox,
        ))
        previous_was_item = True
    return items


def table_items(layout: Layout, source: Source) -> list[LineItem]:
    items: list[LineItem] = []
    header: _Header | None = None
    paused = False  # after a section's subtotal: more items may follow under the same header
    joinable = False  # the last row was an item (or its wrapped text): a row of text continues its description
    for row in layout.rows:
        if header is None or row.page != header.row.page:
            header = _header(row)
            paused = joinable = False
            continue
        if (label := summary_label(row.cells[0].text)) is not None:
            # A grouped invoice closes each section with its subtotal ("Subtotal $ 112.00", then "--- Food ---");
            # any other summary row (total, tax, total quantity, payment) closes the table.
            paused = label.field == "subtotal" and bool(items)
            header = header if paused else None
            joinable = False
            continue
        item = _item(row, header, source)
        if item is not None and (_names_summary(item.description) or _RATE_ONLY.fullmatch(item.description or "")):
            joinable = False  # "Food Total 24.00", "VAT: 3.80", a tax breakdown's "21% 41.31 8.68 49.99"
            continue
        if item is not None and paused and ("%" in (item.description or "") or find_labels(item.description or "")):
            header = None  # after the subtotal, a charge at a rate or a labelled row: the summary block goes on
            continue
        if item is not None:
            items.append(item)
            paused, joinable = False, True
        elif joinable and items[-1].page == row.page and not find_amounts(row.text):
            last = items[-1]
            extra = row.text.strip()
            if extra and last.description and len(last.description) + len(extra) < 200:
                items[-1] = last.model_copy(update={"description": f"{last.description} {extra}"})
    return items
