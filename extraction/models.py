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


class Page(BaseModel):
    number: int  # 1-based
    width: float
    height: float
    lines: list[Line]
    source: Literal["ocr", "pdf_text"]
    engine: str | None = None  # "tesseract", "rapidocr", "pdfium"

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
