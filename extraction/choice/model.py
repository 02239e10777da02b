"""The trained choice: per field, a logistic regression over candidate features and an isotonic map
from its score to the probability that the chosen value is right (fitted on out-of-fold predictions).

Stored as plain JSON numbers (`choice.json` beside this file), so a worker scores candidates with
numpy alone, without importing scikit-learn or unpickling anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PATH = Path(__file__).with_name("choice.json")
# 1.0 is for values read exactly (XML); a learned choice, however often right, stays below it.
MAX_CONFIDENCE = 0.99


def logit(probability: float) -> float:
    clipped = min(1 - 1e-6, max(1e-6, probability))
    return math.log(clipped / (1 - clipped))


def context_value(name: str, score: float, features: dict[str, float]) -> float:
    """One input of the contextual calibration: the raw score's logit, or a feature of the chosen
    candidate and its competition (`extraction.choice.best_candidate`)."""
    if name == "score_logit":
        return logit(score)
    return features.get(name, 0.0)


@dataclass(frozen=True)
class FieldModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration_x: np.ndarray  # isotonic thresholds: raw score -> probability of being right
    calibration_y: np.ndarray
    # Or Platt scaling with context: logit(raw score) and a few features of the document and the chosen
    # candidate (how clear the reading was, whether the rules agreed) -> probability of being right.
    context: tuple[str, ...] = ()
    context_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    context_scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    context_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    context_intercept: float = 0.0

    def matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        return np.array([[row.get(name, 0.0) for name in self.features] for row in rows], dtype=float)

    def scores(self, rows: list[dict[str, float]]) -> np.ndarray:
        """The raw score of each candidate (higher: more likely the field's value)."""
        z = ((self.matrix(rows) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def calibrated(self, score: float, features: dict[str, float] | None = None) -> float:
        """How often a value chosen with this raw score (and, with context, these features) was right on
        documents the model had not seen."""
        if self.context:
            row = np.array([context_value(name, score, features or {}) for name in self.context], dtype=float)
            z = float(((row - self.context_mean) / self.context_scale) @ self.context_coef + self.context_intercept)
            return min(MAX_CONFIDENCE, 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
        if len(self.calibration_x) == 0:
            return min(MAX_CONFIDENCE, float(score))
        return min(MAX_CONFIDENCE, float(np.interp(score, self.calibration_x, self.calibration_y)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.round(8).tolist(),
            "scale": self.scale.round(8).tolist(),
            "coef": self.coef.round(8).tolist(),
            "intercept": round(float(self.intercept), 8),
            "calibration_x": self.calibration_x.round(6).tolist(),
            "calibration_y": self.calibration_y.round(6).tolist(),
            "context": list(self.context),
            "context_mean": self.context_mean.round(8).tolist(),
            "context_scale": self.context_scale.round(8).tolist(),
            "context_coef": self.context_coef.round(8).tolist(),
            "context_intercept": round(float(self.context_intercept), 8),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldModel:
        return cls(
            features=tuple(data["features"]),
            mean=np.array(data["mean"], dtype=float),
            scale=np.where(np.array(data["scale"], dtype=float) > 0, np.array(data["scale"], dtype=float), 1.0),
            coef=np.array(data["coef"], dtype=float),
            intercept=float(data["intercept"]),
            calibration_x=np.array(data["calibration_x"], dtype=float),
            calibration_y=np.array(data["calibration_y"], dtype=float),
            context=tuple(data.get("context", ())),
            context_mean=np.array(data.get("context_mean", []), dtype=float),
            context_scale=np.where(np.array(data.get("context_scale", []), dtype=float) > 0,
                                   np.array(data.get("context_scale", []), dtype=float), 1.0),
            context_coef=np.array(data.get("context_coef", []), dtype=float),
            context_intercept=float(data.get("context_intercept", 0.0)),
        )


@dataclass(frozen=True)
class ChoiceModel:
    fields: dict[str, FieldModel]
    meta: dict[str, Any]
    # How often the day/month order guessed for dates that nothing on their page settles was right, measured
    # on the training pages whose own dates do settle it. The labels of such dates were guessed by the same
    # conventions, so the fields' calibration cannot see these misses: a date read in a guessed order is
    # right at most this often.
    guessed_order_right: float = 1.0

    def save(self, path: Path = MODEL_PATH) -> None:
        data = {"meta": self.meta, "fields": {name: model.to_json() for name, model in self.fields.items()},
                "guessed_order_right": round(self.guessed_order_right, 6)}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ChoiceModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({name: FieldModel.from_json(f) for name, f in data["fields"].items()}, data.get("meta", {}),
                   float(data.get("guessed_order_right", 1.0)))


@lru_cache(maxsize=1)
def default_model() -> ChoiceModel | None:
    """The committed model; None when it has not been trained (the rules' choice then stands)."""
    return ChoiceModel.load() if MODEL_PATH.is_file() else None
