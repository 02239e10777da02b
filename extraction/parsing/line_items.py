"""Line items from the column alignment of the table under a header row (Description / Qty / Price / Amount).

The header row's words give the columns' horizontal positions; each later row with an amount becomes
an item whose numbers are assigned to the column they sit under; rows without numbers continue the
previous item's description. The table ends at the first totals label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from extraction.models import LineItem, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.dates import fold
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout, Row

_COLUMNS = {
    "description": r"description|desc|item|items|article|artikel|omschrijving|designation|descripcion|concepto|produkt"
    r"|product|leistung|bezeichnung|artikelbezeichnung|beschreibung|particulars|details|libelle",
    "quantity": r"qty|quantity|menge|anzahl|aantal|quantite|cantidad|qte|kuantiti|qty\.|hoeveelheid",
    "unit_price": r"unit\s*price|price|rate|preis|einzelpreis|nettopreis|prix(?:\s*unitaire)?|unitaire|prijs(?:\s*per\s*stuk)?"
    r"|precio|harga|u/price",
    "amount": r"amount|line\s*total|total|betrag|gesamtbetrag|gesamt|nettowert|montant|bedrag|importe|jumlah|prix\s*ht|amt",
}
_COLUMN_RES = {name: re.compile(rf"(?<![a-z])(?:{pattern})(?![a-z])") for name, pattern in _COLUMNS.items()}
_QUANTITY = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w.,]*\d)")
_END_FIELDS = {"total", "subtotal", "tax", "payment"}


@dataclass(frozen=True)
class _Header:
    row: Row
    columns: dict[str, tuple[float, float]]  # column -> x range of its header word


def _header(row: Row) -> _Header | None:
    columns: dict[str, tuple[float, float]] = {}
    for cell in row.cells:
        text = fold(cell.text)
        for name, pattern in _COLUMN_RES.items():
            for match in pattern.finditer(text):
                if name not in columns:
                    box = cell.span_bbox(match.start(), match.end())
                    columns[name] = (box[0], box[2])
    has_numbers = "amount" in columns or "unit_price" in columns
    return _Header(row, columns) if len(columns) >= 2 and has_numbers else None


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
    values: dict[str, Decimal] = {}
    for cell, amount in amounts:
        column = _column_of(cell.span_bbox(amount.start, amount.end), header)
        if column in ("unit_price", "amount"):
            values[column] = amount.value
    values.setdefault("amount", amounts[-1][1].value)
    numeric_columns = [x0 for name, (x0, _) in header.columns.items() if name != "description"]
    first_number_x = min([*numeric_columns, *(cell.span_bbox(a.start, a.end)[0] for cell, a in amounts)])
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
    items: list[LineItem] = []
    header: _Header | None = None
    for row in layout.rows:
        if header is None or row.page != header.row.page:
            header = _header(row)
            continue
        labels = find_labels(row.cells[0].text[:30])
        if labels and labels[0].start <= 2 and labels[0].field in _END_FIELDS:
            header = None  # the totals block closes the table
            continue
        item = _item(row, header, source)
        if item is not None:
            items.append(item)
        elif items and items[-1].page == row.page and not find_amounts(row.text):
            last = items[-1]
            extra = row.text.strip()
            if extra and last.description and len(last.description) + len(extra) < 200:
                items[-1] = last.model_copy(update={"description": f"{last.description} {extra}"})
    return items
