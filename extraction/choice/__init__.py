"""The learned field choice: the rules find and describe candidates (`candidates`), a small trained
model picks one per field and says how likely it is right (`model`); `training` rebuilds the model.

`choose` leaves the rules' values untouched for fields the model does not cover, and entirely when
no model has been trained.
"""

from __future__ import annotations

from extraction.choice.candidates import FINDERS, Candidate, all_candidates
from extraction.choice.model import ChoiceModel, FieldModel, default_model
from extraction.models import InvoiceFields
from extraction.parsing import RuleReading


# Below this calibrated confidence a value the rules did not find is left out.
MIN_CONFIDENCE = 0.2


def choose(reading: RuleReading, model: ChoiceModel | None = None) -> InvoiceFields:
    """The fields with the trained model's choice and calibrated confidence."""
    model = model or default_model()
    if model is None:
        return reading.fields
    candidates = all_candidates(reading)
    update = {}
    for name, field_model in model.fields.items():
        best = pick(field_model, candidates.get(name, []))
        if best is None:
            continue  # nothing printed to choose from: the rules' value (if any, e.g. an implied currency) stands
        candidate, confidence = best
        if confidence < MIN_CONFIDENCE and getattr(reading.fields, name) is None:
            update[name] = None  # a guess the rules did not make either, and rarely right: leave it empty
            continue
        update[name] = candidate.field_value(confidence, reading)
    return reading.fields.model_copy(update=update)


def pick(field_model: FieldModel, candidates: list[Candidate]) -> tuple[Candidate, float] | None:
    """The best-scored candidate and its calibrated confidence; None when there is none."""
    if not candidates:
        return None
    scores = field_model.scores([c.features for c in candidates])
    index = int(scores.argmax())
    return candidates[index], field_model.calibrated(float(scores[index]), candidates[index].features)


__all__ = ["FINDERS", "choose", "pick"]
