"""Label–value pairing on the page: the value after a label in the same cell, in the cells to its right
on the same row, or in the cells just below it (column headers over values).

The layout's tie between label and value becomes `link` in (0, 1]: right after the label in the same
cell is certain, the row's next cell nearly so, a cell two rows below much less.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from extraction.models import FieldValue, Source
from extraction.parsing.labels import LabelMatch, find_labels
from extraction.parsing.layout import Cell, Layout

# A value extractor returns (value, start, end) for each value it finds in a text, left to right.
Extractor = Callable[[str], list[tuple[Any, int, int]]]

_LINK_SAME_CELL = 1.0
_LINK_RIGHT = (0.95, 0.85, 0.8)  # the row's next cell, the one after, any further one
_LINK_BELOW = (0.8, 0.6, 0.5, 0.5)
_LINK_WRAPPED = 0.8


@dataclass(frozen=True)
class Found:
    value: Any
    cell: Cell
    start: int
    end: int
    link: float
    where: str  # "same_row", "wrapped" (start of the next line) or "below"
    label: LabelMatch | None = None
    in_label_cell: bool = False

    def field_value(self, value: Any, confidence: float, source: Source) -> FieldValue:
        return self.cell.field_value(value, confidence, source, self.start, self.end)


@dataclass(eq=False)
class Evidence:
    """Every cue that points at one value: how strongly each does, and where it was found."""

    value: Any
    scores: list[float] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)

    def add(self, score: float, found: Found) -> None:
        self.scores.append(score)
        self.found.append(found)

    @property
    def strength(self) -> float:
        """Noisy-or of the cues: independent cues add up, two weak ones beat one."""
        miss = 1.0
        for score in self.scores:
            miss *= 1.0 - score
        return 1.0 - miss

    @property
    def best(self) -> Found:
        """Where the value was found most clearly (ties: further down the page)."""
        return max(self.found, key=lambda f: (f.link * (f.label.strength if f.label else 0.3), f.cell.row))

    @property
    def last_row(self) -> int:
        return max(f.cell.row for f in self.found)


@dataclass(frozen=True)
class LabelledCell:
    cell: Cell
    labels: list[LabelMatch]


def label_cells(layout: Layout) -> list[LabelledCell]:
    """Every cell with the labels it contains (cells without labels are left out)."""
    found = []
    for cell in layout.cells:
        labels = find_labels(cell.text)
        if labels:
            found.append(LabelledCell(cell, labels))
    return found


def starts_with_label(cell: Cell) -> bool:
    labels = find_labels(cell.text[:40])
    return bool(labels) and labels[0].start <= 2


def _region_end(labels: list[LabelMatch], label: LabelMatch, text: str) -> int:
    later = [other.start for other in labels if other.start >= label.end]
    return min(later, default=len(text))


def _wrapped_line(layout: Layout, cell: Cell, label: LabelMatch, end: int) -> Cell | None:
    """The next line's first cell when the label ends its line and the text wraps ("... vom" / "06.12.2018")."""
    if cell.text[label.end : end].strip(" :") or cell.row + 1 >= len(layout.rows) or layout.right_of(cell):
        return None
    following = layout.rows[cell.row + 1]
    first = following.cells[0]
    if following.page != cell.page or first.bbox[1] - cell.bbox[3] > cell.height:
        return None
    return first if abs(first.bbox[0] - cell.bbox[0]) <= 2 * cell.height else None


def values_for_label(
    layout: Layout,
    labelled: LabelledCell,
    label: LabelMatch,
    extract: Extractor,
    *,
    look_below: bool = True,
    rows_below: int = 2,
) -> Iterator[Found]:
    """Values a label points at, nearest first: same cell, cells to the right, then cells below."""
    cell = labelled.cell
    end = _region_end(labelled.labels, label, cell.text)
    found_on_row = False
    for value, start, stop in extract(cell.text[label.end : end]):
        found_on_row = True
        yield Found(value, cell, label.end + start, label.end + stop, _LINK_SAME_CELL, "same_row", label, True)
    if end == len(cell.text):  # no other label follows in this cell: the row continues to the right
        for position, right in enumerate(layout.right_of(cell)):
            right_labels = find_labels(right.text)
            limit = right_labels[0].start if right_labels else len(right.text)
            for value, start, stop in extract(right.text[:limit]):
                found_on_row = True
                yield Found(value, right, start, stop, _LINK_RIGHT[min(position, len(_LINK_RIGHT) - 1)], "same_row", label)
            if right_labels:
                break
    if found_on_row or not look_below:
        return
    wrapped = _wrapped_line(layout, cell, label, end)
    if wrapped is not None:
        for value, start, stop in extract(wrapped.text):
            yield Found(value, wrapped, start, stop, _LINK_WRAPPED, "wrapped", label)
            return
    # A column header: the value sits below the label, in the next rows that overlap it horizontally.
    label_box = cell.span_bbox(label.start, label.end)
    slack = 0.2 * (label_box[2] - label_box[0])
    rows_seen: list[int] = []
    for below in layout.below(label_box, cell.row, max_rows=rows_below + 1):
        if below.row not in rows_seen:
            rows_seen.append(below.row)
        if len(rows_seen) > min(rows_below, len(_LINK_BELOW)):
            return
        if starts_with_label(below):
            return  # the next label starts here: the column has no value for ours
        for value, start, stop in extract(below.text):
            box = below.span_bbox(start, stop)
            if min(box[2], label_box[2] + slack) > max(box[0], label_box[0] - slack):  # in the label's column
                yield Found(value, below, start, stop, _LINK_BELOW[rows_seen.index(below.row)], "below", label)
