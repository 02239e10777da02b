"""Group recognised words into visual lines and blocks, the same way for every engine.

Engines cut text differently: Tesseract into (block, paragraph, line) segments, RapidOCR into
detection boxes, pdfium into text runs. A label and its value ("TOTAL ........ 63.35") often end up
in different segments. Merging segments that sit on the same visual row gives the parser one Line
per row; each Word keeps its own box, so a parser that cares about column gaps can still see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from extraction.geometry import group_rows, union_box
from extraction.models import BBox, Line, Word

# A vertical gap larger than this many line heights starts a new block.
_BLOCK_GAP_LINES = 1.2


@dataclass
class Segment:
    """Words the engine itself put together (one Tesseract line, one RapidOCR box)."""

    words: list[Word]
    block: int | None = None  # the engine's own block id, when it has one


def build_lines(segments: list[Segment]) -> list[Line]:
    """Merge segments into rows (top to bottom, words left to right) and number the blocks.

    Blocks come from the engine when it has them (the block of a row's leftmost segment);
    otherwise a block ends where the vertical gap between rows exceeds ~one line height.
    """
    boxes = {id(s): union_box(w.bbox for w in s.words) for s in segments if s.words}
    segments = sorted((s for s in segments if s.words), key=lambda s: boxes[id(s)][1])
    rows = [
        (union_box(boxes[id(s)] for s in members), members)
        for members in group_rows(segments, lambda s: boxes[id(s)])
    ]

    lines: list[Line] = []
    engine_blocks = all(s.block is not None for s in segments)
    block = 0
    previous: BBox | None = None
    for row_box, members in sorted(rows, key=lambda r: (r[0][1], r[0][0])):
        members.sort(key=lambda s: boxes[id(s)][0])
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
