"""The learned field choice: the rules find and describe candidates (`candidates`), a small trained
model picks one per field and says how likely it is right (`model`); `training` rebuilds the model.

`choose` leaves the rules' values untouched for fields the model does not cover, and entirely when
no model has been trained.
"""

from __future__ import annotations

import math

import numpy as np

from extraction.choice.candidates import FINDERS, Candidate, all_candidates
from extraction.choice.model import MAX_CONFIDENCE, ChoiceModel, FieldModel, default_model, logit
from extraction.models import FieldValue, InvoiceFields
from extraction.parsing import RuleReading


# Below this calibrated confidence a value the rules did not find is left out: out of fold, such values
# were more often wrong than right, and an empty field asks a person where a wrong one would not.
MIN_CONFIDENCE = 0.5
# A winner alone, or far ahead of the runner-up, is "clear" alike beyond this many logits.
_MAX_MARGIN = 12.0


def choose(reading: RuleReading, model: ChoiceModel | None = None, *, llm: InvoiceFields | None = None) -> InvoiceFields:
    """The fields with the trained model's choice and calibrated confidence. With an LLM's reading of the
    same document (`llm`), its answer is one more piece of evidence on each chosen value (`with_llm`)."""
    model = model or default_model()
    if model is None:
        return reading.fields
    candidates = all_candidates(reading)
    picks = {name: best_candidate(field_model, candidates.get(name, [])) for name, field_model in model.fields.items()}
    together = joint_features({name: best[0].value for name, best in picks.items() if best is not None})
    update = {}
    for name, best in picks.items():
        if best is None:
            continue  # nothing printed to choose from: the rules' value (if any, e.g. an implied currency) stands
        candidate, score, context = best
        confidence = model.fields[name].calibrated(score, context | together)
        if context.get("ambiguous"):  # a date whose day and month order is a guess
            confidence *= model.guessed_order_right
        if llm is not None:
            confidence = with_llm(name, candidate.value, confidence, getattr(llm, name))
        if confidence < MIN_CONFIDENCE and getattr(reading.fields, name) is None:
            update[name] = None  # a guess the rules did not make either, and rarely right: leave it empty
            continue
        update[name] = candidate.field_value(confidence, reading)
    return reading.fields.model_copy(update=update)


def joint_features(chosen: dict[str, object]) -> dict[str, float]:
    """What the chosen values say about each other: subtotal + tax = total holds (each is then likelier
    right), or all three were chosen and it does not."""
    subtotal, tax, total = (chosen.get(name) for name in ("subtotal", "tax", "total"))
    if subtotal is None or tax is None or total is None:
        return {"money_closes": 0.0, "money_contradicts": 0.0}
    closes = subtotal + tax == total  # type: ignore[operator]
    return {"money_closes": float(closes), "money_contradicts": float(not closes)}


def learned_fields() -> frozenset[str]:
    """The fields the committed model chooses (none when no model has been trained)."""
    model = default_model()
    return frozenset(model.fields) if model is not None else frozenset()


# The dev sets hold no LLM answers, so how much an LLM's word is worth cannot be learned from them; it is
# a stated prior instead: an LLM that names the right value this often, and that, when wrong, repeats
# the choice's wrong value this often (both read the same text, so they share its misreadings).
LLM_ACCURACY = 0.9
LLM_SHARED_ERROR = 0.5


def with_llm(name: str, chosen: object, confidence: float, answer: FieldValue | None) -> float:
    """The chosen value's confidence after the LLM's answer for the field, by Bayes' rule with the prior
    above: agreement multiplies the odds of being right by accuracy / (shared error rate of a wrong LLM),
    disagreement by (1 - accuracy) / (1 - that); no answer changes nothing."""
    from extraction.crosscheck import same_value

    if answer is None:
        return confidence
    wrong_llm_agrees = (1 - LLM_ACCURACY) * LLM_SHARED_ERROR
    if same_value(name, chosen, answer.value):
        ratio = LLM_ACCURACY / wrong_llm_agrees
    else:
        ratio = (1 - LLM_ACCURACY) / (1 - wrong_llm_agrees)
    odds = confidence / max(1e-9, 1 - confidence) * ratio
    return min(MAX_CONFIDENCE, odds / (1 + odds))


def pick(field_model: FieldModel, candidates: list[Candidate]) -> tuple[Candidate, float] | None:
    """The best-scored candidate and its calibrated confidence; None when there is none."""
    best = best_candidate(field_model, candidates)
    if best is None:
        return None
    candidate, score, context = best
    return candidate, field_model.calibrated(score, context)


def best_candidate(
    field_model: FieldModel, candidates: list[Candidate]
) -> tuple[Candidate, float, dict[str, float]] | None:
    """The best-scored candidate, its raw score, and what the calibration looks at: its features plus
    how clearly it won (the margin over the runner-up, how many candidates competed)."""
    if not candidates:
        return None
    scores = field_model.scores([c.features for c in candidates])
    order = np.argsort(-scores, kind="stable")
    index = int(order[0])
    best = float(scores[index])
    runner_up = float(scores[order[1]]) if len(candidates) > 1 else 0.0
    context = dict(candidates[index].features)
    context["margin_logit"] = min(_MAX_MARGIN, logit(best) - logit(runner_up)) if len(candidates) > 1 else _MAX_MARGIN
    context["runner_up"] = runner_up
    context["single_candidate"] = float(len(candidates) == 1)
    context["candidates"] = math.log2(1 + len(candidates)) / 7
    return candidates[index], best, context


__all__ = ["FINDERS", "best_candidate", "choose", "joint_features", "learned_fields", "pick", "with_llm"]
