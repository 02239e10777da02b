"""Speed and memory of `extract()` per kind of input, beside bare Tesseract (and, for receipts, the
RapidOCR engine alone) on the same images.

Rows: receipt photos (SROIE), 300-dpi A4 invoice pages (dataset PDFs rendered to PNG), PDFs with a
text layer, e-invoice PDFs (embedded XML), and 20-page PDFs (text layer, and scanned = OCR of every
page). Each row runs in a fresh worker process (one at a time), so its peak RSS is that workload's
peak per worker; each worker warms up (loads its models) on one document first.

Seconds are wall time per document and, beside it, CPU time of the worker and its Tesseract
subprocesses (on a shared machine wall time also measures the neighbours; with one OCR thread
per process CPU time is what the same work takes on an idle core).

The bare rows skip the pipeline (preprocessing, reading plan, parsing, choice), so they measure the
machine and the OCR library: when the receipt row moves and its RapidOCR row moves as much, the time
went to the engine or the machine, not to the pipeline.

    OMP_THREAD_LIMIT=1 .venv/bin/python bench/extract.py [--limit 20] [--engine auto] [--json OUT]
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402
import typer  # noqa: E402
from PIL import Image  # noqa: E402

from bench.common import DATASETS, percentile, print_table, write_json  # noqa: E402
from bench.cpu import cpu_seconds, peak_rss_mb  # noqa: E402

A4_DPI = 300


@dataclass
class Workload:
    name: str
    documents: list[bytes]
    # "extract" (the pipeline), "bare-tesseract" (pytesseract.image_to_string) or "bare-rapidocr"
    # (the pipeline's RapidOCR engine, as configured, on the decoded image: no preprocessing, no parsing)
    method: str


def _measure(workload: Workload, engine: str) -> dict:
    """Runs in a fresh worker process: warm up on the first document, then time every document."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import pytesseract

    from extraction import extract
    from extraction.models import ExtractionOptions
    from extraction.ocr import get_engine

    options = ExtractionOptions(ocr_engine=engine, include_text=False)
    rapidocr = get_engine("rapidocr") if workload.method == "bare-rapidocr" else None
    failures: list[str] = []

    def run(data: bytes) -> int:
        if workload.method == "bare-tesseract":
            pytesseract.image_to_string(Image.open(io.BytesIO(data)))
            return 1
        if rapidocr is not None:
            rapidocr.read(np.asarray(Image.open(io.BytesIO(data)).convert("L")))
            return 1
        result = extract(data, options=options)
        if not result.ok:
            failures.append(f"{result.error.code}: {result.error.message}" if result.error else "failed")
        return result.pages

    run(workload.documents[0])
    walls, cpus, pages = [], [], 0
    for data in workload.documents:
        wall, cpu = time.perf_counter(), cpu_seconds()
        pages += run(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
    return {"walls": walls, "cpus": cpus, "pages": pages, "peak_rss_mb": peak_rss_mb(), "failures": failures}


def _render_png(pdf: pdfium.PdfDocument, index: int) -> bytes:
    image = pdf[index].render(scale=A4_DPI / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _dataset_pdfs() -> list[Path]:
    return sorted((DATASETS / "invoice2data").glob("*.pdf")) + sorted((DATASETS / "zugferd-corpus").glob("*.pdf"))


def _a4_pages(limit: int) -> list[bytes]:
    """Page 1 of dataset PDFs, rendered at 300 dpi: what a scanner delivers for a one-page invoice."""
    pages = []
    for path in _dataset_pdfs()[:limit]:
        pdf = pdfium.PdfDocument(path)
        pages.append(_render_png(pdf, 0))
        pdf.close()
    return pages


def _twenty_pages(scanned: bool) -> bytes:
    """A 20-page PDF made of dataset pages; `scanned` replaces every page by its 300-dpi picture."""
    merged = pdfium.PdfDocument.new()
    for path in _dataset_pdfs():
        if len(merged) >= 20:
            break
        source = pdfium.PdfDocument(path)
        merged.import_pages(source, list(range(min(len(source), 20 - len(merged)))))
        source.close()
    if scanned:
        pictures = [Image.open(io.BytesIO(_render_png(merged, i))) for i in range(len(merged))]
        buffer = io.BytesIO()
        pictures[0].save(buffer, "PDF", save_all=True, append_images=pictures[1:], resolution=A4_DPI)
        return buffer.getvalue()
    buffer = io.BytesIO()
    merged.save(buffer)
    return buffer.getvalue()


def _without_xml(paths: list[Path]) -> list[Path]:
    from extraction.pdf import embedded_invoice_xml

    return [p for p in paths if embedded_invoice_xml(p.read_bytes()) is None]


def workloads(limit: int) -> list[Workload]:
    receipts = [p.read_bytes() for p in sorted((DATASETS / "sroie").glob("*.jpg"))[:limit]]
    a4 = _a4_pages(limit)
    text_pdfs = [p.read_bytes() for p in _without_xml(_dataset_pdfs())[:limit]]
    xml_pdfs = [p.read_bytes() for p in sorted((DATASETS / "zugferd-corpus").glob("*.pdf"))[:limit]]
    xml_files = [p.read_bytes() for p in sorted((DATASETS / "einvoice-xml").iterdir()) if p.suffix.lower() == ".xml"][:limit]
    return [
        Workload("receipt photo (SROIE JPEG)", receipts, "extract"),
        Workload("receipt photo: bare pytesseract", receipts, "bare-tesseract"),
        Workload("receipt photo: RapidOCR engine alone", receipts, "bare-rapidocr"),
        Workload("A4 page, 300 dpi PNG", a4, "extract"),
        Workload("A4 page: bare pytesseract", a4, "bare-tesseract"),
        Workload("PDF with a text layer", text_pdfs, "extract"),
        Workload("e-invoice PDF (embedded XML)", xml_pdfs, "extract"),
        Workload("XML e-invoice file (UBL / CII)", xml_files, "extract"),
        Workload("20-page PDF, text layer", [_twenty_pages(scanned=False)] * 3, "extract"),
        Workload("20-page PDF, scanned (OCR)", [_twenty_pages(scanned=True)], "extract"),
    ]


def choice_overhead(cache: Path) -> dict:
    """Milliseconds the learned choice adds to parsing, per document, over cached readings
    (`<cache>/<dataset>/<file>.json`, as bench/ocr_cache.py writes them): rules alone vs rules + choice."""
    from extraction.choice import choose
    from extraction.choice.model import default_model
    from extraction.models import DocumentText
    from extraction.parsing import read_with_rules

    default_model()  # loaded once per worker, like in production
    rules_ms, choice_ms = [], []
    for path in sorted(cache.glob("*/*.json")):
        document = DocumentText.model_validate_json(path.read_text(encoding="utf-8"))
        started = time.perf_counter()
        reading = read_with_rules(document)
        middle = time.perf_counter()
        if reading is not None:
            choose(reading)
        rules_ms.append((middle - started) * 1000)
        choice_ms.append((time.perf_counter() - middle) * 1000)
    return {"documents": len(rules_ms), "rules_p50_ms": percentile(rules_ms, 50), "rules_p95_ms": percentile(rules_ms, 95),
            "choice_p50_ms": percentile(choice_ms, 50), "choice_p95_ms": percentile(choice_ms, 95)}


def main(
    limit: int = typer.Option(20, help="documents per row"),
    choice_cache: Path = typer.Option(None, help="also time the learned choice on cached readings (<dir>/<dataset>/*.json)"),
    engine: str = typer.Option("auto", help="OCR_ENGINE for the pipeline rows: auto, tesseract or rapidocr"),
    json_out: str = typer.Option(None, "--json", help="write the figures to this file"),
    only: list[str] = typer.Option(None, help="run only rows whose name contains this text"),
) -> None:
    rows, figures = [], []
    spawn = multiprocessing.get_context("spawn")
    for workload in workloads(limit):
        if only and not any(part in workload.name for part in only):
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as worker:
            measured = worker.submit(_measure, workload, engine).result()
        walls, cpus = measured["walls"], measured["cpus"]
        figure = {
            "format": workload.name,
            "documents": len(walls),
            "pages": measured["pages"],
            "p50_s": percentile(walls, 50),
            "p95_s": percentile(walls, 95),
            "cpu_p50_s": percentile(cpus, 50),
            "cpu_p95_s": percentile(cpus, 95),
            "peak_rss_mb": measured["peak_rss_mb"],
            "failures": measured["failures"],
        }
        figures.append(figure)
        rows.append([figure["format"], figure["documents"], figure["pages"], f"{figure['p50_s']:.3f}",
                     f"{figure['p95_s']:.3f}", f"{figure['cpu_p50_s']:.3f}", f"{figure['cpu_p95_s']:.3f}",
                     f"{figure['peak_rss_mb']:.0f}", len(figure["failures"])])
        print(figure["format"], {k: v for k, v in figure.items() if k != "format"}, flush=True)
    print_table(
        f"extract() per input kind (engine {engine}, one process, OMP_THREAD_LIMIT=1; seconds per document)",
        ["format", "docs", "pages", "p50 s", "p95 s", "cpu p50 s", "cpu p95 s", "peak RSS MB", "failed"],
        rows,
    )
    overhead = None
    if choice_cache is not None:
        overhead = choice_overhead(choice_cache)
        print_table(
            f"parsing per document on {overhead['documents']} cached readings: rules alone, and what the learned choice adds",
            ["rules p50 ms", "rules p95 ms", "choice p50 ms", "choice p95 ms"],
            [[f"{overhead['rules_p50_ms']:.1f}", f"{overhead['rules_p95_ms']:.1f}", f"{overhead['choice_p50_ms']:.1f}",
              f"{overhead['choice_p95_ms']:.1f}"]],
        )
    write_json(json_out, {"engine": engine, "rows": figures, "choice_overhead": overhead})


if __name__ == "__main__":
    typer.run(main)
