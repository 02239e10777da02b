"""Accuracy of the extraction against a labelled set (`labels.jsonl`: one `{"file", "fields"}` per line).

How a value is judged (issue 5): exact match after normalisation (dates as ISO, amounts as decimals,
names and addresses case- and whitespace-insensitive, ids without spaces and a leading "#"); name and
address fields are also scored by token F1. Per field: how many documents carry the label, coverage
(a value was returned), accuracy, accuracy of the values returned with confidence >= 0.8, token F1.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from extraction.models import DocumentText, ExtractionOptions, InvoiceFields
from extraction.parsing import parse_fields
from extraction.pipeline import extract

CONFIDENT = 0.8

# Label names of the shared datasets -> our fields. Labels not listed (raw dates, profiles, ...) are not scored.
LABEL_TO_FIELD: dict[str, str] = {
    "invoice_number": "invoice_number",
    "invoice_date": "invoice_date",
    "due_date": "due_date",
    "vendor_name": "vendor_name",
    "vendor_address": "vendor_address",
    "vendor_vat_id": "vendor_tax_id",
    "buyer_name": "customer_name",
    "currency": "currency",
    "subtotal": "subtotal",
    "tax": "tax",
    "total": "total",
}
TEXT_FIELDS = frozenset({"vendor_name", "vendor_address", "customer_name"})
DATE_FIELDS = frozenset({"invoice_date", "due_date"})
MONEY_FIELDS = frozenset({"subtotal", "tax", "total"})
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".heic": "image/heic",
    ".xml": "application/xml",
}


# --- normalisation and matching ----------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def normalise(field_name: str, value: Any) -> str | None:
    """The canonical string two values of a field are compared by; None when it cannot be read."""
    if value is None:
        return None
    if field_name in MONEY_FIELDS:
        try:
            return str(Decimal(str(value)).quantize(Decimal("0.01")))
        except (InvalidOperation, ValueError):
            return None
    if field_name in DATE_FIELDS:
        if isinstance(value, date):
            return value.isoformat()
        return str(value).strip()[:10]
    text = re.sub(r"\s+", "", _fold(str(value)))
    if field_name == "invoice_number":
        return text.lstrip("#")
    if field_name == "vendor_tax_id":
        return re.sub(r"[.\-/]", "", text)
    return text


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", _fold(text))


def token_f1(predicted: str | None, expected: str) -> float:
    """Harmonic mean of token precision and recall (multiset overlap), 0 when nothing was predicted."""
    if not predicted:
        return 0.0
    got, want = tokens(predicted), tokens(expected)
    if not got or not want:
        return 0.0
    remaining = list(want)
    common = 0
    for token in got:
        if token in remaining:
            remaining.remove(token)
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


# --- one document's verdicts and the aggregate ----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    field: str
    expected: str
    predicted: str | None
    confidence: float | None
    correct: bool
    f1: float | None


def judge(fields: InvoiceFields, labels: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    for label_name, field_name in LABEL_TO_FIELD.items():
        if label_name not in labels or labels[label_name] in (None, ""):
            continue
        expected = str(labels[label_name])
        value = getattr(fields, field_name)
        predicted = None if value is None else value.value
        correct = predicted is not None and normalise(field_name, predicted) == normalise(field_name, expected)
        f1 = token_f1(None if predicted is None else str(predicted), expected) if field_name in TEXT_FIELDS else None
        verdicts.append(
            Verdict(
                field=field_name,
                expected=expected,
                predicted=None if predicted is None else str(predicted),
                confidence=None if value is None else value.confidence,
                correct=correct,
                f1=f1,
            )
        )
    return verdicts


@dataclass
class DocumentOutcome:
    file: str
    pages: int
    seconds: float
    verdicts: list[Verdict]
    error: str | None = None


@dataclass
class Report:
    outcomes: list[DocumentOutcome] = field(default_factory=list)

    def field_summary(self) -> dict[str, dict[str, float | int | None]]:
        by_field: dict[str, list[Verdict]] = {}
        for outcome in self.outcomes:
            for verdict in outcome.verdicts:
                by_field.setdefault(verdict.field, []).append(verdict)
        summary: dict[str, dict[str, float | int | None]] = {}
        for name in LABEL_TO_FIELD.values():
            verdicts = by_field.get(name)
            if not verdicts:
                continue
            confident = [v for v in verdicts if v.confidence is not None and v.confidence >= CONFIDENT]
            summary[name] = {
                "labelled": len(verdicts),
                "coverage": _ratio(sum(v.predicted is not None for v in verdicts), len(verdicts)),
                "accuracy": _ratio(sum(v.correct for v in verdicts), len(verdicts)),
                "accuracy_confident": _ratio(sum(v.correct for v in confident), len(confident)),
                "token_f1": round(statistics.fmean(v.f1 for v in verdicts), 4) if name in TEXT_FIELDS else None,
            }
        return summary

    def confident_counts(self) -> tuple[int, int]:
        """(right, returned) over every field's values with confidence >= 0.8: the calibration figure."""
        confident = [
            v for o in self.outcomes for v in o.verdicts if v.confidence is not None and v.confidence >= CONFIDENT
        ]
        return sum(v.correct for v in confident), len(confident)

    def seconds_per_page(self) -> dict[str, float | None]:
        per_page = sorted(o.seconds / o.pages for o in self.outcomes if o.pages > 0 and o.error is None)
        if not per_page:
            return {"p50": None, "p95": None}
        return {"p50": round(_percentile(per_page, 50), 4), "p95": round(_percentile(per_page, 95), 4)}

    def to_json(self) -> dict[str, Any]:
        """The contract issue 5 fixes; keep it stable."""
        fields = {}
        for name, figures in self.field_summary().items():
            fields[name] = {key: value for key, value in figures.items() if key != "token_f1" or name in TEXT_FIELDS}
        return {
            "documents": len(self.outcomes),
            "pages": sum(o.pages for o in self.outcomes),
            "fields": fields,
            "seconds_per_page": self.seconds_per_page(),
        }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(sorted_values: list[float], percent: float) -> float:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = (len(sorted_values) - 1) * percent / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# --- running a labelled set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledDocument:
    path: Path
    fields: dict[str, Any]


def load_labels(directory: Path, *, limit: int | None = None) -> list[LabelledDocument]:
    """The documents of a set, in `labels.jsonl` order; raises ValueError on a malformed set."""
    labels_path = directory / "labels.jsonl"
    if not labels_path.is_file():
        raise ValueError(f"{directory} has no labels.jsonl")
    documents = []
    with labels_path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                documents.append(LabelledDocument(directory / record["file"], dict(record.get("fields") or {})))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{labels_path}:{number}: not a {{'file', 'fields'}} object ({exc})") from exc
    return documents[:limit] if limit is not None else documents


def _extract_one(path: Path, options: ExtractionOptions, text_cache: Path | None) -> tuple[InvoiceFields, int, float, str | None]:
    """Fields, pages, seconds and an error message for one document (runs in a worker process)."""
    started = time.perf_counter()
    try:
        if text_cache is not None:
            doc = DocumentText.model_validate_json((text_cache / f"{path.name}.json").read_text(encoding="utf-8"))
            return parse_fields(doc), len(doc.pages), time.perf_counter() - started, None
        data = path.read_bytes()
    except (OSError, ValueError) as exc:  # a listed file that is missing or a broken cache entry
        return InvoiceFields(), 0, time.perf_counter() - started, f"cannot read: {exc}"
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    result = extract(data, content_type, options=options)
    error = None if result.ok else f"{result.error.code}: {result.error.message}" if result.error else "failed"
    return result.fields, result.pages, time.perf_counter() - started, error


def _extract_one_as_json(path: Path, options: ExtractionOptions, text_cache: Path | None) -> tuple[str, int, float, str | None]:
    """`_extract_one` for a worker process: pydantic's generic models do not pickle, JSON does."""
    fields, pages, seconds, error = _extract_one(path, options, text_cache)
    return fields.model_dump_json(), pages, seconds, error


def _init_worker() -> None:
    # One OCR thread per worker process, so N workers use N cores and not N x cores.
    os.environ["OMP_THREAD_LIMIT"] = "1"


def evaluate(
    documents: list[LabelledDocument],
    options: ExtractionOptions,
    *,
    workers: int = 1,
    text_cache: Path | None = None,
    on_done: Callable[[DocumentOutcome], None] | None = None,
) -> Report:
    """Extract every document (in `workers` processes) and judge it against its labels.

    With `text_cache`, documents are not read: the DocumentText JSON saved for each file
    (`<text_cache>/<file>.json`) goes straight to the parser, so parser changes can be scored in seconds.
    """
    report = Report()
    for document, (fields, pages, seconds, error) in zip(
        documents, _run(documents, options, workers, text_cache), strict=True
    ):
        outcome = DocumentOutcome(document.path.name, pages, seconds, judge(fields, document.fields), error)
        report.outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return report


def _run(
    documents: list[LabelledDocument], options: ExtractionOptions, workers: int, text_cache: Path | None
) -> Iterator[tuple[InvoiceFields, int, float, str | None]]:
    if workers <= 1:
        for document in documents:
            yield _extract_one(document.path, options, text_cache)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        futures = [pool.submit(_extract_one_as_json, d.path, options, text_cache) for d in documents]
        for future in futures:
            fields, pages, seconds, error = future.result()
            yield InvoiceFields.model_validate_json(fields), pages, seconds, error
