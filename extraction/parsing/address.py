"""The vendor's address: the lines under its name, in its column, up to the first phone, e-mail,
id or label line; or what follows the name on a one-line return address."""

from __future__ import annotations

import re

from extraction.models import FieldValue
from extraction.parsing.dates import find_dates, fold
from extraction.parsing.labels import find_labels
from extraction.geometry import union_box
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.names import LEGAL_FORM, PHONE, REG_NO, SEPARATOR, TAX_WORDS, TITLE, WEB
from extraction.parsing.taxids import has_tax_id


def _lines_after(layout: Layout, name_cell: Cell, excluded: set[int]) -> tuple[str, list[Cell]] | None:
    """The lines under the vendor's name in its column, up to the first phone, e-mail, id or label line."""
    remainder = SEPARATOR.split(name_cell.text)[1:]
    if remainder:
        return ", ".join(part.strip() for part in remainder if part.strip()), [name_cell]
    x0, x1 = name_cell.bbox[0] - 0.5 * name_cell.height, name_cell.bbox[2] + 2 * name_cell.height
    lines: list[str] = []
    cells: list[Cell] = []
    last_bottom = name_cell.bbox[3]
    for row in layout.rows[name_cell.row + 1 : name_cell.row + 8]:
        if row.page != name_cell.page or row.bbox[1] - last_bottom > 2.2 * max(row.height, name_cell.height * 0.6):
            break
        column = [c for c in row.cells if c.bbox[0] < x1 and c.bbox[2] > x0 and id(c) not in excluded]
        if not column:
            continue
        text = " ".join(c.text for c in column).strip()
        is_id = bool(REG_NO.search(text) or TAX_WORDS.search(fold(text)) or has_tax_id(text))
        if not lines and (is_id or (LEGAL_FORM.search(text) and not re.search(r"\d", text))):
            continue  # between name and address: registration and tax numbers, the rest of the name
        if is_id or PHONE.search(text) or WEB.search(text) or find_dates(text) or find_labels(text[:20]) or TITLE.match(text):
            break
        lines.append(text)
        cells += column
        last_bottom = max(c.bbox[3] for c in column)
        if len(lines) == 5:
            break
    if not lines:
        return None
    # Lines are joined as printed, with a space: the line break is not punctuation.
    return " ".join(lines), cells


def choose_vendor_address(layout: Layout, vendor: FieldValue[str], name_cell: Cell, excluded: set[int]) -> FieldValue[str] | None:
    """The address printed with the vendor's name; as trustworthy as the name, at most 0.7."""
    found = _lines_after(layout, name_cell, excluded)
    if found is None:
        return None
    text, cells = found
    return FieldValue(
        value=text,
        confidence=round(min(vendor.confidence, 0.7), 3),
        source=vendor.source,
        page=name_cell.page,
        bbox=union_box([c.bbox for c in cells]),
    )
