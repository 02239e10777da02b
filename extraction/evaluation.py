"""Accuracy of the extraction against a labelled set (`labels.jsonl`: one `{"file", "fields"}` per line).

How a value is judged (issue 5): exact match after normalisation (dates as ISO, amounts as decimals,
names and addresses case- and whitespace-insensitive, ids without spaces and a leading "#"); name and
address fields are also scored by token F1, or by character-bigram F1 without whitespace where the label
has none (`text_f1`). Per field: how many documents carry the label, coverage
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
FIELD_TO_LABEL = {field_name: label_name for label_name, field_name in LABEL_TO_FIELD.items()}
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
    swapped: bool = False  # wrong only by the day/month order the label itself guessed


def judge(fields: InvoiceFields, labels: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    for label_name, field_name in LABEL_TO_FIELD.items():
        if label_name not in labels or labels[label_name] in (None, ""):
            continue
        expected = str(labels[label_name])
        value = getattr(fields, field_name)
        predicted = None if value is None else value.value
        correct = predicted is not None and normalise(field_name, predicted) == normalise(field_name, expected)
        f1 = text_f1(None if predicted is None else str(predicted), expected) if field_name in TEXT_FIELDS else None
        swapped = (
            not correct and field_name == "invoice_date" and bool(labels.get("invoice_date_ambiguous"))
            and isinstance(predicted, date) and _swapped(predicted) == normalise(field_name, expected)
        )
        verdicts.append(
            Verdict(
                field=field_name,
                expected=expected,
                predicted=None if predicted is None else str(predicted),
                confidence=None if value is None else value.confidence,
                correct=correct,
                f1=f1,
                swapped=swapped,
            )
        )
    return verdicts


def _swapped(value: date) -> str | None:
    try:
        return date(value.year, value.day, value.month).isoformat()
    except ValueError:
        return None


# --- line items: F1 over matched rows (amount equal, description alike) -------------------------


def _labelled_rows(labels: dict[str, Any]) -> list[dict[str, str | None]]:
    """The rows a set labels, normalised: description and amount, and the quantity and unit price where given
    (WildReceipt's `line_items`: `description`, `quantity`, `amount`; invoice2data's `lines`: `name`, `qty`,
    `price_unit`, `price_subtotal`)."""
    rows: list[dict[str, str | None]] = []
    for raw in labels.get("line_items") or labels.get("lines") or []:
        if not isinstance(raw, dict):
            continue
        description = raw.get("description") or raw.get("name")
        amount = raw.get("amount", raw.get("price_subtotal", raw.get("price_unit")))
        money = normalise("total", amount)
        if description and money is not None:
            rows.append({"description": str(description), "amount": money,
                         "quantity": _number(raw.get("quantity", raw.get("qty"))),
                         "unit_price": normalise("total", raw.get("price_unit")) if "price_subtotal" in raw else None})
    return rows


def _number(value: Any) -> str | None:
    try:
        return None if value in (None, "") else str(Decimal(str(value)).normalize())
    except (InvalidOperation, ValueError):
        return None


def _matching_keys(rows: list[dict[str, str | None]]) -> list[tuple[str, str]]:
    """What a predicted item is matched by: (description, amount)."""
    return [(str(row["description"]), str(row["amount"])) for row in rows]


def labelled_line_items(labels: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(description, amount) rows a set labels, or None when it labels none."""
    return _matching_keys(_labelled_rows(labels)) or None


def _squashed_f1(predicted: str, expected: str) -> float:
    """Character-bigram F1 of the two texts without whitespace (for transcriptions that have none)."""
    def bigrams(text: str) -> list[str]:
        squashed = re.sub(r"\s+", "", _fold(text))
        return [squashed[i : i + 2] for i in range(max(1, len(squashed) - 1))]

    got, want = bigrams(predicted), bigrams(expected)
    remaining = list(want)
    common = 0
    for gram in got:
        if gram in remaining:
            remaining.remove(gram)
            common += 1
    return 0.0 if common == 0 else 2 * common / (len(got) + len(want))


def squashed_label(expected: str) -> bool:
    """A label written without whitespace (WildReceipt transcribes "PaneraBread"), so its words cannot be
    told apart and are compared as text instead."""
    return not re.search(r"\s", expected.strip())


def text_f1(predicted: str | None, expected: str) -> float:
    """How alike a predicted text is to its label: token F1, or, where the label has no whitespace, the
    character-bigram F1 of both texts without it; 0 when nothing was predicted."""
    if not predicted:
        return 0.0
    return _squashed_f1(predicted, expected) if squashed_label(expected) else token_f1(predicted, expected)


def description_match(predicted: str | None, expected: str) -> bool:
    """Text F1 (`text_f1`) >= 0.5."""
    return text_f1(predicted, expected) >= 0.5


def _matched_pairs(items: list[Any], expected: list[tuple[str, str]]) -> list[tuple[int, Any]]:
    """(labelled row index, the predicted item matching it): amount equal, description alike, each
    predicted item used once."""
    unused = [item for item in items if item.amount is not None]
    pairs = []
    for row, (description, amount) in enumerate(expected):
        for index, item in enumerate(unused):
            if normalise("total", item.amount) == amount and description_match(item.description, description):
                pairs.append((row, item))
                del unused[index]
                break
    return pairs


def match_line_items(items: list[Any], expected: list[tuple[str, str]]) -> int:
    """How many labelled rows a predicted item matches (each predicted item used once)."""
    return len(_matched_pairs(items, expected))


@dataclass(frozen=True)
class LineItemVerdict:
    predicted: int
    expected: int
    matched: int
    # Of the matched rows whose label gives a quantity (a unit price): how many, and how many were read so.
    quantities: int = 0
    quantities_right: int = 0
    unit_prices: int = 0
    unit_prices_right: int = 0


def judge_line_items(fields: InvoiceFields, labels: dict[str, Any]) -> LineItemVerdict | None:
    rows = _labelled_rows(labels)
    if not rows:
        return None
    expected = _matching_keys(rows)
    predicted = [item for item in fields.line_items if item.amount is not None]
    pairs = _matched_pairs(predicted, expected)
    quantities = [(rows[row]["quantity"], _number(item.quantity)) for row, item in pairs if rows[row]["quantity"]]
    prices = [(rows[row]["unit_price"], normalise("total", item.unit_price)) for row, item in pairs if rows[row]["unit_price"]]
    return LineItemVerdict(
        len(predicted), len(expected), len(pairs),
        len(quantities), sum(want == got for want, got in quantities), len(prices), sum(want == got for want, got in prices),
    )


@dataclass
class DocumentOutcome:
    file: str
    pages: int
    seconds: float
    verdicts: list[Verdict]
    error: str | None = None
    line_items: LineItemVerdict | None = None


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
            if name == "invoice_date":
                summary[name]["swapped_day_month"] = sum(v.swapped for v in verdicts)
        return summary

    def squashed_labels(self) -> dict[str, int]:
        """Per text field, how many labels have no whitespace (their F1 is `text_f1`'s character-bigram F1)."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            for verdict in outcome.verdicts:
                if verdict.field in TEXT_FIELDS and squashed_label(verdict.expected):
                    counts[verdict.field] = counts.get(verdict.field, 0) + 1
        return counts

    def reliability(self, bins: int = 10) -> dict[str, dict[str, Any]]:
        """Per field, over the values returned: confidence bins (count, mean confidence, accuracy) and the
        expected calibration error (the count-weighted gap between confidence and accuracy)."""
        by_field: dict[str, list[Verdict]] = {}
        for outcome in self.outcomes:
            for verdict in outcome.verdicts:
                if verdict.confidence is not None:
                    by_field.setdefault(verdict.field, []).append(verdict)
        table: dict[str, dict[str, Any]] = {}
        for name in LABEL_TO_FIELD.values():
            verdicts = by_field.get(name)
            if not verdicts:
                continue
            rows, gap = [], 0.0
            for index in range(bins):
                low, high = index / bins, (index + 1) / bins
                members = [
                    v for v in verdicts
                    if low <= v.confidence < high or (index == bins - 1 and v.confidence == 1.0)  # type: ignore[operator]
                ]
                if not members:
                    continue
                confidence = statistics.fmean(v.confidence for v in members)  # type: ignore[misc]
                accuracy = sum(v.correct for v in members) / len(members)
                gap += len(members) * abs(confidence - accuracy)
                rows.append({"bin": f"{low:.1f}-{high:.1f}", "count": len(members),
                             "confidence": round(confidence, 4), "accuracy": round(accuracy, 4)})
            table[name] = {"bins": rows, "ece": round(gap / len(verdicts), 4), "returned": len(verdicts)}
        return table

    def line_item_summary(self) -> dict[str, Any] | None:
        """Micro F1 over matched rows of the documents that label line items."""
        verdicts = [o.line_items for o in self.outcomes if o.line_items is not None]
        if not verdicts:
            return None
        predicted = sum(v.predicted for v in verdicts)
        expected = sum(v.expected for v in verdicts)
        matched = sum(v.matched for v in verdicts)
        precision = matched / predicted if predicted else 0.0
        recall = matched / expected if expected else 0.0
        f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
        quantities, prices = sum(v.quantities for v in verdicts), sum(v.unit_prices for v in verdicts)
        quantities_right, prices_right = sum(v.quantities_right for v in verdicts), sum(v.unit_prices_right for v in verdicts)
        return {"documents": len(verdicts), "labelled_rows": expected, "predicted_rows": predicted,
                "matched_rows": matched, "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                # on the matched rows whose label gives one: the quantity (unit price) read, exactly
                "quantities_labelled": quantities, "quantities_right": quantities_right,
                "unit_prices_labelled": prices, "unit_prices_right": prices_right}

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
            "calibration": self.reliability(),
            "line_items": self.line_item_summary(),
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
        outcome = DocumentOutcome(
            document.path.name, pages, seconds, judge(fields, document.fields), error, judge_line_items(fields, document.fields)
        )
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


def evaluate_cross_validated(
    directory: Path, text_cache: Path, folds: int, *, cache_root: Path | None = None, datasets: Path | None = None,
    limit: int | None = None,
) -> Report:
    """Out-of-fold figures of the trained choice on one labelled set: each document is judged by a model
    trained without its fold (grouped by vendor), on the rest of this set and on the other dev sets'
    cached readings (`<cache_root>/<engine>/<dataset>/`; by default the cache layout `text_cache` sits in).
    Documents without a cached reading are reported as errors."""
    from extraction.choice import choose
    from extraction.choice.training import cross_validated_models, read_labelled, training_corpus

    cache_root = cache_root or text_cache.parent.parent
    datasets = datasets or directory.parent
    target = read_labelled(directory, text_cache)
    wanted = load_labels(directory, limit=limit)
    others = training_corpus(datasets, cache_root, skip=[text_cache])
    models = cross_validated_models(target, others, folds)
    by_file = {item.file: (index, item) for index, item in enumerate(target)}
    report = Report()
    for document in wanted:
        found = by_file.get(document.path.name)
        if found is None:
            report.outcomes.append(DocumentOutcome(document.path.name, 0, 0.0, judge(InvoiceFields(), document.fields),
                                                   "no cached reading", judge_line_items(InvoiceFields(), document.fields)))
            continue
        index, item = found
        started = time.perf_counter()
        fields = choose(item.reading, models[index])
        pages = len({cell.page for cell in item.reading.layout.cells}) or 1
        report.outcomes.append(DocumentOutcome(
            document.path.name, pages, time.perf_counter() - started, judge(fields, document.fields), None,
            judge_line_items(fields, document.fields),
        ))
    return report
