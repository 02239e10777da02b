"""OCR engines behind one small interface: an image in, a `Page` of words with boxes out.

Images are numpy uint8 arrays, grayscale (H, W) or RGB (H, W, 3). Engines are created once per
process and reused (`get_engine`): loading RapidOCR's ONNX models costs more than reading a page.
Workers should run with OMP_THREAD_LIMIT=1 (Tesseract) — RapidOCR's onnxruntime sessions are
created with one intra-op thread here — so N worker processes use N cores.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, Protocol

import numpy as np

from extraction.models import Page

EngineName = Literal["tesseract", "rapidocr"]


class OcrError(RuntimeError):
    """The engine could not read the image (crashed, timed out, missing language data)."""


class OcrEngine(Protocol):
    name: str
    # A page read with a mean word confidence below this may be upside down (see pipeline._read_upright).
    upside_down_suspect: float

    def read(self, image: np.ndarray, *, page_number: int = 1) -> Page: ...


@cache
def get_engine(name: EngineName, languages: str = "eng") -> OcrEngine:
    """The process-wide engine for `name`; `languages` only matters to Tesseract ("eng+deu")."""
    if name == "tesseract":
        from extraction.ocr.tesseract import TesseractEngine

        return TesseractEngine(languages)
    if name == "rapidocr":
        from extraction.ocr.rapidocr import RapidOcrEngine

        return RapidOcrEngine()
    raise ValueError(f"unknown OCR engine {name!r}")
