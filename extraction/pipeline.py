"""`extract()`: bytes in, `ExtractionResult` out. Never raises.

Order: decode -> embedded e-invoice XML (exact, no OCR) -> PDF text layer -> OCR for the rest
-> rule-based parsing -> validation -> optional LLM cross-check. The parser works on the words
as read (an OCR'd page: on the prepared image); the boxes of the result are taken back to the pages
themselves (`on_the_pages`), the upright original image or the PDF page, as the API shows them.

Workers should set OMP_THREAD_LIMIT=1 before the first OCR (Tesseract's OpenMP threads) so that
N worker processes use N cores; RapidOCR's onnxruntime sessions already use one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from time import perf_counter

import numpy as np

from extraction.decode import Decoded, DecodeError, decode, sniff
from extraction.einvoice import parse_einvoice_xml
from extraction.models import (
    FIELD_NAMES,
    DocumentText,
    ErrorCode,
    ExtractionOptions,
    ExtractionResult,
    FieldValue,
    InvoiceFields,
    LineItem,
    Page,
    PageTransform,
    Timing,
    mean_word_confidence,
)
from extraction.ocr import OcrEngine, OcrError, get_engine
from extraction.parsing import needs_second_opinion, parse_fields
from extraction.pdf import embedded_invoice_xml, read_text_layer, render_page
from extraction.preprocess import DEFAULT_STEPS, Steps, is_narrow, prepare, turn_half
from extraction.validation import validate
from extraction.xml_invoice import XML, read_xml_invoice

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
    except MemoryError:
        raise  # the caller's memory limit (a watcher worker's WORKER_MEMORY_MB): its to report, not a fault here
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
    if data and sniff(data) == XML:
        return _from_xml_file(data, timing)
    mark = perf_counter()
    decoded = decode(data, content_type, options)
    timing.decode_ms += (perf_counter() - mark) * 1000
    try:
        if decoded.pdf is not None and not options.ocr_only:
            result = _from_embedded_xml(decoded, options, timing)
            if result is not None:
                return result
        document, fields, engines = read_and_parse(decoded, options, timing)
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
        fields=on_the_pages(fields, document),
        warnings=warnings,
        pages=decoded.page_count,
        content_type=decoded.content_type,
        page_sizes=[page.size for page in document.pages],
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
        page_sizes=[decoded.page_size(n) for n in range(1, decoded.page_count + 1)],
        method="xml",
        text=text,
    )


def _from_xml_file(data: bytes, timing: Timing) -> ExtractionResult:
    """A standalone e-invoice: its values are the truth (confidence 1.0, source "xml")."""
    mark = perf_counter()
    fields = read_xml_invoice(data)  # DecodeError -> failed, with the reason
    timing.parse_ms += (perf_counter() - mark) * 1000
    return ExtractionResult(
        ok=True, fields=fields, warnings=validate(fields), pages=1, content_type=XML, method="xml"
    )


@dataclass(frozen=True)
class ReadingPlan:
    """How pages without a text layer are read.

    Each page goes to `first`, or to `narrow` when it is receipt-shaped (`preprocess.is_narrow`).
    When the parsed fields then need a second opinion (`needs_second_opinion`), `second` reads the
    pages `first` read once more, and the document is parsed again from that reading.
    """

    first: OcrEngine
    narrow: OcrEngine | None = None
    second: OcrEngine | None = None
    steps: Steps = DEFAULT_STEPS


def plan_for(options: ExtractionOptions) -> ReadingPlan:
    """`auto`: receipts go to RapidOCR (Tesseract misreads till-roll print), pages of documents to
    Tesseract (fast, and reads clean print well), and RapidOCR reads those again when the fields do
    not hold up. The figures behind this choice come from bench/reading_ab.py."""
    tesseract = get_engine("tesseract", options.ocr_languages)
    if options.ocr_engine == "auto":
        rapid = get_engine("rapidocr")
        return ReadingPlan(tesseract, narrow=rapid, second=rapid)
    return ReadingPlan(tesseract if options.ocr_engine == "tesseract" else get_engine(options.ocr_engine))


def read_and_parse(
    decoded: Decoded, options: ExtractionOptions, timing: Timing, plan: ReadingPlan | None = None
) -> tuple[DocumentText, InvoiceFields, list[str]]:
    """Read every page (text layer first, OCR for the rest), parse the fields; also the engines used."""
    plan = plan or plan_for(options)
    mark = perf_counter()
    text_pages = {} if options.ocr_only else read_text_pages(decoded)
    timing.decode_ms += (perf_counter() - mark) * 1000
    missing = [n for n in range(1, decoded.page_count + 1) if n not in text_pages]
    readings = _read_pages(decoded, missing, options, timing, plan)
    document = _assemble(text_pages, {n: r.page for n, r in readings.items()})
    fields = _parse(document, timing)
    if plan.second is not None and any(r.engine is plan.first for r in readings.values()):
        if needs_second_opinion(fields, document):
            readings = _second_reading(decoded, readings, options, timing, plan)
            document = _assemble(text_pages, {n: r.page for n, r in readings.items()})
            fields = _parse(document, timing)
    engines = list(dict.fromkeys(name for r in readings.values() for name in r.engines))
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
    decoded: Decoded,
    numbers: list[int],
    engine: OcrEngine,
    options: ExtractionOptions,
    timing: Timing,
    steps: Steps = DEFAULT_STEPS,
) -> dict[int, Page]:
    """OCR the given pages (1-based) with one engine."""
    readings = _read_pages(decoded, numbers, options, timing, ReadingPlan(engine, steps=steps))
    return {number: reading.page for number, reading in readings.items()}


@dataclass
class _Reading:
    page: Page
    engine: OcrEngine
    engines: tuple[str, ...]


def _read_pages(
    decoded: Decoded, numbers: list[int], options: ExtractionOptions, timing: Timing, plan: ReadingPlan
) -> dict[int, _Reading]:
    """Read pages one at a time: each image is produced, prepared, read and dropped."""
    readings: dict[int, _Reading] = {}
    for number, image in _page_images(decoded, numbers, options, timing):
        size = decoded.page_size(number)
        drawn = PageTransform.drawn_at(size.width, size.height, image.shape[1], image.shape[0])
        prepared, transform = _prepare(image, plan.steps, drawn, timing)
        engine = plan.narrow if plan.narrow is not None and is_narrow(prepared) else plan.first
        mark = perf_counter()
        page = _read_upright(engine, prepared, number, plan.steps.orientation, transform)
        timing.ocr_ms += (perf_counter() - mark) * 1000
        readings[number] = _Reading(page, engine, (engine.name,))
    return readings


def _second_reading(
    decoded: Decoded, readings: dict[int, _Reading], options: ExtractionOptions, timing: Timing, plan: ReadingPlan
) -> dict[int, _Reading]:
    """The pages the first engine read, read again by the second."""
    assert plan.second is not None
    redo = [number for number, reading in readings.items() if reading.engine is plan.first]
    again = _read_pages(decoded, redo, options, timing, ReadingPlan(plan.second, steps=plan.steps))
    return readings | {
        number: _Reading(reading.page, reading.engine, (*readings[number].engines, *reading.engines))
        for number, reading in again.items()
    }


def _prepare(
    image: np.ndarray, steps: Steps, transform: PageTransform, timing: Timing
) -> tuple[np.ndarray, PageTransform]:
    mark = perf_counter()
    prepared = prepare(image, steps, transform)
    timing.preprocess_ms += (perf_counter() - mark) * 1000
    return prepared


def _read_upright(
    engine: OcrEngine, image: np.ndarray, number: int, orientation: bool, transform: PageTransform
) -> Page:
    """The page as the engine reads it, the right way up, with the transform of the image it read.
    Quarter turns are fixed in preprocessing; this is the 180° case: upside-down text reads with
    clearly lower confidence than upright text (each engine says below what it gets suspicious),
    so a suspect page is read both ways and the surer reading wins."""
    page = engine.read(image, page_number=number).model_copy(update={"transform": transform})
    if not (orientation and page.lines and mean_word_confidence([page]) < engine.upside_down_suspect):
        return page
    turned, moved = turn_half(image)
    retry = engine.read(turned, page_number=number).model_copy(update={"transform": transform.then(moved)})
    return retry if mean_word_confidence([retry]) > mean_word_confidence([page]) else page


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


def on_the_pages(fields: InvoiceFields, document: DocumentText) -> InvoiceFields:
    """The fields with their boxes taken from the images that were read to the pages themselves
    (the parser works on the words as read: its layout measures are in those coordinates)."""
    pages = {page.number: page for page in document.pages}

    def moved(item: FieldValue | LineItem) -> FieldValue | LineItem:
        page = pages.get(item.page) if item.page is not None else None
        if page is None or item.bbox is None:
            return item
        return item.model_copy(update={"bbox": page.page_box(item.bbox)})

    update: dict[str, object] = {
        name: moved(value) for name in FIELD_NAMES if (value := getattr(fields, name)) is not None
    }
    update["line_items"] = [moved(item) for item in fields.line_items]
    return fields.model_copy(update=update)


def _assemble(*page_sets: dict[int, Page]) -> DocumentText:
    merged = {number: page for pages in page_sets for number, page in pages.items()}
    return DocumentText(pages=[merged[n] for n in sorted(merged)])


def _parse(document: DocumentText, timing: Timing, *, llm: InvoiceFields | None = None) -> InvoiceFields:
    mark = perf_counter()
    fields = parse_fields(document) if llm is None else parse_fields(document, llm=llm)
    timing.parse_ms += (perf_counter() - mark) * 1000
    return fields


def _llm_opinion(
    document: DocumentText, fields: InvoiceFields, options: ExtractionOptions, timing: Timing
) -> tuple[InvoiceFields, list[str]]:
    """The LLM's reading as one more piece of evidence: the trained choice weighs its answer on each field it
    chooses, then the cross-check fills what only the LLM found and lets the arithmetic decide the money
    fields. If it cannot answer, keep the rule-based fields and say so."""
    # Imported here: the openai client adds ~40 MB to every worker, and most never use an LLM.
    from extraction.choice import learned_fields
    from extraction.crosscheck import merge
    from extraction.llm import llm_parse

    mark = perf_counter()
    try:
        llm_fields = llm_parse(document, options)
    except Exception as exc:  # any failure of the optional LLM must not fail the extraction
        log.warning("LLM parsing failed: %s", exc)
        return fields, [f"The LLM could not be used ({exc}); the fields come from the rule-based parser only."]
    finally:
        timing.llm_ms += (perf_counter() - mark) * 1000
    weighed = _parse(document, timing, llm=llm_fields)
    return merge(weighed, llm_fields, settled=learned_fields())


def _method(document: DocumentText) -> str:
    sources = {page.source for page in document.pages}
    if sources == {"pdf_text"}:
        return "pdf_text"
    if sources == {"ocr"}:
        return "ocr"
    return "mixed"
