"""`invoicer extract FILE…` (read invoices, print their fields) and `invoicer eval DIR` (accuracy on a labelled set)."""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from core.config import Settings, get_settings
from core.extraction_settings import extraction_option_values
from extraction import extract as run_extraction
from extraction.evaluation import CONFIDENT, DocumentOutcome, Report, evaluate, evaluate_cross_validated, load_labels
from extraction.models import FIELD_NAMES, ExtractionOptions, ExtractionResult

console = Console()
Engine = Literal["auto", "tesseract", "rapidocr"]


def _options(settings: Settings, *, engine: str | None, llm: bool, ocr_only: bool = False, text: bool = True) -> ExtractionOptions:
    """The watcher's options (same settings, same limits), with this command's choices on top."""
    if llm and not (settings.llm_base_url and settings.llm_model):
        console.print("[red]--llm needs LLM_BASE_URL and LLM_MODEL (and LLM_API_KEY if the server wants one).[/red]")
        raise typer.Exit(2)
    return ExtractionOptions(**extraction_option_values(settings)).model_copy(
        update={"ocr_engine": engine or settings.ocr_engine, "ocr_only": ocr_only, "use_llm": llm, "include_text": text}
    )


def _where(page: int | None, bbox: tuple[float, float, float, float] | None) -> str:
    if page is None:
        return ""
    return f"p{page}" + (f" ({bbox[0]:.0f},{bbox[1]:.0f})" if bbox else "")


def _print_result(path: Path, result: ExtractionResult) -> None:
    if not result.ok:
        assert result.error is not None
        console.print(f"[bold]{path}[/bold]: [red]{result.error.code.value}[/red] — {result.error.message}")
        return
    title = f"{path} — {result.pages} page(s), read by {result.method}"
    if result.ocr_engine:
        title += f" ({result.ocr_engine})"
    table = Table(title=title, title_justify="left")
    for column in ("field", "value", "confidence", "source", "where"):
        table.add_column(column, justify="right" if column == "confidence" else "left")
    for name in FIELD_NAMES:
        value = getattr(result.fields, name)
        if value is None:
            table.add_row(name, "[dim]—[/dim]", "", "", "")
            continue
        style = "green" if value.confidence >= CONFIDENT else "yellow" if value.confidence >= 0.5 else "red"
        table.add_row(
            name, str(value.value), f"[{style}]{value.confidence:.2f}[/{style}]", value.source, _where(value.page, value.bbox)
        )
    console.print(table)
    for item in result.fields.line_items:
        console.print(f"  • {item.description or '?'}  qty {item.quantity or '-'}  × {item.unit_price or '-'}  = {item.amount or '-'}")
    for warning in result.warnings:
        console.print(f"  [yellow]⚠ {warning}[/yellow]")
    console.print(f"  [dim]{result.timing.total_ms:.0f} ms[/dim]")


def extract(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="Invoice files: PDF, JPEG, PNG, TIFF, WebP, BMP, HEIC, XML e-invoices (UBL, CII).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the ExtractionResult as JSON (an array for several files).")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Cross-check with the LLM configured by LLM_BASE_URL / LLM_MODEL.")] = False,
    engine: Annotated[Engine | None, typer.Option(help="OCR engine (default OCR_ENGINE, else auto).")] = None,
) -> None:
    """Read invoices and print their fields with confidences (nothing is stored)."""
    options = _options(get_settings(), engine=engine, llm=llm)
    results = []
    for path in files:
        content_type = mimetypes.guess_type(path.name)[0]
        result = run_extraction(path.read_bytes(), content_type, options=options)
        results.append(result)
        if not as_json:
            _print_result(path, result)
    if as_json:
        dumped = [json.loads(result.model_dump_json()) for result in results]
        typer.echo(json.dumps(dumped[0] if len(dumped) == 1 else dumped, indent=2, ensure_ascii=False))
    if not all(result.ok for result in results):
        raise typer.Exit(1)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _print_report(directory: Path, report: Report, *, misses: bool = False) -> None:
    if misses:
        _print_misses(report)
    table = Table(title=f"{directory} — {len(report.outcomes)} documents", title_justify="left")
    for column in ("field", "labelled", "coverage", "accuracy", f"accuracy (conf ≥ {CONFIDENT})", "F1"):
        table.add_column(column, justify="left" if column == "field" else "right")
    summary = report.field_summary()
    for name, figures in summary.items():
        f1 = figures["token_f1"]
        table.add_row(
            name,
            str(figures["labelled"]),
            _percent(figures["coverage"]),  # type: ignore[arg-type]
            _percent(figures["accuracy"]),  # type: ignore[arg-type]
            _percent(figures["accuracy_confident"]),  # type: ignore[arg-type]
            "" if f1 is None else f"{f1:.3f}",
        )
    console.print(table)
    squashed = report.squashed_labels()
    if any(summary[name]["token_f1"] is not None for name in summary):
        console.print("F1: token F1 of names and addresses" + "".join(
            f"; {name}: {count} of {summary[name]['labelled']} labels have no whitespace, scored by character-bigram "
            "F1 without whitespace" for name, count in squashed.items()
        ))
    swapped = summary.get("invoice_date", {}).get("swapped_day_month")
    if swapped:
        console.print(f"invoice_date: {swapped} wrong only by the day/month order the label guessed (invoice_date_ambiguous)")
    _print_calibration(report)
    items = report.line_item_summary()
    if items is not None:
        console.print(
            f"line items: {items['documents']} documents label them · rows labelled {items['labelled_rows']}, "
            f"predicted {items['predicted_rows']}, matched {items['matched_rows']} · precision {_percent(items['precision'])} "
            f"recall {_percent(items['recall'])} · F1 {items['f1']:.3f}"
        )
        for name, label in (("quantities", "quantity"), ("unit_prices", "unit price")):
            if items[f"{name}_labelled"]:
                console.print(f"  of the matched rows whose label gives a {label}: {items[f'{name}_right']} of "
                              f"{items[f'{name}_labelled']} read exactly")
    right, returned = report.confident_counts()
    speed = report.seconds_per_page()
    console.print(
        f"pages {sum(o.pages for o in report.outcomes)} · seconds per page p50 {speed['p50']} p95 {speed['p95']} · "
        f"values with confidence ≥ {CONFIDENT}: {right}/{returned} right ({_percent(right / returned if returned else None)})"
    )
    for outcome in report.outcomes:
        if outcome.error:
            console.print(f"  [red]{outcome.file}: {outcome.error}[/red]")


def _print_misses(report: Report) -> None:
    """Every labelled value not matched: what was expected, what came out and how sure it was, most
    confident first (a confident wrong value is the costliest kind)."""
    rows = [(o.file, v) for o in report.outcomes for v in o.verdicts if not v.correct]
    if not rows:
        return
    rows.sort(key=lambda row: (-(row[1].confidence or 0.0), row[1].field, row[0]))
    table = Table(title=f"misses ({len(rows)}), most confident first", title_justify="left")
    for column in ("file", "field", "expected", "predicted", "confidence"):
        table.add_column(column, justify="right" if column == "confidence" else "left", overflow="fold")
    for file, verdict in rows:
        note = " (day/month guessed by the label)" if verdict.swapped else ""
        table.add_row(file, verdict.field, verdict.expected, (verdict.predicted or "[dim]—[/dim]") + note,
                      "" if verdict.confidence is None else f"{verdict.confidence:.2f}")
    console.print(table)


def _print_calibration(report: Report) -> None:
    """Reliability: per field and confidence bin, how many values and how many of them were right."""
    reliability = report.reliability()
    if not reliability:
        return
    bins = [f"{i / 10:.1f}" for i in range(10)]
    table = Table(title="reliability: values per confidence bin (count / accuracy)", title_justify="left")
    table.add_column("field")
    for low in bins:
        table.add_column(f"≥{low}", justify="right")
    table.add_column("ECE", justify="right")
    table.add_column("chance ECE", justify="right")
    table.add_column("conf − acc", justify="right")
    for name, figures in reliability.items():
        cells = {row["bin"][:3]: f"{row['count']} / {100 * row['accuracy']:.0f}%" for row in figures["bins"]}
        median, high = chance_ece(figures["bins"])
        table.add_row(name, *(cells.get(low, "") for low in bins), f"{figures['ece']:.3f}", f"{median:.3f}–{high:.3f}",
                      f"{overall_gap(figures['bins']):+.3f}")
    console.print(table)
    console.print("chance ECE: the median and 90th percentile of the ECE that perfectly calibrated confidences would "
                  "show on this many values (a gap below it is not evidence of miscalibration); conf − acc: mean "
                  "confidence minus accuracy over all values (> 0: over-confident)")


def chance_ece(bins: list[dict[str, float]], draws: int = 400) -> tuple[float, float]:
    """The ECE of a perfectly calibrated field with these bins' counts and mean confidences (each bin's count
    of right values drawn as binomial at its confidence): its median and 90th percentile. On a few dozen
    values with mid-range confidences it is far from zero, so an observed ECE is read against it. Seeded:
    the same table prints the same figures."""
    import numpy as np

    counts = np.array([row["count"] for row in bins], dtype=int)
    confidences = np.array([row["confidence"] for row in bins], dtype=float)
    if counts.sum() == 0:
        return 0.0, 0.0
    right = np.random.default_rng(0).binomial(counts, confidences, size=(draws, len(counts)))
    gaps = np.abs(right - counts * confidences).sum(axis=1) / counts.sum()
    return float(np.median(gaps)), float(np.percentile(gaps, 90))


def overall_gap(bins: list[dict[str, float]]) -> float:
    """Mean confidence minus accuracy over all values of the bins (positive: over-confident overall)."""
    total = sum(row["count"] for row in bins)
    if not total:
        return 0.0
    return sum(row["count"] * (row["confidence"] - row["accuracy"]) for row in bins) / total


def _write_json(path: Path, data: dict[str, object]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def eval_command(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A labelled set: files plus labels.jsonl.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON to this file.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N documents.")] = None,
    ocr_only: Annotated[bool, typer.Option("--ocr-only", help="Ignore embedded XML and PDF text layers: OCR every page.")] = False,
    engine: Annotated[Engine | None, typer.Option(help="OCR engine (default OCR_ENGINE, else auto).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Documents read in parallel (one process each).")] = 1,
    text_cache: Annotated[Path | None, typer.Option(
        file_okay=False, help="Score the parser alone on saved DocumentText JSON (<dir>/<file>.json) instead of reading.",
    )] = None,
    cv: Annotated[int | None, typer.Option(
        "--cv", min=2, help="Grouped K-fold (by vendor): out-of-fold figures of the trained choice. Needs --text-cache "
        "laid out as bench/ocr_cache.py writes it (<root>/<engine>/<dataset>); the other dev sets' caches there train too.",
    )] = None,
    misses: Annotated[bool, typer.Option("--misses", help="Also list every labelled value not matched, most confident first.")] = False,
) -> None:
    """Measure extraction accuracy on a labelled set and print per-field figures (exact match after
    normalisation, coverage, accuracy of confident values, token F1, seconds per page)."""
    try:
        documents = load_labels(directory, limit=limit)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if cv is not None:
        if text_cache is None:
            if all(d.path.suffix.lower() == ".xml" for d in documents):
                console.print("[dim]XML e-invoices are read exactly: no trained part to cross-validate.[/dim]")
            else:
                console.print("[red]--cv needs --text-cache (build it with bench/ocr_cache.py).[/red]")
                raise typer.Exit(2)
        else:
            with console.status(f"training {cv} fold models"):
                report = evaluate_cross_validated(directory, text_cache, cv, limit=limit)
            console.print(f"[bold]cross-validated ({cv} folds, grouped by vendor): out-of-fold figures[/bold]")
            _print_report(directory, report, misses=misses)
            if json_out is not None:
                _write_json(json_out, report.to_json())
                console.print(f"figures written to {json_out}")
            return
    options = _options(get_settings(), engine=engine, llm=False, ocr_only=ocr_only, text=False)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
        TextColumn("{task.fields[file]}"), console=console, transient=True,
    )
    with progress:
        task = progress.add_task("extracting", total=len(documents), file="")

        def done(outcome: DocumentOutcome) -> None:
            progress.update(task, advance=1, file=outcome.file)

        report = evaluate(documents, options, workers=workers, text_cache=text_cache, on_done=done)
    _print_report(directory, report, misses=misses)
    if json_out is not None:
        _write_json(json_out, report.to_json())
        console.print(f"figures written to {json_out}")


def train_command(
    cache: Annotated[Path, typer.Option(file_okay=False, help="OCR cache root written by bench/ocr_cache.py (<root>/<engine>/<dataset>).")] = Path("/tmp/invoicer-ocr-cache"),
    datasets: Annotated[Path | None, typer.Option(file_okay=False, help="The labelled dev sets (default: ../shared/datasets beside the repository).")] = None,
    folds: Annotated[int, typer.Option(min=2, help="Folds of the cross-validation printed before saving.")] = 5,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="Where to write the model (default: the one extract() loads).")] = None,
) -> None:
    """Rebuild the trained field choice from the dev sets' labels; prints its cross-validated figures."""
    from extraction.choice import choose
    from extraction.choice.model import MODEL_PATH
    from extraction.choice.training import LEARNED_FIELDS, cross_validated_models, train, training_corpus
    from extraction.evaluation import judge

    datasets = datasets or Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
    with console.status("reading the cached documents"):
        corpus = training_corpus(datasets, cache)
    if not corpus:
        console.print(f"[red]No cached readings under {cache}: run bench/ocr_cache.py first.[/red]")
        raise typer.Exit(2)
    with console.status(f"cross-validating ({folds} folds, grouped by vendor)"):
        models = cross_validated_models(corpus, [], folds)
    kinds = sorted({(item.dataset, item.engine) for item in corpus})
    table = Table(title=f"{len(corpus)} readings · accuracy: rules alone → trained choice, out of fold (ECE)", title_justify="left")
    table.add_column("set / reading")
    for name in LEARNED_FIELDS:
        table.add_column(name, justify="right")
    for kind in kinds:
        members = [(index, item) for index, item in enumerate(corpus) if (item.dataset, item.engine) == kind]
        rules, learned = Report(), Report()
        for index, item in members:
            rules.outcomes.append(DocumentOutcome(item.file, 1, 0.0, judge(item.reading.fields, item.labels)))
            learned.outcomes.append(DocumentOutcome(item.file, 1, 0.0, judge(choose(item.reading, models[index]), item.labels)))
        before, after, calibration = rules.field_summary(), learned.field_summary(), learned.reliability()
        cells = []
        for name in LEARNED_FIELDS:
            if name not in after:
                cells.append("")
                continue
            ece = calibration.get(name, {}).get("ece")
            cells.append(f"{_percent(before[name]['accuracy'])} → {_percent(after[name]['accuracy'])}"  # type: ignore[arg-type]
                         + (f" ({ece:.2f})" if ece is not None else ""))
        table.add_row(f"{kind[0]} / {kind[1]} ({len(members)})", *cells)
    console.print(table)
    with console.status("training on everything"):
        model = train(corpus, {"readings": len(corpus), "sets": [f"{d}/{e}" for d, e in kinds]})
    model.save(out or MODEL_PATH)
    console.print(f"model written to {out or MODEL_PATH}")


def register(app: typer.Typer) -> None:
    app.command()(extract)
    app.command("eval")(eval_command)
    app.command("train")(train_command)
