"""Layout the parsers reason about: cells (runs of words without a wide gap) grouped into visual rows.

OCR engines and PDF text layers cut lines differently: Tesseract may put "TOTAL" and "48.15" in one
line with a wide gap, RapidOCR returns them as two boxes, a PDF text layer may join two columns. So the
parser does not trust the reader's lines: it splits them at wide gaps into cells and regroups cells
whose vertical extents overlap into rows. "Same line" then means "same row, to the right", and
"below" means "a later row, horizontally overlapping".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from extraction.geometry import group_rows, overlap, union_box
from extraction.models import BBox, DocumentText, FieldValue, Source, Word

# A horizontal gap wider than this many word heights separates two cells (two columns of a row). The
# taller of the two neighbours counts: OCR boxes of short words ("vom", "...") are lower than the font.
_CELL_GAP_HEIGHTS = 1.2


@dataclass(eq=False)
class Cell:
    page: int
    words: list[Word]
    text: str
    offsets: list[tuple[int, int]]  # each word's character span in `text`
    bbox: BBox
    confidence: float
    row: int = -1  # index of the row in `Layout.rows`

    @classmethod
    def of(cls, page: int, words: list[Word]) -> Cell:
        offsets, position = [], 0
        for word in words:
            offsets.append((position, position + len(word.text)))
            position += len(word.text) + 1
        return cls(
            page=page,
            words=words,
            text=" ".join(word.text for word in words),
            offsets=offsets,
            bbox=union_box(word.bbox for word in words),
            confidence=statistics.fmean(word.confidence for word in words),
        )

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    def span_bbox(self, start: int, end: int) -> BBox:
        """The box of the words a character span of `text` touches."""
        touched = [w.bbox for w, (a, b) in zip(self.words, self.offsets, strict=True) if a < end and b > start]
        return union_box(touched) if touched else self.bbox

    def span_confidence(self, start: int, end: int) -> float:
        touched = [w.confidence for w, (a, b) in zip(self.words, self.offsets, strict=True) if a < end and b > start]
        return min(touched) if touched else self.confidence

    def field_value(self, value: object, confidence: float, source: Source, start: int, end: int) -> FieldValue:
        """A value read from a span of this cell: where it was, with a confidence that OCR doubts lower."""
        confidence *= min(1.0, 0.35 + self.span_confidence(start, end))
        return FieldValue(
            value=value,
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            source=source,
            page=self.page,
            bbox=self.span_bbox(start, end),
        )


@dataclass(eq=False)
class Row:
    index: int
    page: int
    cells: list[Cell] = field(default_factory=list)

    @property
    def bbox(self) -> BBox:
        return union_box(cell.bbox for cell in self.cells)

    @property
    def text(self) -> str:
        return "  ".join(cell.text for cell in self.cells)

    @property
    def height(self) -> float:
        return statistics.median(cell.height for cell in self.cells)


@dataclass
class Layout:
    rows: list[Row]
    page_sizes: dict[int, tuple[float, float]]

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in self.rows for cell in row.cells]

    def right_of(self, cell: Cell, *, beyond: float | None = None) -> list[Cell]:
        """Cells of the same row that start right of `beyond` (default: the cell's right edge), nearest first."""
        edge = cell.bbox[2] if beyond is None else beyond
        row = self.rows[cell.row]
        return [other for other in row.cells if other is not cell and other.bbox[0] >= edge - 1]

    def below(self, bbox: BBox, row_index: int, *, max_rows: int = 3) -> list[Cell]:
        """Cells in the next rows of the same page that overlap `bbox` horizontally, nearest first."""
        page = self.rows[row_index].page
        height = max(1.0, bbox[3] - bbox[1])
        found = []
        last_bottom = bbox[3]
        for row in self.rows[row_index + 1 : row_index + 1 + max_rows]:
            if row.page != page or row.bbox[1] - last_bottom > 3 * height:
                break  # a wide vertical gap ends the column
            column = [cell for cell in row.cells if overlap(cell.bbox[0], cell.bbox[2], bbox[0], bbox[2]) > 0]
            found += column
            if column:
                last_bottom = max(cell.bbox[3] for cell in column)
        return found

    def relative_y(self, cell: Cell) -> float:
        """Vertical position on its page in [0, 1] (0 = top)."""
        height = self.page_sizes.get(cell.page, (1.0, 1.0))[1] or 1.0
        return min(1.0, max(0.0, cell.bbox[1] / height))


def _split_cells(page: int, words: list[Word]) -> list[Cell]:
    words = sorted((w for w in words if w.text.strip()), key=lambda w: w.bbox[0])
    if not words:
        return []
    cells, current = [], [words[0]]
    for word in words[1:]:
        previous = current[-1]
        height = max(word.bbox[3] - word.bbox[1], previous.bbox[3] - previous.bbox[1])
        if word.bbox[0] - previous.bbox[2] > _CELL_GAP_HEIGHTS * height:
            cells.append(Cell.of(page, current))
            current = []
        current.append(word)
    cells.append(Cell.of(page, current))
    return cells


def build_layout(doc: DocumentText) -> Layout:
    """Cells and rows of every page, in reading order (top to bottom, left to right)."""
    rows: list[Row] = []
    for page in doc.pages:
        cells = [cell for line in page.lines for cell in _split_cells(page.number, line.words)]
        cells.sort(key=lambda c: (c.bbox[1] + c.bbox[3]) / 2)
        for members in group_rows(cells, lambda cell: cell.bbox):
            row = Row(index=len(rows), page=page.number, cells=sorted(members, key=lambda c: c.bbox[0]))
            for cell in row.cells:
                cell.row = row.index
            rows.append(row)
    return Layout(rows=rows, page_sizes={page.number: (page.width, page.height) for page in doc.pages})
