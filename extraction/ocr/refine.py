"""Second reading of the doubtful parts of a page: RapidOCR's recogniser on the regions Tesseract
was unsure of, instead of a full second OCR pass (detection + recognition of every line).

Tesseract finds text well but misreads receipt fonts; RapidOCR's recogniser reads them better.
Re-reading only the runs of low-confidence words costs a fraction of a full RapidOCR pass.
"""

from __future__ import annotations

import numpy as np

from extraction.models import Line, Page, Word
from extraction.ocr.layout import union_bbox
from extraction.ocr.rapidocr import RapidOcrEngine, split_words

# Tesseract word confidences below this are re-read.
DOUBT = 0.9
# Padding around a run, as a share of its height: the recogniser wants a little margin.
_PAD = 0.2


def _doubtful_runs(line: Line, doubt: float) -> list[tuple[int, int]]:
    """[start, end) index ranges of consecutive low-confidence words in the line."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, word in enumerate(line.words):
        if start is not None and (word.confidence >= doubt or _far_apart(line.words[index - 1], word)):
            runs.append((start, index))
            start = None
        if word.confidence < doubt and start is None:
            start = index
    if start is not None:
        runs.append((start, len(line.words)))
    return runs


def _far_apart(left: Word, right: Word) -> bool:
    """Words in different columns of a row: the recogniser would read them as one word."""
    height = max(left.bbox[3] - left.bbox[1], right.bbox[3] - right.bbox[1])
    return right.bbox[0] - left.bbox[2] > height


def refine_page(page: Page, image: np.ndarray, recognizer: RapidOcrEngine, doubt: float = DOUBT) -> Page:
    """`page` with its doubtful word runs replaced by the recogniser's reading where it is surer."""
    height, width = image.shape[:2]
    targets: list[tuple[int, int, int]] = []  # (line index, start, end)
    boxes = []
    for line_index, line in enumerate(page.lines):
        for start, end in _doubtful_runs(line, doubt):
            x0, y0, x1, y1 = union_bbox([w.bbox for w in line.words[start:end]])
            pad = _PAD * (y1 - y0)
            boxes.append((max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)))
            targets.append((line_index, start, end))
    if not boxes:
        return page
    readings = recognizer.recognize(image, boxes)

    lines = [line.model_copy(deep=True) for line in page.lines]
    # Replace from the right so earlier indices in the same line stay valid.
    for (line_index, start, end), (text, score), box in sorted(
        zip(targets, readings, boxes, strict=True), key=lambda t: (t[0][0], -t[0][1])
    ):
        old = lines[line_index].words[start:end]
        if not text.strip() or score <= min(w.confidence for w in old):
            continue
        run_box = union_bbox([w.bbox for w in old])
        lines[line_index].words[start:end] = split_words(text, score, run_box)
    return page.model_copy(update={"lines": lines, "engine": f"{page.engine}+{recognizer.name}"})
