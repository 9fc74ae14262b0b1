"""What a background retrain needs besides the updater: when one is due, what it trains on,
where it starts from, and the check a retrained model passes before it is swapped in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset
from movierec.errors import MovieRecError
from movierec.models.base import RatingPredictor, Recommender
from movierec.store.base import RatingStore


@dataclass(frozen=True)
class RetrainPolicy:
    """When a full retrain is due: after this many new ratings, or this long with any pending."""

    after_ratings: int = 1_000
    after_seconds: float | None = 3_600.0

    def __post_init__(self) -> None:
        if self.after_ratings < 1:
            raise ValueError(f"after_ratings must be at least 1, got {self.after_ratings}")
        if self.after_seconds is not None and self.after_seconds <= 0:
            raise ValueError(f"after_seconds must be positive, got {self.after_seconds}")


class _WarmStarts(Protocol):
    """What a class declaring ``warm_starts`` defines (the flag has no protocol class)."""

    def warm_start(self, previous: Any) -> object: ...


def warm_start(model: Recommender, serving: Recommender) -> Recommender:
    """``model``, set to start its fit from the serving model when its class declares
    ``warm_starts`` and the serving model is of that class (so user vectors keep their meaning
    across versions); else ``model`` as it is."""
    if model.warm_starts and isinstance(serving, type(model)):
        cast(_WarmStarts, model).warm_start(serving)  # the flag promises the method
    return model


def validate(model: Recommender, data: Dataset, sample: int = 5_000) -> dict[str, Any]:
    """Refuse a model that cannot serve: non-finite predictions or an absurd training error.

    A sanity check, not an evaluation (that is `movierec evaluate`): on the most recent ratings,
    predictions must be finite and their RMSE below half the rating scale's width.
    """
    recent = data.ratings.nlargest(min(sample, len(data.ratings)), "timestamp")
    if not isinstance(model, RatingPredictor):
        ranking = model.recommend(int(recent["user_id"].iat[0]), 10)
        if not len(ranking) or not np.isfinite(ranking.scores).all():
            raise MovieRecError("validation failed: the retrained model ranks nothing")
        return {"checked": "ranking"}
    predicted = model.predict(recent["user_id"].to_numpy(), recent["movie_id"].to_numpy())
    if not np.isfinite(predicted).all():
        raise MovieRecError("validation failed: non-finite predictions")
    error = float(np.sqrt(np.mean((predicted - recent["rating"].to_numpy()) ** 2)))
    width = (data.scale.high - data.scale.low) if data.scale else 4.0
    if error > width / 2:
        raise MovieRecError(
            f"validation failed: RMSE {error:.3f} on recent ratings exceeds {width / 2:g}"
        )
    return {"recent_rmse": round(error, 4), "checked": len(recent)}


def training_data(base: Dataset, store: RatingStore) -> Dataset:
    """The base catalog plus movies added since, and every rating in the store."""
    catalog = base.catalog
    added = store.new_movies()
    if len(added):
        catalog = pd.concat(
            [catalog, added[[c for c in added.columns if c in catalog.columns]]],
            ignore_index=True,
        )
    return Dataset(
        base.name, catalog, store.all_ratings(), base.users, base.scale, base.source_format
    )
