"""What an evaluation measured: per-model figures fold by fold, and the settings behind them.

Plain data, apart from the run that fills it, so that the command line, a benchmark script and
a test can summarise, split by profile size and write JSON without running anything again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ModelResult:
    """One model's figures, fold by fold."""

    name: str
    predicts_ratings: bool
    folds: list[dict[str, float]] = field(default_factory=list)
    #: why the split does not apply to this model (then it has no folds), else None
    not_applicable: str | None = None
    #: cold-users: the profile size these figures were told; None on the other splits
    profile: int | None = None

    def summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean": …, "std": …}}`` over folds (NaN-free metrics only)."""
        names = [n for n in self.folds[0] if not n.startswith("n_")] if self.folds else []
        result = {}
        for name in names:
            values = np.array([fold[name] for fold in self.folds], dtype=np.float64)
            if np.isnan(values).all():
                continue
            result[name] = {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "profile": self.profile,
            "predicts_ratings": self.predicts_ratings,
            "not_applicable": self.not_applicable,
            "summary": self.summary(),
            "folds": self.folds,
        }


@dataclass
class EvaluationResult:
    """Everything one evaluation measured, with the settings that produced it."""

    dataset: str
    split: str
    settings: dict[str, Any]
    models: list[ModelResult]
    folds: list[dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "settings": self.settings,
            "folds": self.folds,
            "models": [m.to_json() for m in self.models],
        }

    def by_profile(self) -> dict[int, EvaluationResult]:
        """cold-users: one result per profile size, smallest first; empty on other splits."""
        sizes = sorted({m.profile for m in self.models if m.profile is not None})
        return {
            size: EvaluationResult(
                self.dataset,
                self.split,
                {**self.settings, "n_profile": size, "profiles": [size]},
                [m for m in self.models if m.profile == size],
                self.folds,
            )
            for size in sizes
        }
