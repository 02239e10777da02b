"""RapidOCR (PP-OCR ONNX models shipped in its wheel, onnxruntime on CPU).

RapidOCR detects text boxes (roughly lines) and recognises each; with `return_word_box` it also
returns word boxes from the recogniser's character positions. Where those are missing, a box is
split into words with widths proportional to their character counts, so the parser gets the
same shape (words in lines) from every engine.
"""

from __future__ import annotations

import ctypes

import cv2
import numpy as np
from rapidocr import RapidOCR
from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

from extraction.models import BBox, Page, Word
from extraction.ocr import OcrError
from extraction.ocr.layout import Segment, build_lines


# Measured on SROIE (bench/reading_ab.py): the same field accuracy as RapidOCR's defaults at about half
# the CPU time and far less memory. Detection on at most 960 px (and _DET_MAX_PIXELS, see read());
# no per-line 180° classifier (upside-down pages are handled by the pipeline); recognition one line
# at a time, padded to 96 px rather than 320 (short receipt lines were padded to 320 px and paid).
TUNED: dict[str, object] = {
    "Det.limit_side_len": 960,
    "Det.limit_type": "max",
    "Global.use_cls": False,
    "Rec.rec_img_shape": [3, 48, 96],
    "Rec.rec_batch_num": 1,
}
# RapidOCR's own defaults for the settings above, for comparison.
STOCK: dict[str, object] = {
    "Det.limit_side_len": 736,
    "Det.limit_type": "min",
    "Global.use_cls": True,
    "Rec.rec_img_shape": [3, 48, 320],
    "Rec.rec_batch_num": 6,
}


# RapidOCR's own Global.max_side_len: it resizes larger images to this before anything else.
_MAX_SIDE = 2000
# The detector's activations grow with its input, ~0.3 KB a pixel: 400k pixels is what a receipt
# needs at 960 px; an A4 page at 960 px would take 650k (+75 MB) for no measured gain.
_DET_MAX_PIXELS = 400_000
_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
_MMAP_THRESHOLD_BYTES = 16 * 1024 * 1024


class RapidOcrEngine:
    name = "rapidocr"
    # SROIE: upright receipts read with a mean confidence of 0.96-1.00, upside-down ones 0.67-0.80.
    upside_down_suspect = 0.9

    def __init__(self, **overrides: object) -> None:
        """`overrides` are RapidOCR config keys on top of TUNED, e.g. {"Det.limit_side_len": 640}."""
        params: dict[str, object] = {
            # One thread per process: workers scale by processes, not threads.
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "Global.log_level": "error",  # "no text detected" on a blank page is not a warning for us
            **TUNED,
            **overrides,
        }
        _no_memory_patterns()
        self._ocr = RapidOCR(params=params)
        _return_big_buffers_to_the_os()
        # With a long-side limit, also cap the detector's pixels (per image, in read()).
        self._det_max_side = int(params["Det.limit_side_len"]) if params["Det.limit_type"] == "max" else None

    def read(self, image: np.ndarray, *, page_number: int = 1) -> Page:
        # RapidOCR works on at most _MAX_SIDE px and wants three channels: shrink first, so a
        # large page is not copied three times over at full size (boxes are scaled back below).
        scale = min(1.0, _MAX_SIDE / max(image.shape[:2]))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        bgr = _to_bgr(small)
        del small
        if self._det_max_side is not None:
            height, width = bgr.shape[:2]
            aspect = max(height, width) / min(height, width)
            limit = min(self._det_max_side, int((_DET_MAX_PIXELS * aspect) ** 0.5))
            self._ocr._load_det_model().limit_side_len = limit  # RapidOCR's detector reads it on every call
        try:
            result = self._ocr(bgr, return_word_box=True)
        except MemoryError:
            raise  # the caller's memory limit, not an OCR failure
        except Exception as exc:  # the library raises bare exceptions of many kinds
            raise OcrError(f"rapidocr failed: {exc}") from exc

        segments: list[Segment] = []
        texts = result.txts or ()
        scores = result.scores or ()
        boxes = result.boxes if result.boxes is not None else []
        word_results = result.word_results if len(result.word_results) == len(texts) else None
        for index, (text, score, quad) in enumerate(zip(texts, scores, boxes, strict=False)):
            words = _native_words(word_results[index], text, scale) if word_results else None
            segments.append(Segment(words=words or _split_words(text, float(score), _axis_box(quad, scale))))
        height, width = image.shape[:2]
        return Page(
            number=page_number,
            width=float(width),
            height=float(height),
            lines=build_lines(segments),
            source="ocr",
            engine=self.name,
        )


def _no_memory_patterns() -> None:
    """Have the onnxruntime sessions RapidOCR builds skip memory patterns.

    A memory pattern is a buffer plan onnxruntime keeps per input shape, and every page and text
    line has a new shape: measured over 20 SROIE receipts, peak RSS 385 MB with patterns, 334-346 MB
    without, at the same CPU time. RapidOCR has no setting for it, so its session options are
    wrapped (once per process)."""
    build = OrtInferSession._init_sess_opts
    if getattr(build, "lean", False):
        return

    def lean(cfg: dict[str, object]) -> object:
        options = build(cfg)
        options.enable_mem_pattern = False
        return options

    lean.lean = True  # type: ignore[attr-defined]
    OrtInferSession._init_sess_opts = staticmethod(lean)  # type: ignore[method-assign]


def _return_big_buffers_to_the_os() -> None:
    """Let glibc hand onnxruntime's large per-call buffers back to the OS when they are freed.

    By default glibc raises its mmap threshold after big buffers are freed, so later ones come from
    the heap and stay resident: a worker's peak RSS then creeps up with every page it reads
    (measured: 429 MB after 20 receipts; 354 MB with a fixed 16 MiB threshold, at no measurable CPU
    cost; a 128 KiB threshold gets 269 MB but costs +60% CPU in page faults)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def _to_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


def _axis_box(quad: object, scale: float) -> BBox:
    """The axis-aligned box around a quadrilateral, in the coordinates of the unscaled image."""
    points = np.asarray(quad, dtype=float).reshape(-1, 2) / scale
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max()))


def _native_words(word_result: tuple, line_text: str, scale: float) -> list[Word] | None:
    """RapidOCR's own word boxes, if they spell the same text as the line (else they are not trusted)."""
    words = [
        Word(text=text.strip(), bbox=_axis_box(quad, scale), confidence=min(1.0, max(0.0, float(score))))
        for text, score, quad in word_result
        if text.strip() and quad is not None
    ]
    if "".join(w.text for w in words) != "".join(line_text.split()):
        return None
    return words


def _split_words(text: str, confidence: float, box: BBox) -> list[Word]:
    """Split a line box into words, each as wide as its share of the characters (spaces included)."""
    tokens = text.split()
    if not tokens:
        return []
    x0, y0, x1, y1 = box
    per_char = (x1 - x0) / max(1, len(" ".join(tokens)))
    words: list[Word] = []
    cursor = x0
    for token in tokens:
        end = cursor + per_char * len(token)
        words.append(Word(text=token, bbox=(cursor, y0, end, y1), confidence=min(1.0, max(0.0, confidence))))
        cursor = end + per_char
    return words
