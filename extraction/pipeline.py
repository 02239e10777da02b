"""`extract()`: bytes in, `ExtractionResult` out. Never raises.

Order: decode -> embedded e-invoice XML (exact, no OCR) -> PDF text layer -> OCR for the rest
-> rule-based parsing -> validation -> optional LLM cross-check.

Workers should set OMP_THREAD_LIMIT=1 before the first OCR (Tesseract's OpenMP threads) so that
N worker processes use N cores; RapidOCR's onnxruntime sessions already use one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from time import perf_counter

import numpy as np

from extraction import preprocess
from extraction.crosscheck import merge
from extraction.decode import Decoded, DecodeError, decode
from extraction.einvoice import parse_einvoice_xml
from extraction.llm import llm_parse
from extraction.models import (
    DocumentText,
    ErrorCode,
    ExtractionOptions,
    ExtractionResult,
    InvoiceFields,
    Page,
    Timing,
)
from extraction.ocr import EngineName, OcrError, get_engine
from extraction.parsing import needs_second_opinion, parse_fields
from extraction.pdf import embedded_invoice_xml, read_text_layer, render_page
from extraction.validation import validate

log = logging.getLogger(__name__)


def extract(
    data: bytes, content_type: str | None = None, *, options: ExtractionOptions | None = None
) -> ExtractionResult:
    """Read an invoice. Bad input and internal faults come back as a failed result, never an exception."""
    options = options or ExtractionOptions()
    timing = Timing()
    started = perf_counter()
    try:
        result = _extract(data, content_type, options, timing)
    except DecodeError as exc:
        result = ExtractionResult.failure(exc.code, exc.message, content_type=content_type)
    except OcrError as exc:
        log.warning("OCR failed: %s", exc)
        result = ExtractionResult.failure(
            ErrorCode.ocr_failed, f"The text could not be read: {exc}", content_type=content_type
        )
    except Exception:
        log.exception("extraction failed unexpectedly")
        result = ExtractionResult.failure(
            ErrorCode.internal_error,
            "An internal error occurred while reading the document. It has been logged; try again later.",
            content_type=content_type,
        )
    timing.total_ms = (perf_counter() - started) * 1000
    result.timing = timing
    return result


def _extract(data: bytes, content_type: str | None, options: ExtractionOptions, timing: Timing) -> ExtractionResult:
    mark = perf_counter()
    decoded = decode(data, content_type, options)
    timing.decode_ms += (perf_counter() - mark) * 1000
    try:
        if decoded.pdf is not None and not options.ocr_only:
            result = _from_embedded_xml(decoded, options, timing)
            if result is not None:
                return result
        document, fields, engines = _read_and_parse(decoded, options, timing)
    finally:
        decoded.close()

    if not any(page.lines for page in document.pages):
        return ExtractionResult.failure(
            ErrorCode.empty_document,
            "No text was found in the document. Is it the right file, and is the photo sharp and well lit?",
            content_type=decoded.content_type,
            pages=decoded.page_count,
            ocr_engine="+".join(engines) or None,
        )

    warnings = validate(fields)
    if options.use_llm:
        fields, llm_warnings = _llm_opinion(document, fields, options, timing)
        warnings = llm_warnings + validate(fields)
    return ExtractionResult(
        ok=True,
        fields=fields,
        warnings=warnings,
        pages=decoded.page_count,
        content_type=decoded.content_type,
        method=_method(document),
        ocr_engine="+".join(engines) or None,
        text=document.text if options.include_text else None,
    )


def _from_embedded_xml(decoded: Decoded, options: ExtractionOptions, timing: Timing) -> ExtractionResult | None:
    """The result from the PDF's e-invoice XML, taken as the truth; None when there is none usable."""
    assert decoded.pdf is not None
    mark = perf_counter()
    xml = embedded_invoice_xml(decoded.pdf)
    fields = parse_einvoice_xml(xml) if xml is not None else None
    timing.parse_ms += (perf_counter() - mark) * 1000
    if fields is None:
        return None
    text = None
    if options.include_text:  # the visible text still serves search and review
        mark = perf_counter()
        text = DocumentText(pages=list(read_text_pages(decoded).values())).text
        timing.decode_ms += (perf_counter() - mark) * 1000
    return ExtractionResult(
        ok=True,
        fields=fields,
        warnings=validate(fields),
        pages=decoded.page_count,
        content_type=decoded.content_type,
        method="xml",
        text=text,
    )


def _read_and_parse(
    decoded: Decoded, options: ExtractionOptions, timing: Timing
) -> tuple[DocumentText, InvoiceFields, list[str]]:
    """Read every page (text layer first, OCR for the rest) and parse the fields.

    `auto` reads with Tesseract first and asks RapidOCR for a second reading only when the
    fields from the first do not hold up (see `needs_second_opinion`): RapidOCR reads receipts
    and photos far better but costs several times more.
    """
    mark = perf_counter()
    text_pages = {} if options.ocr_only else read_text_pages(decoded)
    timing.decode_ms += (perf_counter() - mark) * 1000
    missing = [n for n in range(1, decoded.page_count + 1) if n not in text_pages]

    first: EngineName = "tesseract" if options.ocr_engine == "auto" else options.ocr_engine
    engines = [first] if missing else []
    document = _assemble(text_pages, ocr_pages(decoded, missing, first, options, timing))
    fields = _parse(document, timing)
    if options.ocr_engine == "auto" and missing and needs_second_opinion(fields):
        engines.append("rapidocr")
        document = _assemble(text_pages, ocr_pages(decoded, missing, "rapidocr", options, timing))
        fields = _parse(document, timing)
    return document, fields, engines


def read_text_pages(decoded: Decoded) -> dict[int, Page]:
    """The pages of a PDF that carry real text, read from the text layer, by page number."""
    if decoded.pdf is None:
        return {}
    pages: dict[int, Page] = {}
    for index in range(decoded.page_count):
        page = read_text_layer(decoded.pdf[index], index + 1)
        if page is not None:
            pages[index + 1] = page
    return pages


def ocr_pages(
    decoded: Decoded, numbers: list[int], engine_name: EngineName, options: ExtractionOptions, timing: Timing
) -> dict[int, Page]:
    """OCR the given pages (1-based) with one engine; images are produced and dropped one at a time."""
    engine = get_engine(engine_name, options.ocr_languages)
    pages: dict[int, Page] = {}
    for number, image in _page_images(decoded, numbers, options, timing):
        mark = perf_counter()
        prepared = preprocess.prepare(image)
        timing.preprocess_ms += (perf_counter() - mark) * 1000
        mark = perf_counter()
        pages[number] = engine.read(prepared, page_number=number)
        timing.ocr_ms += (perf_counter() - mark) * 1000
    return pages


def _page_images(
    decoded: Decoded, numbers: list[int], options: ExtractionOptions, timing: Timing
) -> Iterator[tuple[int, np.ndarray]]:
    wanted = set(numbers)
    mark = perf_counter()
    if decoded.pdf is not None:
        for number in sorted(wanted):
            image = render_page(decoded.pdf[number - 1], options.max_pixels)
            timing.decode_ms += (perf_counter() - mark) * 1000
            yield number, image
            mark = perf_counter()
        return
    for number, image in enumerate(decoded.frames(), start=1):
        if number in wanted:
            timing.decode_ms += (perf_counter() - mark) * 1000
            yield number, image
        mark = perf_counter()


def _assemble(*page_sets: dict[int, Page]) -> DocumentText:
    merged = {number: page for pages in page_sets for number, page in pages.items()}
    return DocumentText(pages=[merged[n] for n in sorted(merged)])


def _parse(document: DocumentText, timing: Timing) -> InvoiceFields:
    mark = perf_counter()
    fields = parse_fields(document)
    timing.parse_ms += (perf_counter() - mark) * 1000
    return fields


def _llm_opinion(
    document: DocumentText, fields: InvoiceFields, options: ExtractionOptions, timing: Timing
) -> tuple[InvoiceFields, list[str]]:
    """Cross-check with the LLM; if it cannot answer, keep the rule-based fields and say so."""
    mark = perf_counter()
    try:
        llm_fields = llm_parse(document, options)
    except Exception as exc:  # any failure of the optional LLM must not fail the extraction
        log.warning("LLM parsing failed: %s", exc)
        return fields, [f"The LLM could not be used ({exc}); the fields come from the rule-based parser only."]
    finally:
        timing.llm_ms += (perf_counter() - mark) * 1000
    return merge(fields, llm_fields)


def _method(document: DocumentText) -> str:
    sources = {page.source for page in document.pages}
    if sources == {"pdf_text"}:
        return "pdf_text"
    if sources == {"ocr"}:
        return "ocr"
    return "mixed"
