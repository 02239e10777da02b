"""Small OCR-like documents for parser tests: text placed at (x, y) becomes words with boxes.

Words get 10 px per character and a 5 px space, lines are 20 px high, so a test can lay out columns,
labels to the left of values, and headers above them the way a scan would come out of OCR.
"""

from __future__ import annotations

from extraction.models import DocumentText, Line, Page, Word

CHAR = 10
SPACE = 5
HEIGHT = 20


def line(x: float, y: float, text: str, confidence: float = 0.95) -> Line:
    words = []
    position = x
    for token in text.split():
        words.append(Word(text=token, bbox=(position, y, position + CHAR * len(token), y + HEIGHT), confidence=confidence))
        position += CHAR * len(token) + SPACE
    return Line(words=words, bbox=(x, y, position - SPACE, y + HEIGHT))


def page(*placed: tuple[float, float, str], number: int = 1, source: str = "ocr") -> Page:
    """A page from (x, y, text) triples; several triples on the same y make one row with columns."""
    return Page(
        number=number,
        width=1000,
        height=1400,
        lines=[line(x, y, text) for x, y, text in placed],
        source=source,  # type: ignore[arg-type]
    )


def document(*placed: tuple[float, float, str]) -> DocumentText:
    return DocumentText(pages=[page(*placed)])


def stacked(*texts: str, x: float = 50, top: float = 50, step: float = 30) -> DocumentText:
    """One line under the other, left-aligned: the shape of a receipt."""
    return document(*[(x, top + i * step, text) for i, text in enumerate(texts)])
