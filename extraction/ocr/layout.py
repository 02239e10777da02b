"""Group recognised words into visual lines and blocks, the same way for every engine.

Engines cut text differently: Tesseract into (block, paragraph, line) segments, RapidOCR into
detection boxes, pdfium into text runs. A label and its value ("TOTAL ........ 63.35") often end up
in different segments. Merging segments that sit on the same visual row gives the parser one Line
per row; each Word keeps its own box, so a parser that cares about column gaps can still see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from extraction.models import BBox, Line, Word

# Two segments are on the same row when their vertical overlap covers this share of the smaller one.
_ROW_OVERLAP = 0.5
# A vertical gap larger than this many line heights starts a new block.
_BLOCK_GAP_LINES = 1.2


@dataclass
class Segment:
    """Words the engine itself put together (one Tesseract line, one RapidOCR box)."""

    words: list[Word]
    block: int | None = None  # the engine's own block id, when it has one


def union_bbox(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _vertical_overlap(a: BBox, b: BBox) -> float:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min(a[3] - a[1], b[3] - b[1])
    return overlap / smaller if smaller > 0 else 0.0


def build_lines(segments: list[Segment]) -> list[Line]:
    """Merge segments into rows (top to bottom, words left to right) and number the blocks.

    Blocks come from the engine when it has them (the block of a row's leftmost segment);
    otherwise a block ends where the vertical gap between rows exceeds ~one line height.
    """
    segments = [s for s in segments if s.words]
    segments.sort(key=lambda s: union_bbox([w.bbox for w in s.words])[1])
    rows: list[tuple[BBox, list[Segment]]] = []
    for segment in segments:
        box = union_bbox([w.bbox for w in segment.words])
        # Compare with the most recent rows only: rows are built top-down.
        for index in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            row_box, members = rows[index]
            if _vertical_overlap(row_box, box) >= _ROW_OVERLAP and not _overlaps_horizontally(members, box):
                members.append(segment)
                rows[index] = (union_bbox([row_box, box]), members)
                break
        else:
            rows.append((box, [segment]))

    lines: list[Line] = []
    engine_blocks = all(s.block is not None for s in segments)
    block = 0
    previous: BBox | None = None
    for row_box, members in sorted(rows, key=lambda r: (r[0][1], r[0][0])):
        members.sort(key=lambda s: union_bbox([w.bbox for w in s.words])[0])
        words = sorted((w for s in members for w in s.words), key=lambda w: w.bbox[0])
        if engine_blocks:
            block = members[0].block or 0
        elif previous is not None:
            height = max(1.0, min(previous[3] - previous[1], row_box[3] - row_box[1]))
            if row_box[1] - previous[3] > _BLOCK_GAP_LINES * height:
                block += 1
        previous = row_box
        lines.append(Line(words=words, bbox=row_box, block=block))
    return lines


def _overlaps_horizontally(members: list[Segment], box: BBox) -> bool:
    """Guard against merging two stacked segments that only look level because one is tall."""
    for segment in members:
        other = union_bbox([w.bbox for w in segment.words])
        if min(other[2], box[2]) - max(other[0], box[0]) > 0:
            return True
    return False
