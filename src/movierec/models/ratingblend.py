"""A blend of rating predictors, its weights fitted on ratings carved out of the training data.

Different rating models err in different places — SVD++ where a user's choice of films says
more than their stars, item neighbours where a few close films settle it — so a linear
combination of their predictions beats each of them (the lesson of the Netflix Prize). The
weights here are feature-weighted (Sill et al., "Feature-Weighted Linear Stacking", 2009):
each part's weight is a linear function of the user's and the movie's rating counts
(``1, log(1+n_u), log(1+n_i)``), so a part that is better for barely-known movies can count
more there. Honest by construction: a random ``validation`` share of the *training* ratings
is held out, every part is fitted on the rest and predicts it, the weights are the ridge
solution on those predictions, and then every part is refitted on all the training ratings.
Nothing from an evaluation's test fold is ever seen.

Ranking is not what the blend is for: ``recommend`` ranks as its first part does (the
factor models' taste ranking for the default), ``predict`` and the full score vector are the
blend's. Online, a fold-in goes to every part, as the hybrid's does.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset
from movierec.models.base import RatingPredictor
from movierec.models.composite import Composite
from movierec.models.config import Config, RatingConfig
from movierec.models.online import OnlineRecommender
from movierec.validate import fail, number_at_least, number_in, require

logger = logging.getLogger(__name__)

_MIN_FIT_RATINGS = 2  # a user keeps at least this many ratings outside the validation share


@dataclasses.dataclass(frozen=True)
class RatingBlendConfig(RatingConfig):
    """Hyper-parameters of :class:`RatingBlend` (module docstring).

    Attributes:
        parts: registry names of online rating predictors, comma-separated; the first ranks.
        validation: share of the training ratings the weights are fitted on.
        penalty: ridge penalty on the weights.
        support: weights that depend on the user's and the movie's rating counts (False: one
            weight per part).
    """

    parts: str = "bsvdpp,svdpp-tuned,knn,als"
    validation: float = 0.1
    penalty: float = 1.0
    support: bool = True

    def validate(self) -> None:
        super().validate()
        names = self.names
        require(
            bool(names) and len(set(names)) == len(names),
            "parts",
            "distinct model names, comma-separated",
            self.parts,
        )
        for name in names:
            _resolve_part(name, self.parts)
        number_in(self.validation, "validation", 0, 0.5, low_open=True, high_open=True)
        number_at_least(self.penalty, "penalty")
        require(isinstance(self.support, bool), "support", "true or false", self.support)

    @property
    def names(self) -> list[str]:
        return [n.strip() for n in str(self.parts).split(",") if n.strip()]


class RatingBlend(Composite, RatingPredictor):
    """Predicts ``Σ_p w_p(n_u, n_i)·r̂_p + c(n_u, n_i)``, weights fitted on held-out ratings."""

    kind = "rating-blend"
    config_class: ClassVar[type[Config]] = RatingBlendConfig
    config: RatingBlendConfig
    places_new_movies = True

    def __init__(self, config: RatingBlendConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        # its fold-ins behave as its parts' do together (each places new movies: _resolve_part)
        classes = [_resolve_part(name, self.config.parts)[0] for name in self.config.names]
        self.low_ratings_count_as_interest = any(c.low_ratings_count_as_interest for c in classes)
        self.parts: list[Any] = []  # the fitted parts, in ``config.names`` order
        self.weights = np.zeros(0)
        self.validation_rmse = np.zeros(0)  # each part alone, then the blend

    # --- fitting ------------------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        resolved = [_resolve_part(name, self.config.parts) for name in self.config.names]
        matrix = self._index_dataset(data)
        self.global_mean = float(matrix.data.mean(dtype=np.float64))
        self._bounds = (float(matrix.data.min()), float(matrix.data.max()))
        if data.scale is not None:
            self._bounds = (float(data.scale.low), float(data.scale.high))
        ratings = data.ratings
        held = self._validation_rows(ratings)
        fit_part = dataclasses.replace(data, ratings=ratings[~held])
        probe = [model_class(config).fit(fit_part) for model_class, config in resolved]
        checked = ratings[held]
        users, movies = checked["user_id"].to_numpy(), checked["movie_id"].to_numpy()
        predictions = np.column_stack([part.predict(users, movies) for part in probe])
        target = checked["rating"].to_numpy(np.float64)
        counts = _counts(fit_part.ratings, users, movies)
        X = self._features(predictions, *counts)
        # ridge as least squares on [X; √λ·I]: no normal equations to be singular at λ = 0
        ridge = np.sqrt(self.config.penalty) * np.eye(X.shape[1])
        self.weights = np.linalg.lstsq(
            np.vstack([X, ridge]), np.r_[target, np.zeros(X.shape[1])], rcond=None
        )[0]
        blended = self._clip(X @ self.weights)
        self.validation_rmse = np.sqrt(
            np.mean((np.column_stack([predictions, blended]) - target[:, None]) ** 2, axis=0)
        )
        logger.info(
            "rating-blend (%s) validation RMSE: parts %s, blend %.4f",
            self.config.parts,
            np.round(self.validation_rmse[:-1], 4),
            self.validation_rmse[-1],
        )
        self.parts = [model_class(config).fit(data) for model_class, config in resolved]
        # ranking hands on the first part's scores, which are in its movie order: it must be ours
        if any(not np.array_equal(part.movies.ids, self.movies.ids) for part in self.parts):
            raise RuntimeError("a part of the blend indexed the movies in another order")
        return self

    def _validation_rows(self, ratings: pd.DataFrame) -> np.ndarray:
        """A seeded random share of the ratings, leaving every user some to be fitted on."""
        rng = np.random.default_rng(self.config.seed)
        held = rng.random(len(ratings)) < self.config.validation
        users = ratings["user_id"].to_numpy()
        kept = pd.Series(~held).groupby(users).transform("sum").to_numpy()
        held &= kept >= _MIN_FIT_RATINGS  # too few left: the user stays whole
        if not held.any():
            fail("validation", self.config.validation, "a share that holds out some ratings")
        return held

    def _features(
        self, predictions: np.ndarray, log_users: np.ndarray, log_movies: np.ndarray
    ) -> np.ndarray:
        """Each part's prediction times ``[1, log(1+n_u), log(1+n_i)]`` (or ``[1]``), and the
        same support terms alone for the intercept."""
        if not self.config.support:
            return np.column_stack([predictions, np.ones(len(predictions))])
        support = np.column_stack([np.ones(len(log_users)), log_users, log_movies])
        return np.column_stack(
            [(predictions[:, :, None] * support[:, None, :]).reshape(len(support), -1), support]
        )

    # --- scoring ------------------------------------------------------------------------------

    _bounds: tuple[float, float] = (1.0, 5.0)

    def _clip(self, ratings: np.ndarray) -> np.ndarray:
        return np.clip(ratings, *self._bounds)

    def _log_counts(self, users: np.ndarray, movies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log(1+n)`` of each pair's user history length and movie vote count, as now."""
        seen = self._seen_lists
        unique, inverse = np.unique(users, return_inverse=True)
        per_user = np.array([len(seen.get(int(u))) for u in unique], np.float64)  # one per user
        user_counts = per_user[inverse]
        votes = np.asarray(self.movie_votes, np.float64)
        movie_counts = np.where(movies < len(votes), votes[np.minimum(movies, len(votes) - 1)], 0)
        return np.log1p(user_counts), np.log1p(movie_counts)

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        user_ids, movie_ids = self.users.ids[users], self.movies.ids[movies]
        predictions = np.column_stack([part.predict(user_ids, movie_ids) for part in self.parts])
        return self._clip(
            self._features(predictions, *self._log_counts(users, movies)) @ self.weights
        )

    def _user_scores(self, user: int) -> np.ndarray:
        """The blend's predicted rating of every movie (what ``recommend`` would rank by
        rating; it ranks as the first part does, :meth:`_ranking_scores`)."""
        movies = np.arange(len(self.movies))
        return self._predict(np.full(len(movies), user), movies)

    def _ranking_scores(self, user: int) -> np.ndarray:
        return np.asarray(self.parts[0].scores(int(self.users.ids[user])), dtype=np.float64)

    def _similar_scores(self, movie: int) -> np.ndarray:
        return np.asarray(self.parts[0].similarities(int(self.movies.ids[movie])))

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights,
            "validation_rmse": self.validation_rmse,
            "scalars": np.array([self.global_mean, *self._bounds], np.float64),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = np.asarray(arrays["weights"])
        self.validation_rmse = np.asarray(arrays["validation_rmse"])
        self.global_mean, low, high = (float(v) for v in arrays["scalars"])
        self._bounds = (low, high)

    # --- parts (the rest of their handling is Composite's) ----------------------------------

    def _part_names(self) -> list[str]:
        return self.config.names

    def _part_class(self, name: str) -> type[OnlineRecommender]:
        return _resolve_part(name, self.config.parts)[0]


def _counts(
    ratings: pd.DataFrame, users: np.ndarray, movies: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log(1+n)`` of each pair's user and movie rating counts in ``ratings``."""
    per_user = ratings["user_id"].value_counts()
    per_movie = ratings["movie_id"].value_counts()
    n_u = per_user.reindex(users).fillna(0).to_numpy(np.float64)
    n_i = per_movie.reindex(movies).fillna(0).to_numpy(np.float64)
    return np.log1p(n_u), np.log1p(n_i)


def _resolve_part(name: str, parts: str) -> tuple[type[Any], Config]:
    """A part's class and config by registry name: an online rating predictor, not a blend."""
    from movierec.models import registry

    model_class, config = registry.resolve(name)
    if issubclass(model_class, RatingBlend):
        fail("parts", parts, "models other than a rating blend")
    if not (
        issubclass(model_class, RatingPredictor) and issubclass(model_class, OnlineRecommender)
    ):
        fail("parts", parts, f"online rating predictors; {name!r} is not")
    if not model_class.places_new_movies:
        fail("parts", parts, f"models that place a new movie from its ratings; {name!r} does not")
    return model_class, config
