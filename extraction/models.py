"""The extraction contract: what OCR hands the parsers, and what `extract()` hands everyone else.

Money is `Decimal` everywhere and serialises to a decimal string in JSON ("1234.50").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: str(v), return_type=str, when_used="json")]
BBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels (PDF: points), origin top-left

Source = Literal["ocr", "pdf_text", "xml", "llm"]


# --- What the reading stage produces: words with boxes, grouped for layout -----------------


class Word(BaseModel):
    text: str
    bbox: BBox
    confidence: float = Field(ge=0, le=1)


class Line(BaseModel):
    words: list[Word]
    bbox: BBox
    block: int = 0  # lines of one block belong together (a column, an address, a table)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return min((w.confidence for w in self.words), default=0.0)


# An affine map (a, b, c, d, e, f): (x, y) -> (a·x + b·y + c, d·x + e·y + f).
Affine = tuple[float, float, float, float, float, float]
IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class PageSize(BaseModel):
    """A page's own size, the space its boxes are in: pixels of the upright image, or PDF points."""

    width: float
    height: float


class PageTransform(BaseModel):
    """Where a box on the image that was read lies on the page itself.

    The image OCR reads is made from the page (rendered, decoded at a lower resolution, cropped,
    turned, deskewed, rescaled); each step records its map here, so `box` takes a box on that
    image back to the page's own coordinates (`PageSize`), the ones the page is shown in.
    """

    model_config = ConfigDict(frozen=True)

    width: float  # the page's own size
    height: float
    matrix: Affine = IDENTITY  # image coordinates -> page coordinates

    @classmethod
    def drawn_at(cls, width: float, height: float, image_width: int, image_height: int) -> PageTransform:
        """A page of `width` x `height` drawn as an image of `image_width` x `image_height` pixels."""
        return cls(width=width, height=height, matrix=(width / image_width, 0.0, 0.0, 0.0, height / image_height, 0.0))

    def then(self, step: Affine) -> PageTransform:
        """The transform for an image made from this one by `step` (this image's coordinates -> the new one's)."""
        return self.model_copy(update={"matrix": _compose(self.matrix, _invert(step))})

    def box(self, bbox: BBox) -> BBox:
        """The box on the page around the image box's corners (a turned box stays covered), kept on the page."""
        a, b, c, d, e, f = self.matrix
        x0, y0, x1, y1 = bbox
        corners = [(x, y) for x in (x0, x1) for y in (y0, y1)]
        xs = [a * x + b * y + c for x, y in corners]
        ys = [d * x + e * y + f for x, y in corners]
        return (
            min(max(min(xs), 0.0), self.width),
            min(max(min(ys), 0.0), self.height),
            min(max(max(xs), 0.0), self.width),
            min(max(max(ys), 0.0), self.height),
        )

    @property
    def size(self) -> PageSize:
        return PageSize(width=self.width, height=self.height)


def _compose(outer: Affine, inner: Affine) -> Affine:
    """outer ∘ inner: first `inner`, then `outer`."""
    a, b, c, d, e, f = outer
    p, q, r, s, t, u = inner
    return (a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f)


def _invert(step: Affine) -> Affine:
    a, b, c, d, e, f = step
    det = a * e - b * d
    return (e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det)


class Page(BaseModel):
    number: int  # 1-based
    width: float  # of the image read (OCR) or of the page (text layer): the space of the word boxes
    height: float
    lines: list[Line]
    source: Literal["ocr", "pdf_text"]
    engine: str | None = None  # "tesseract", "rapidocr", "pdfium"
    # Word boxes -> the page's own coordinates, for an OCR'd page; None: the boxes are already there.
    transform: PageTransform | None = None

    @property
    def size(self) -> PageSize:
        """The page's own size, the space results' boxes are reported in."""
        return self.transform.size if self.transform is not None else PageSize(width=self.width, height=self.height)

    def page_box(self, bbox: BBox) -> BBox:
        """A box on this page's words, in the page's own coordinates."""
        return self.transform.box(bbox) if self.transform is not None else bbox

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class DocumentText(BaseModel):
    pages: list[Page]

    @property
    def text(self) -> str:
        return "\n\f".join(page.text for page in self.pages)


def mean_word_confidence(pages: Iterable[Page]) -> float:
    """How sure the reader was of the pages' words on average; 0 when there are none."""
    confidences = [word.confidence for page in pages for line in page.lines for word in line.words]
    return sum(confidences) / len(confidences) if confidences else 0.0


# --- What the parsers produce ----------------------------------------------------------------

T = TypeVar("T")


class FieldValue(BaseModel, Generic[T]):
    value: T
    confidence: float = Field(ge=0, le=1)
    source: Source
    page: int | None = None
    bbox: BBox | None = None


class LineItem(BaseModel):
    description: str | None = None
    quantity: Money | None = None
    unit_price: Money | None = None
    amount: Money | None = None
    confidence: float = Field(default=0.5, ge=0, le=1)
    source: Source = "ocr"
    page: int | None = None
    bbox: BBox | None = None


class InvoiceFields(BaseModel):
    invoice_number: FieldValue[str] | None = None
    invoice_date: FieldValue[date] | None = None
    due_date: FieldValue[date] | None = None
    vendor_name: FieldValue[str] | None = None
    vendor_address: FieldValue[str] | None = None
    vendor_tax_id: FieldValue[str] | None = None
    customer_name: FieldValue[str] | None = None
    currency: FieldValue[str] | None = None  # ISO 4217
    subtotal: FieldValue[Money] | None = None
    tax: FieldValue[Money] | None = None
    total: FieldValue[Money] | None = None
    # "invoice", "credit_note" or "corrected_invoice": a credit note's negative total is expected
    document_type: FieldValue[str] | None = None
    line_items: list[LineItem] = Field(default_factory=list)


FIELD_NAMES: tuple[str, ...] = tuple(name for name in InvoiceFields.model_fields if name != "line_items")


# --- The result ---------------------------------------------------------------------------


class ErrorCode(StrEnum):
    unreadable_file = "unreadable_file"
    unsupported_type = "unsupported_type"
    encrypted_pdf = "encrypted_pdf"
    too_many_pages = "too_many_pages"
    too_many_pixels = "too_many_pixels"
    empty_document = "empty_document"
    ocr_failed = "ocr_failed"
    internal_error = "internal_error"


class ExtractionError(BaseModel):
    code: ErrorCode
    message: str  # for a person: what is wrong and what to do


class Timing(BaseModel):
    decode_ms: float = 0
    preprocess_ms: float = 0
    ocr_ms: float = 0
    parse_ms: float = 0
    llm_ms: float = 0
    total_ms: float = 0


class ExtractionResult(BaseModel):
    ok: bool
    error: ExtractionError | None = None
    fields: InvoiceFields = Field(default_factory=InvoiceFields)
    warnings: list[str] = Field(default_factory=list)
    pages: int = 0
    content_type: str | None = None
    method: Literal["xml", "pdf_text", "ocr", "mixed", "none"] = "none"
    ocr_engine: str | None = None  # the engine(s) that produced the text, e.g. "tesseract+rapidocr"
    # Each page's own size, by page: every `bbox` above is in these coordinates (upright image
    # pixels, or PDF points), the space the page images of the API are measured in.
    page_sizes: list[PageSize] = Field(default_factory=list)
    text: str | None = None  # the full text read, for search and review; omitted from events
    timing: Timing = Field(default_factory=Timing)

    @classmethod
    def failure(cls, code: ErrorCode, message: str, **extra: object) -> ExtractionResult:
        return cls(ok=False, error=ExtractionError(code=code, message=message), **extra)  # type: ignore[arg-type]


class ExtractionOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    ocr_engine: Literal["auto", "tesseract", "rapidocr"] = "auto"
    ocr_languages: str = "eng"
    ocr_only: bool = False  # ignore embedded XML and PDF text layers: render every page and OCR it
    use_llm: bool = False
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_seconds: float = 30.0
    max_pages: int = 50
    max_pixels: int = 80_000_000
    include_text: bool = True
