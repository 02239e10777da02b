"""Boxes on a page, and the one rule for which of them share a printed row.

The OCR stage (engine segments -> lines) and the parser (cells -> rows) both group boxes into rows;
they do it with `group_rows`, so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from extraction.models import BBox

T = TypeVar("T")

# Two boxes share a row when their vertical overlap covers at least this share of the lower one's height.
ROW_OVERLAP = 0.5
# Rows are built top-down; a box is compared with this many of the most recent rows only.
_RECENT_ROWS = 3


def union_box(boxes: Iterable[BBox]) -> BBox:
    """The smallest box around all the given boxes."""
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the overlap of two intervals (negative: the gap between them)."""
    return min(a1, b1) - max(a0, b0)


def group_rows(items: Sequence[T], box_of: Callable[[T], BBox]) -> list[list[T]]:
    """Items (given top to bottom) grouped into printed rows, each row's members in the order given.

    An item joins a recent row when their vertical extents overlap by `ROW_OVERLAP` of the lower one,
    unless it sits under one of the row's members: a tall logo beside two stacked lines spans both,
    yet the lines are two rows.
    """
    rows: list[tuple[float, float, list[T]]] = []
    for item in items:
        box = box_of(item)
        height = box[3] - box[1]
        joined = False
        for index in range(len(rows) - 1, max(-1, len(rows) - 1 - _RECENT_ROWS), -1):
            top, bottom, members = rows[index]
            smaller = min(height, bottom - top)
            if smaller <= 0 or overlap(top, bottom, box[1], box[3]) < ROW_OVERLAP * smaller:
                continue
            if any(overlap(box_of(m)[0], box_of(m)[2], box[0], box[2]) > 0 for m in members):
                continue
            members.append(item)
            rows[index] = (min(top, box[1]), max(bottom, box[3]), members)
            joined = True
            break
        if not joined:
            rows.append((box[1], box[3], [item]))
    return [members for _, _, members in rows]
