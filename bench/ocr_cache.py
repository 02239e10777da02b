"""Cache the reading stage over the labelled datasets, so parsers can be iterated without re-running OCR.

For every file of every dataset it stores `DocumentText.model_dump_json()` at
`<out>/<engine>/<dataset>/<file>.json` for engine in tesseract, rapidocr (every page OCR'd, PDFs
rendered at 300 dpi: the --ocr-only path), pdf_text (PDFs only: the pages that have a text layer)
and auto (what extract() reads by default with --ocr-only: the final text of its reading plan).
A `READY-<engine>-<dataset>` marker is written when a set is complete; timings go to `timings.jsonl`.
Already cached files are skipped, so an interrupted run resumes.

    OMP_THREAD_LIMIT=1 .venv/bin/python bench/ocr_cache.py [--datasets sroie ...] [--engines rapidocr ...]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from time import perf_counter

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402

from bench.common import DATASETS  # noqa: E402
from extraction.decode import decode  # noqa: E402
from extraction.models import DocumentText, ExtractionOptions, Timing  # noqa: E402
from extraction.ocr import get_engine  # noqa: E402
from extraction.pipeline import ocr_pages, read_and_parse, read_text_pages  # noqa: E402

# SROIE first (the parser work starts there), RapidOCR before Tesseract; the PDF sets after.
DEFAULT_PLAN = [
    ("sroie", "auto"),
    ("wildreceipt", "auto"),
    ("sroie", "rapidocr"),
    ("sroie", "tesseract"),
    ("invoice2data", "pdf_text"),
    ("zugferd-corpus", "pdf_text"),
    ("invoice2data", "tesseract"),
    ("zugferd-corpus", "tesseract"),
    ("invoice2data", "rapidocr"),
    ("zugferd-corpus", "rapidocr"),
    ("invoice2data", "auto"),
    ("zugferd-corpus", "auto"),
    ("wildreceipt", "rapidocr"),
    ("wildreceipt", "tesseract"),
]


def read_file(path: Path, engine: str, options: ExtractionOptions) -> tuple[DocumentText, Timing]:
    timing = Timing()
    decoded = decode(path.read_bytes(), None, options)
    try:
        if engine == "auto":
            document, _, _ = read_and_parse(decoded, options.model_copy(update={"ocr_only": True}), timing)
            return document, timing
        if engine == "pdf_text":
            pages = read_text_pages(decoded)
        else:
            numbers = list(range(1, decoded.page_count + 1))
            pages = ocr_pages(decoded, numbers, get_engine(engine, options.ocr_languages), options, timing)  # type: ignore[arg-type]
    finally:
        decoded.close()
    return DocumentText(pages=[pages[n] for n in sorted(pages)]), timing


def dataset_files(dataset: str) -> list[Path]:
    labels = DATASETS / dataset / "labels.jsonl"
    return [DATASETS / dataset / json.loads(line)["file"] for line in labels.read_text().splitlines() if line.strip()]


def main(
    out: Path = typer.Option(Path("/tmp/invoicer-ocr-cache"), help="cache root"),
    datasets: list[str] = typer.Option(None, help="only these datasets"),
    engines: list[str] = typer.Option(None, help="only these engines"),
    limit: int = typer.Option(0, help="at most this many files per dataset (0 = all)"),
) -> None:
    options = ExtractionOptions()
    timings_log = out / "timings.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    for dataset, engine in DEFAULT_PLAN:
        if (datasets and dataset not in datasets) or (engines and engine not in engines):
            continue
        files = dataset_files(dataset)
        if engine == "pdf_text":
            files = [f for f in files if f.suffix.lower() == ".pdf"]
        if limit:
            files = files[:limit]
        target = out / engine / dataset
        target.mkdir(parents=True, exist_ok=True)
        started = perf_counter()
        for path in files:
            destination = target / f"{path.name}.json"
            if destination.exists():
                continue
            document, timing = read_file(path, engine, options)
            temporary = destination.with_suffix(".tmp")
            temporary.write_text(document.model_dump_json())
            temporary.replace(destination)  # a reader never sees half a file
            with timings_log.open("a") as log:
                log.write(json.dumps({"engine": engine, "dataset": dataset, "file": path.name,
                                      "pages": len(document.pages), **timing.model_dump()}) + "\n")
            print(f"{engine:9} {dataset:15} {path.name:45} {timing.ocr_ms / 1000:6.2f}s", flush=True)
        if not limit:
            (out / f"READY-{engine}-{dataset}").write_text(f"{len(files)} files in {perf_counter() - started:.0f}s\n")
            print(f"READY {engine} {dataset}", flush=True)


if __name__ == "__main__":
    typer.run(main)
