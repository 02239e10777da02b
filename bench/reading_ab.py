"""A/B of the reading stage: preprocessing steps on/off, OCR engines, tuned RapidOCR and `auto` plans.

Every variant reads the same documents (OCR only: text layers and embedded XML are ignored), parses
them with the current rule-based parser and is scored against the labels, so a step is kept only
if it helps the fields, not just the look of the text. Time is preprocessing + OCR + parsing per
document, as CPU seconds of this process and its Tesseract subprocesses (bench/cpu.py: on a shared
machine wall time measures the neighbours; with one OCR thread CPU time equals idle wall time).

    OMP_THREAD_LIMIT=1 .venv/bin/python bench/reading_ab.py --dataset sroie --limit 40 \\
        --variant tesseract --variant tesseract-crop ... [--json OUT]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import DATASETS  # noqa: E402
from bench.cpu import cpu_seconds  # noqa: E402
from extraction.decode import decode  # noqa: E402
from extraction.evaluation import judge, load_labels  # noqa: E402
from extraction.models import ExtractionOptions, Timing  # noqa: E402
from extraction.ocr import get_engine  # noqa: E402
from extraction.ocr.rapidocr import STOCK, RapidOcrEngine  # noqa: E402
from extraction.pipeline import ReadingPlan, plan_for, read_and_parse  # noqa: E402
from extraction.preprocess import DEFAULT_STEPS, Steps  # noqa: E402

SCORED = ("total", "invoice_date", "vendor_name", "invoice_number")
NO_STEPS = Steps(crop=False, scale=False, orientation=False, deskew=False, denoise=False, threshold=False)


def _tesseract(steps: Steps = DEFAULT_STEPS) -> Callable[[], ReadingPlan]:
    return lambda: ReadingPlan(get_engine("tesseract"), steps=steps)


def _rapidocr(steps: Steps = DEFAULT_STEPS, **overrides: object) -> Callable[[], ReadingPlan]:
    return lambda: ReadingPlan(RapidOcrEngine(**overrides), steps=steps)


def _tesseract_then_rapidocr(steps: Steps = DEFAULT_STEPS, **overrides: object) -> Callable[[], ReadingPlan]:
    """Tesseract everywhere, a full RapidOCR reading when the fields need a second opinion."""
    return lambda: ReadingPlan(get_engine("tesseract"), second=RapidOcrEngine(**overrides), steps=steps)


def _by_shape() -> Callable[[], ReadingPlan]:
    """Receipt-shaped pages to RapidOCR, pages of documents to Tesseract (no second opinion)."""
    return lambda: ReadingPlan(get_engine("tesseract"), narrow=RapidOcrEngine())


VARIANTS: dict[str, Callable[[], ReadingPlan]] = {
    # preprocessing, one step at a time, on the fast engine
    "tesseract-raw": _tesseract(NO_STEPS),
    "tesseract": _tesseract(),
    "tesseract-crop": _tesseract(replace(DEFAULT_STEPS, crop=False)),
    "tesseract-scale": _tesseract(replace(DEFAULT_STEPS, scale=False)),
    "tesseract-orientation": _tesseract(replace(DEFAULT_STEPS, orientation=False)),
    "tesseract-deskew": _tesseract(replace(DEFAULT_STEPS, deskew=False)),
    "tesseract+denoise": _tesseract(replace(DEFAULT_STEPS, denoise=True)),
    "tesseract+threshold": _tesseract(replace(DEFAULT_STEPS, threshold=True)),
    # the slow engine, and cheaper settings of it
    "rapidocr-stock": _rapidocr(**STOCK),  # the library's defaults
    "rapidocr-stock-raw": _rapidocr(NO_STEPS, **STOCK),
    "rapidocr-stock+det960": _rapidocr(**{**STOCK, "Det.limit_side_len": 960, "Det.limit_type": "max"}),
    "rapidocr-stock+nocls": _rapidocr(**{**STOCK, "Global.use_cls": False}),
    "rapidocr-stock+rec96": _rapidocr(**{**STOCK, "Rec.rec_img_shape": [3, 48, 96]}),
    "rapidocr-batch6": _rapidocr(**{"Rec.rec_batch_num": 6}),  # tuned, but batches of 6 lines
    "rapidocr-det736": _rapidocr(**{"Det.limit_side_len": 736}),  # tuned, detection on 736 px
    "rapidocr": _rapidocr(),  # TUNED (extraction/ocr/rapidocr.py)
    "rapidocr-raw": _rapidocr(NO_STEPS),
    "rapidocr-crop": _rapidocr(replace(DEFAULT_STEPS, crop=False)),
    "rapidocr-scale": _rapidocr(replace(DEFAULT_STEPS, scale=False)),
    "rapidocr-deskew": _rapidocr(replace(DEFAULT_STEPS, deskew=False)),
    "rapidocr+denoise": _rapidocr(replace(DEFAULT_STEPS, denoise=True)),
    "rapidocr+threshold": _rapidocr(replace(DEFAULT_STEPS, threshold=True)),
    # the combination: Tesseract first, RapidOCR only when the fields do not hold up
    "tesseract+rapidocr-on-doubt": _tesseract_then_rapidocr(),
    # by page shape: receipts to RapidOCR, documents to Tesseract
    "shape": _by_shape(),
    # what extract() does by default (OCR_ENGINE=auto): shape + RapidOCR on second opinion
    "auto": lambda: plan_for(ExtractionOptions()),
    "auto-det736": lambda: ReadingPlan(
        get_engine("tesseract"),
        narrow=(small := RapidOcrEngine(**{"Det.limit_side_len": 736})),
        second=small,
    ),
}


def run_variant(name: str, dataset: str, limit: int | None) -> dict:
    plan = VARIANTS[name]()
    options = ExtractionOptions(ocr_only=True)
    documents = load_labels(DATASETS / dataset, limit=limit)
    right = {field: 0 for field in SCORED}
    labelled = {field: 0 for field in SCORED}
    seconds: list[float] = []
    second_opinions = 0
    for document in track(documents, description=f"{name:24}", transient=True):
        timing = Timing()
        started = cpu_seconds()
        decoded = decode(document.path.read_bytes(), None, options)
        try:
            _, fields, engines = read_and_parse(decoded, options, timing, plan)
        finally:
            decoded.close()
        second_opinions += len(engines) > 1
        seconds.append(cpu_seconds() - started)
        for verdict in judge(fields, document.fields):
            if verdict.field in right:
                labelled[verdict.field] += 1
                right[verdict.field] += verdict.correct
    seconds.sort()
    return {
        "variant": name,
        "dataset": dataset,
        "documents": len(documents),
        "accuracy": {f: round(right[f] / labelled[f], 3) for f in SCORED if labelled[f]},
        "seconds": {
            "p50": round(statistics.median(seconds), 2),
            "p95": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 2),
            "mean": round(statistics.fmean(seconds), 2),
        },
        "second_opinion_share": round(second_opinions / len(documents), 3),
    }


def main(
    dataset: str = typer.Option("sroie"),
    variant: list[str] = typer.Option(None, help=f"variants to run (default: all): {', '.join(VARIANTS)}"),
    limit: int = typer.Option(None, help="first N documents of the set"),
    json_out: Path = typer.Option(None, "--json", help="append the rows to this JSON-lines file"),
) -> None:
    console = Console(width=150)
    rows = []
    for name in variant or list(VARIANTS):
        if name not in VARIANTS:
            raise typer.BadParameter(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
        row = run_variant(name, dataset, limit)
        rows.append(row)
        console.print(json.dumps(row))
        if json_out:
            with json_out.open("a") as out:
                out.write(json.dumps(row) + "\n")
    print_table(console, rows)


def print_table(console: Console, rows: list[dict]) -> None:
    table = Table(title="Reading A/B (OCR only; accuracy with the current rule-based parser)")
    for column in ("variant", "set", "docs", *SCORED, "p50 cpu s", "p95 cpu s", "mean cpu s", "2nd opinion"):
        table.add_column(column, justify="left" if column in ("variant", "set") else "right")
    for row in rows:
        accuracy = [f"{row['accuracy'][f]:.0%}" if f in row["accuracy"] else "-" for f in SCORED]
        seconds = row["seconds"]
        table.add_row(
            row["variant"], row["dataset"], str(row["documents"]), *accuracy,
            f"{seconds['p50']:.2f}", f"{seconds['p95']:.2f}", f"{seconds['mean']:.2f}",
            f"{row['second_opinion_share']:.0%}",
        )
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
