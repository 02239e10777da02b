"""The customer: the block a customer label heads (Bill to:, Käufer:, Client ...), and the name in it.

The block's cells are also what the vendor and tax-id parsers must not take for the vendor's.
"""

from __future__ import annotations

import re

from extraction.models import FieldValue, Source
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.names import STREET, KeyCells, name_text, trim_name
from extraction.parsing.pairing import LabelledCell


def customer_cells(layout: Layout, labelled: list[LabelledCell]) -> set[int]:
    """Ids of the cells that make up the customer's block: its label, the label's row, and what
    follows below it in the label's column up to the next gap."""
    block: set[int] = set()
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "customer"), None)
        if label is None or label.start > 3 or not heads_a_block(item.cell.text, label.end):
            continue
        cell = item.cell
        page_width = layout.page_sizes.get(cell.page, (1000.0, 0.0))[0]
        block.add(id(cell))
        beside = layout.right_of(cell)[:1]
        if beside and beside[0].bbox[0] - cell.bbox[2] < 0.25 * page_width and not find_labels(beside[0].text[:20]):
            block.add(id(beside[0]))  # "Bill to:   John Smith"
        x0, x1 = cell.bbox[0] - 5, cell.bbox[0] + max(cell.bbox[2] - cell.bbox[0], 0.3 * page_width)
        last_bottom = cell.bbox[3]
        for row in layout.rows[cell.row + 1 : cell.row + 7]:
            if row.page != cell.page or row.bbox[1] - last_bottom > 2.5 * row.height:
                break
            column = [c for c in row.cells if c.bbox[0] < x1 and c.bbox[2] > x0]
            if not column or any(find_labels(c.text[:20]) and c.bbox[0] >= x0 for c in column if c is not column[0]):
                continue
            if any(starts_with_other_label(c) for c in column):
                break
            block.update(id(c) for c in column)
            last_bottom = max(c.bbox[3] for c in column)
    return block


def heads_a_block(text: str, label_end: int) -> bool:
    """"Bill to:", "Kunde" alone or "Käufer/Leistungsempfänger:" head a block; "Kunde AG" is a name."""
    rest = text[label_end:].strip()
    return rest == "" or rest.startswith((":", "/")) or bool(re.match(r"^[\s:.\-]*$", rest))


def starts_with_other_label(cell: Cell) -> bool:
    labels = find_labels(cell.text[:30])
    return bool(labels) and labels[0].start <= 2 and labels[0].field not in ("customer",)


def choose_customer_name(layout: Layout, labelled: list[LabelledCell], source: Source) -> FieldValue[str] | None:
    """The first name in the customer's block: after "Bill to:" on its line, or under it."""
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "customer"), None)
        if label is None or label.start > 3:
            continue
        if not heads_a_block(item.cell.text, label.end):
            # "Customer: John Smith" in one cell
            options: list[tuple[Cell, str]] = [(item.cell, item.cell.text[label.end :].strip(" :.-"))]
        else:
            pairs = KeyCells.of(layout)
            nearby = [*layout.right_of(item.cell)[:1], *layout.below(item.cell.bbox, item.cell.row, max_rows=4)]
            options = [(cell, cell.text) for cell in (pairs.name_value(c) or c for c in nearby) if id(cell) not in pairs.keys]
        for cell, text in options:
            name = name_text(text.strip().lstrip(": "))
            if name is None or STREET.search(name) or starts_with_other_label(cell) and cell is not item.cell:
                continue
            return FieldValue(
                value=trim_name(name),
                confidence=round(0.6 * label.strength, 3),
                source=source,
                page=cell.page,
                bbox=cell.bbox,
            )
    return None
