"""Training the field choice on the labelled dev sets, and cross-validating it by vendor.

Documents are read once (the OCR cache of `bench/ocr_cache.py`: `<cache>/<engine>/<dataset>/<file>.json`),
the rules describe their candidates once, and everything after that is a few matrix operations, so
`invoicer train` and `invoicer eval --cv` take seconds. Folds are grouped by the vendor's normalised
name: the same shop or company never sits on both sides of a split. Training is deterministic.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from extraction.choice import best_candidate, joint_features
from extraction.choice.candidates import FINDERS, RULES_ONLY_FIELDS, Candidate, all_candidates
from extraction.choice.model import ChoiceModel, FieldModel
from extraction.models import DocumentText
from extraction.parsing import RuleReading, read_with_rules
from extraction.parsing.dates import hide_numeric_dates, infer_day_first
from extraction.parsing.locale import usual_day_first

# Which cached readings of each dev set the model learns from: receipts as `extract()` reads them,
# invoices both from their PDF text layer and read by OCR alone (the --ocr-only path).
TRAINING_READINGS: dict[str, tuple[str, ...]] = {
    "sroie": ("auto",),
    "wildreceipt": ("auto",),
    "invoice2data": ("pdf_text", "auto"),
    "zugferd-corpus": ("pdf_text", "auto"),
}
LEARNED_FIELDS: tuple[str, ...] = tuple(FINDERS)
_REGULARISATION = 0.5
_CALIBRATION_FOLDS = 5
_CALIBRATION_REGULARISATION = 0.3


@dataclass
class LabelledReading:
    """One cached reading of a labelled document, with its candidates already described."""

    dataset: str
    file: str
    group: str
    labels: dict[str, Any]
    reading: RuleReading
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    engine: str = ""  # which cached reading: auto, pdf_text, ...


def vendor_group(dataset: str, file: str, labels: dict[str, Any]) -> str:
    """Documents of one vendor form one group: name without case, accents, spaces or punctuation."""
    name = labels.get("vendor_name")
    if not name:
        return f"{dataset}/{file}"
    folded = unicodedata.normalize("NFKD", str(name)).casefold()
    return re.sub(r"[\W_]+", "", folded) or f"{dataset}/{file}"


def is_right(field_name: str, value: Any, labels: dict[str, Any], *, strict: bool = False) -> bool | None:
    """Whether a candidate value is the labelled one; None when the document does not label the field.
    A date labelled with a guessed day/month order counts in either order (the choice of the date is
    what is learned here, not the guess) unless `strict`: the calibration is judged as `invoicer eval`
    judges, so a date whose order the document does not settle is not given a confidence it cannot have."""
    from extraction.evaluation import FIELD_TO_LABEL, normalise  # evaluation imports the pipeline: a light import

    expected = labels.get(FIELD_TO_LABEL.get(field_name, field_name))
    if expected in (None, ""):
        return None
    if normalise(field_name, value) == normalise(field_name, expected):
        return True
    if not strict and field_name == "invoice_date" and labels.get("invoice_date_ambiguous") and isinstance(value, date):
        return swapped(value) == normalise(field_name, expected)
    return False


def swapped(value: date) -> str | None:
    """The same date with day and month exchanged, ISO; None when that is no date."""
    try:
        return date(value.year, value.day, value.month).isoformat()
    except ValueError:
        return None


def read_labelled(directory: Path, cache: Path, dataset: str | None = None) -> list[LabelledReading]:
    """The cached readings of a labelled set (documents without a cache entry are left out)."""
    dataset = dataset or directory.name
    found = []
    for line in (directory / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        path = cache / f"{record['file']}.json"
        if not path.is_file():
            continue
        reading = read_with_rules(DocumentText.model_validate_json(path.read_text(encoding="utf-8")))
        if reading is None:
            continue
        labels = dict(record.get("fields") or {})
        item = LabelledReading(
            dataset, record["file"], vendor_group(dataset, record["file"], labels), labels, reading, engine=cache.parent.name
        )
        item.candidates = all_candidates(reading)
        found.append(item)
    return found


def training_corpus(datasets: Path, cache_root: Path, *, skip: Iterable[Path] = ()) -> list[LabelledReading]:
    """Every cached reading of the dev sets that `TRAINING_READINGS` names (but the caches in `skip`)."""
    skipped = {path.resolve() for path in skip}
    corpus = []
    for dataset, engines in TRAINING_READINGS.items():
        if not (datasets / dataset / "labels.jsonl").is_file():
            continue
        for engine in engines:
            cache = cache_root / engine / dataset
            if cache.resolve() not in skipped:
                corpus += read_labelled(datasets / dataset, cache, dataset)
    return corpus


# --- fitting ---------------------------------------------------------------------------------


def _rows(corpus: list[LabelledReading], field_name: str) -> tuple[list[dict[str, float]], np.ndarray, np.ndarray]:
    """Candidate feature rows, their right/wrong labels, and the index of the document each belongs to."""
    rows, right, owner = [], [], []
    for index, item in enumerate(corpus):
        for candidate in item.candidates.get(field_name, []):
            verdict = is_right(field_name, candidate.value, item.labels)
            if verdict is None:
                break
            rows.append(candidate.features)
            right.append(verdict)
            owner.append(index)
    return rows, np.array(right, dtype=bool), np.array(owner, dtype=int)


def _fit_scorer(rows: list[dict[str, float]], right: np.ndarray) -> FieldModel:
    from sklearn.linear_model import LogisticRegression

    names = tuple(sorted({name for row in rows for name in row}))
    matrix = np.array([[row.get(name, 0.0) for name in names] for row in rows], dtype=float)
    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-6] = 1.0
    empty = np.array([], dtype=float)
    if right.all() or not right.any():  # nothing to tell apart: a constant score
        return FieldModel(names, mean, scale, np.zeros(len(names)), 0.0, empty, empty)
    regression = LogisticRegression(C=_REGULARISATION, max_iter=5000)
    regression.fit((matrix - mean) / scale, right)
    return FieldModel(names, mean, scale, regression.coef_[0], float(regression.intercept_[0]), empty, empty)


def folds(groups: list[str], k: int) -> list[np.ndarray]:
    """k folds of document indices with no group in two folds (largest groups first, each to the
    smallest fold so far: deterministic and balanced)."""
    sizes: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        sizes.setdefault(group, []).append(index)
    buckets: list[list[int]] = [[] for _ in range(k)]
    for group in sorted(sizes, key=lambda g: (-len(sizes[g]), g)):
        smallest = min(range(k), key=lambda b: (len(buckets[b]), b))
        buckets[smallest] += sizes[group]
    return [np.array(sorted(bucket), dtype=int) for bucket in buckets]


# What the contextual calibration looks at besides the raw score: how clearly the chosen candidate won,
# what kind of document and reading it is (receipt photo, page read by OCR, PDF text layer: a kind, never a
# set's name), how clear the reading was, and the field's own evidence (a label, the arithmetic, the rules'
# pick, a date's unsettled day/month order).
_CONTEXT = (
    "score_logit", "margin_logit", "runner_up", "single_candidate", "candidates",
    "kind_receipt", "kind_ocr_page", "kind_text_layer", "doc_ocr", "doc_ocr_low", "doc_rows", "doc_pages",
)
_FIELD_CONTEXT: dict[str, tuple[str, ...]] = {
    "total": ("ocr", "label_total", "subtotal_plus_tax", "cash_minus_change", "largest", "rule_total", "occurrences",
              "negative", "money_closes", "money_contradicts"),
    "subtotal": ("ocr", "label_subtotal", "adds_to_total", "line_sum", "rule_subtotal", "money_closes", "money_contradicts"),
    "tax": ("ocr", "label_tax", "adds_to_total", "rule_tax", "money_closes", "money_contradicts"),
    "invoice_date": ("ocr", "label_invoice_date", "ambiguous", "with_time", "only_date", "rule_invoice_date"),
    "due_date": ("ocr", "label_due_date", "ambiguous", "rule_due_date"),
    "invoice_number": ("ocr", "label", "competitors", "rule_invoice_number"),
    "vendor_name": ("score", "gap", "options", "legal_form", "ocr", "ocr_mean", "odd_chars"),
    "currency": ("vote_share", "named_code", "country_agrees", "rule_currency"),
    **{name: ("rule_confidence", "tokens", "digits", "postcode", "ocr_mean", "country_my", "country_us")
       for name in RULES_ONLY_FIELDS},
}
# Strong regularisation (few documents); which strength is chosen on held-out folds like the method.
_CALIBRATION_STRENGTHS = (0.1, 0.3, 1.0)


def calibration_inputs(field_name: str) -> tuple[str, ...]:
    return (*_CONTEXT, *_FIELD_CONTEXT.get(field_name, ()))


def _calibration(
    field_name: str, pairs: list[tuple[float, bool, dict[str, float]]], strength: float = _CALIBRATION_REGULARISATION
) -> dict[str, Any]:
    """Platt scaling with context, fitted on out-of-fold choices (strongly regularised: few documents)."""
    from sklearn.linear_model import LogisticRegression

    from extraction.choice.model import context_value

    names = calibration_inputs(field_name)
    right = np.array([r for _, r, _ in pairs], dtype=bool)
    if len(pairs) < 10 or right.all() or not right.any():
        return {}
    matrix = np.array([[context_value(n, s, f) for n in names] for s, _, f in pairs], dtype=float)
    mean, scale = matrix.mean(axis=0), matrix.std(axis=0)
    scale[scale < 1e-6] = 1.0
    regression = LogisticRegression(C=strength, max_iter=5000).fit((matrix - mean) / scale, right)
    return {"context": names, "context_mean": mean, "context_scale": scale,
            "context_coef": regression.coef_[0], "context_intercept": float(regression.intercept_[0])}


def _isotonic(pairs: list[tuple[float, bool, dict[str, float]]]) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    if len(pairs) < 10:
        return {}
    scores = np.array([s for s, _, _ in pairs])
    right = np.array([r for _, r, _ in pairs], dtype=float)
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, right)
    return {"calibration_x": np.asarray(isotonic.X_thresholds_, dtype=float),
            "calibration_y": np.asarray(isotonic.y_thresholds_, dtype=float)}


def expected_calibration_error(confidences: list[float], right: list[bool], bins: int = 10) -> float:
    """Count-weighted gap between confidence and accuracy over equal-width confidence bins."""
    total, gap = len(confidences), 0.0
    for index in range(bins):
        members = [i for i, c in enumerate(confidences) if index / bins <= c < (index + 1) / bins or (index == bins - 1 and c >= 1.0)]
        if members:
            gap += abs(sum(confidences[i] for i in members) - sum(right[i] for i in members))
    return gap / total if total else 0.0


def _log_loss(confidences: list[float], right: list[bool]) -> float:
    """Mean negative log-likelihood: a proper score that, unlike the ECE, punishes a confident wrong value
    more than a hesitant one."""
    total = 0.0
    for confidence, is_right_ in zip(confidences, right, strict=True):
        p = min(1 - 1e-4, max(1e-4, confidence))
        total -= np.log(p if is_right_ else 1 - p)
    return total / len(confidences) if confidences else 0.0


def _select_calibration(
    field_name: str, scorer: FieldModel, pairs: list[tuple[float, bool, dict[str, float]]], groups: list[str]
) -> dict[str, Any]:
    """Isotonic or contextual Platt (and its strength), whichever has the lower log loss on held-out folds of
    the out-of-fold choices."""
    methods: dict[str, Any] = {"isotonic": _isotonic}
    for strength in _CALIBRATION_STRENGTHS:
        methods[f"platt C={strength}"] = lambda p, c=strength: _calibration(field_name, p, c)
    errors: dict[str, float] = {}
    for method, fit in methods.items():
        confidences: list[float] = []
        right: list[bool] = []
        for held_out in folds(groups, _CALIBRATION_FOLDS):
            held = set(held_out.tolist())
            fitted = fit([p for i, p in enumerate(pairs) if i not in held])
            model = FieldModel(scorer.features, scorer.mean, scorer.scale, scorer.coef, scorer.intercept,
                               fitted.get("calibration_x", np.array([])), fitted.get("calibration_y", np.array([])),
                               **{k: v for k, v in fitted.items() if k.startswith("context")})
            for index in held:
                score, is_right_, features = pairs[index]
                confidences.append(model.calibrated(score, features))
                right.append(is_right_)
        errors[method] = _log_loss(confidences, right)
    return methods[min(errors, key=lambda m: (errors[m], m))](pairs)


def _out_of_fold_choices(
    corpus: list[LabelledReading], names: tuple[str, ...]
) -> dict[str, list[tuple[float, bool, dict[str, float], str]]]:
    """Per field, the choices of scorers that did not see the document's fold (grouped by vendor): raw score,
    whether it is right (strictly), the calibration context with what the fold's other choices say about it."""
    chosen: dict[str, list[tuple[float, bool, dict[str, float], str]]] = {name: [] for name in names}
    for held_out in folds([item.group for item in corpus], _CALIBRATION_FOLDS):
        held = set(held_out.tolist())
        train_set = [item for index, item in enumerate(corpus) if index not in held]
        scorers = {}
        for name in names:
            rows, right, _ = _rows(train_set, name)
            if rows:
                scorers[name] = _fit_scorer(rows, right)
        for index in sorted(held):
            item = corpus[index]
            picks = {name: best_candidate(scorer, item.candidates.get(name, [])) for name, scorer in scorers.items()}
            together = joint_features({name: best[0].value for name, best in picks.items() if best is not None})
            for name, best in picks.items():
                if best is None or is_right(name, None, item.labels) is None:
                    continue  # no candidate, or not labelled: nothing to calibrate
                candidate, score, context = best
                right = bool(is_right(name, candidate.value, item.labels, strict=True))
                chosen[name].append((score, right, context | together, item.group))
    return chosen


def train(corpus: list[LabelledReading], meta: dict[str, Any] | None = None) -> ChoiceModel:
    """Per field, a scorer on all of `corpus`, calibrated on the out-of-fold choices."""
    scorers = {}
    for name in LEARNED_FIELDS:
        rows, right, _ = _rows(corpus, name)
        if rows:
            scorers[name] = _fit_scorer(rows, right)
    out_of_fold = _out_of_fold_choices(corpus, tuple(scorers))
    fitted = {}
    empty = np.array([], dtype=float)
    for name, scorer in scorers.items():
        pairs = [(score, right, context) for score, right, context, _ in out_of_fold[name]]
        calibration = _select_calibration(name, scorer, pairs, [group for *_, group in out_of_fold[name]])
        fitted[name] = FieldModel(scorer.features, scorer.mean, scorer.scale, scorer.coef, scorer.intercept,
                                  calibration.pop("calibration_x", empty), calibration.pop("calibration_y", empty),
                                  **calibration)
    return ChoiceModel(fitted, meta or {}, guessed_order_accuracy(corpus))


def guessed_order_accuracy(corpus: list[LabelledReading]) -> float:
    """How often the day/month order `read_with_rules` guesses for a page whose dates do not settle it is
    right, measured on the pages whose dates do: each guesses again with its dates' digits hidden."""
    right = settled_pages = 0
    for item in corpus:
        texts = [row.text for row in item.reading.layout.rows]
        settled = infer_day_first(texts)
        if settled is None:
            continue
        settled_pages += 1
        right += usual_day_first([hide_numeric_dates(text) for text in texts]) == settled
    return right / settled_pages if settled_pages else 1.0


def cross_validated_models(
    target: list[LabelledReading], others: list[LabelledReading], k: int
) -> dict[int, ChoiceModel]:
    """For each document of `target` (by index), a model trained without its fold: on the other
    folds of `target` and on `others`, minus any document of a vendor in the held-out fold."""
    models: dict[int, ChoiceModel] = {}
    for held_out in folds([item.group for item in target], k):
        held = set(held_out.tolist())
        held_groups = {target[index].group for index in held}
        train_set = [item for index, item in enumerate(target) if index not in held]
        train_set += [item for item in others if item.group not in held_groups]
        model = train(train_set)
        for index in held:
            models[index] = model
    return models
