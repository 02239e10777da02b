"""Tesseract through pytesseract `image_to_data`: words with boxes and confidences."""

from __future__ import annotations

import numpy as np
import pytesseract

from extraction.models import Page, Word
from extraction.ocr import OcrError
from extraction.ocr.layout import Segment, build_lines

# A page that takes longer than this is treated as unreadable rather than blocking a worker.
_TIMEOUT_SECONDS = 120


class TesseractEngine:
    name = "tesseract"
    # SROIE: upright receipts read with a mean word confidence of 0.41-0.95, upside-down ones 0.20-0.36.
    upside_down_suspect = 0.5

    def __init__(self, languages: str = "eng") -> None:
        self.languages = languages

    def read(self, image: np.ndarray, *, page_number: int = 1) -> Page:
        try:
            data = pytesseract.image_to_data(
                image,
                lang=self.languages,
                output_type=pytesseract.Output.DICT,
                timeout=_TIMEOUT_SECONDS,
            )
        except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
            raise OcrError(f"tesseract failed: {exc}") from exc

        segments: dict[tuple[int, int, int], Segment] = {}
        for i, text in enumerate(data["text"]):
            text = text.strip()
            confidence = float(data["conf"][i])
            if not text or confidence < 0:
                continue
            x, y, w, h = data["left"][i], data["top"][i], data["width"][i], data["height"][i]
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            segment = segments.setdefault(key, Segment(words=[], block=data["block_num"][i]))
            segment.words.append(
                Word(text=text, bbox=(float(x), float(y), float(x + w), float(y + h)), confidence=confidence / 100)
            )
        height, width = image.shape[:2]
        return Page(
            number=page_number,
            width=float(width),
            height=float(height),
            lines=build_lines(list(segments.values())),
            source="ocr",
            engine=self.name,
        )
