"""Hybrid recommender: a weighted blend of other models' scores, weights fitted on validation.

The parts (``ease,content,twotower-rank,chart`` by default: collaborative, content similarity to
the movies the user liked, the two-tower score, and the chart) each score every movie for the
user; each part's scores are standardised over the catalogue for that user (z-scores, so a
weight means the same whatever the part's scale), and the blend is their weighted sum.

The weights come from a small listwise learning-to-rank step: coordinate ascent on NDCG@k
(Metzler & Croft, "Linear feature-based models for information retrieval", 2007), started at
the best single part, over a grid of non-negative weights, averaged over bootstrap resamples
of the validation users (bagging: one ascent chases the noise of a few hundred users). It
runs on validation data carved out of the training data:

* *warm* weights: for each user outside the cold share, a random ``validation`` share of their
  ratings is held out; the parts are fitted on the rest and the weights make the held-out
  liked movies rank high;
* *cold* weights: a ``cold_users`` share of users is withheld from the parts entirely; each is
  folded in from their earliest ``cold_profile`` ratings and the weights make their later liked
  movies rank high.

The parts are then refitted on all the training data. A user with fewer than ``cold_history``
ratings is scored with the cold weights, others with the warm ones. Each ascent starts at the
best single part and keeps a step only when it improves NDCG on its resample; how the blend
does on new users is measured by ``movierec evaluate`` (and ``bench/neural.py``). Every part
must be an online model, so the hybrid folds in users and movies by folding them into each
part.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset
from movierec.errors import UnknownUserError
from movierec.models.base import Config, Recommender, require
from movierec.models.factors import require_int
from movierec.models.online import OnlineRecommender

logger = logging.getLogger(__name__)

_GRID = np.linspace(0.0, 1.0, 21)


@dataclasses.dataclass(frozen=True)
class HybridConfig(Config):
    """Hyper-parameters of :class:`Hybrid` (module docstring).

    ``parts`` are registry names, comma-separated; ``relevance`` is the lowest liked rating
    (None: 80% of the scale's top); ``fit_users`` caps the validation users of each regime;
    ``pool`` is how many of each part's top movies are candidates while fitting weights;
    ``bags`` how many bootstrap resamples of the validation users the weights are averaged
    over (0: one fit on them all).
    """

    parts: str = "ease,content,twotower-rank,chart"
    validation: float = 0.2
    cold_users: float = 0.2
    cold_profile: int = 5
    cold_history: int = 10
    fit_users: int = 2000
    k: int = 10
    pool: int = 100
    bags: int = 10
    relevance: float | None = None

    def validate(self) -> None:
        super().validate()
        names = self.names
        require(bool(names) and len(set(names)) == len(names) and "hybrid" not in names,
                "parts", "distinct model names other than hybrid, comma-separated", self.parts)
        require(isinstance(self.validation, float | int) and 0 < self.validation < 1,
                "validation", "a share in (0, 1)", self.validation)
        require(isinstance(self.cold_users, float | int) and 0 <= self.cold_users < 0.5,
                "cold_users", "a share in [0, 0.5)", self.cold_users)
        require_int(self.cold_profile, "cold_profile", 0)
        require_int(self.cold_history, "cold_history", 0)
        require_int(self.fit_users, "fit_users", 1)
        require_int(self.k, "k", 1)
        require_int(self.pool, "pool", 1)
        require_int(self.bags, "bags", 0)

    @property
    def names(self) -> list[str]:
        return [n.strip() for n in str(self.parts).split(",") if n.strip()]


class Hybrid(OnlineRecommender):
    """Blends its parts' standardised scores with weights fitted on validation data."""

    kind = "hybrid"
    config_class = HybridConfig
    config: HybridConfig
    predicts_ratings: ClassVar[bool] = False

    def __init__(self, config: HybridConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.parts: list[Recommender] = []
        self.weights = np.zeros((2, 0))  # rows: warm weights, cold weights; one column a part
        self.validation_ndcg = np.zeros((2, 0))  # per regime: each part alone, then the blend

    # --- fitting ------------------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        from movierec.models import registry

        names = self.config.names
        for name in names:
            model_class, _ = registry.resolve(name)
            require(model_class.supports_online, "parts", "online models (each must fold in "
                    f"users); {name!r} is not", self.config.parts)
        self._index_dataset(data)
        threshold = self.config.relevance
        if threshold is None:
            threshold = 0.8 * (data.scale.high if data.scale
                               else float(data.ratings["rating"].max()))
        fit_ratings, warm, profiles, cold = _validation_split(data.ratings, self.config)
        probe = [registry.create(name).fit(dataclasses.replace(data, ratings=fit_ratings))
                 for name in names]
        warm_sets = self._labelled(probe, warm, None, threshold)
        cold_sets = self._labelled(probe, cold, profiles, threshold)
        weights, scores = [], []
        rng = np.random.default_rng(self.config.seed)
        for sets in (warm_sets, cold_sets):
            w, ndcg = _bagged_weights(sets, len(names), self.config.k, self.config.bags, rng)
            weights.append(w)
            scores.append(ndcg)
        self.weights = np.array(weights)
        self.validation_ndcg = np.array(scores)
        logger.info("hybrid weights (%s): warm %s, cold %s", ",".join(names),
                    np.round(self.weights[0], 3), np.round(self.weights[1], 3))
        self.parts = [registry.create(name).fit(data) for name in names]
        return self

    def _labelled(self, parts: list[Recommender], held: pd.DataFrame,
                  profiles: pd.DataFrame | None, threshold: float
                  ) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per validation user: (candidates × parts z-scores, relevance, relevant count).

        With ``profiles`` the users are new to the parts: each is folded in from their profile
        first (an empty one when they have none).
        """
        sets = []
        liked = held[held["rating"] >= threshold]
        by_user = dict(tuple(liked.groupby("user_id")["movie_id"]))
        known = dict(tuple(profiles.groupby("user_id"))) if profiles is not None else {}
        for user_id, movies in by_user.items():
            if profiles is not None:
                profile = known.get(user_id)
                ids = profile["movie_id"].to_numpy() if profile is not None else np.empty(0, int)
                values = profile["rating"].to_numpy() if profile is not None else np.empty(0)
                for part in parts:
                    part.fold_in_user(int(user_id), ids, values)
            try:
                z, seen = self._z_scores(parts, int(user_id))
            except UnknownUserError:
                continue
            z[:, seen] = -np.inf
            relevant = parts[0].movies.indices(movies.to_numpy(), missing="mask")
            relevant = relevant[relevant >= 0]
            pool = np.unique(np.concatenate(
                [np.argpartition(-row, min(self.config.pool, len(row) - 1))[:self.config.pool]
                 for row in z] + [relevant]))
            pool = pool[np.isfinite(z[0, pool])]
            sets.append((z[:, pool].T.copy(), np.isin(pool, relevant), len(relevant)))
        return sets

    # --- scoring ------------------------------------------------------------------------------

    def _z_scores(self, parts: list[Recommender], user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Each part's scores for the user, standardised (parts × movies), and their seen."""
        rows = []
        n = min(len(part.movies) for part in parts)
        for part in parts:
            user = part._user_index(user_id)
            scores = np.asarray(part._user_scores(user), np.float64)[:n]
            finite = np.isfinite(scores)
            mean, std = scores[finite].mean(), scores[finite].std()
            z = (scores - mean) / std if std > 0 else np.zeros(n)
            rows.append(np.where(finite, z, np.nanmin(z[finite]) if finite.any() else 0.0))
        seen = parts[0]._seen(parts[0]._user_index(user_id))
        return np.array(rows), seen[seen < n]

    def _user_scores(self, user: int) -> np.ndarray:
        user_id = int(self.users.ids[user])
        z, _ = self._z_scores(self.parts, user_id)
        cold = len(self._seen(user)) < self.config.cold_history
        return self.weights[1 if cold else 0] @ z

    def _similar_scores(self, movie: int) -> np.ndarray:
        """The mean standardised similarity of the personal parts (the chart is left out)."""
        movie_id = int(self.movies.ids[movie])
        rows = []
        for part in self.parts:
            if part.kind == "chart":
                continue
            scores = np.asarray(part._similar_scores(part._movie_index(movie_id)), np.float64)
            std = scores.std()
            rows.append((scores - scores.mean()) / std if std > 0 else np.zeros_like(scores))
        n = min(len(row) for row in rows)
        return np.mean([row[:n] for row in rows], axis=0)

    @property
    def movie_votes(self) -> np.ndarray | None:
        """Ratings per movie, as the parts count them (the first part that does)."""
        for part in self.parts:
            votes = getattr(part, "movie_votes", None)
            if votes is not None:
                return votes
        return None

    # --- online -------------------------------------------------------------------------------

    def fold_in_user(self, user_id: int, movie_ids: np.ndarray | list[int],
                     ratings: np.ndarray | list[float]) -> None:
        user_id, user, movies, values = self._user_input(user_id, movie_ids, ratings)
        ids = self.movies.ids[movies]
        for part in self.parts:  # input checked above: none of them can fail half-way
            part.fold_in_user(user_id, ids, values)
        self._seen_overlay[len(self.users) if user is None else user] = movies.astype(np.int32)
        if user is None:
            self.users.add(np.array([user_id], np.int64))

    def fold_in_movie(self, movie_id: int, user_ids: np.ndarray | list[int],
                      ratings: np.ndarray | list[float]) -> None:
        movie_id, movie, users, values = self._movie_input(movie_id, user_ids, ratings)
        ids = self.users.ids[users]
        for part in self.parts:
            part.fold_in_movie(movie_id, ids, values)
        if movie is not None:
            return
        movie = len(self.movies)
        self.movies.add(np.array([movie_id], np.int64))
        for user in users.tolist():
            self._seen_overlay[user] = np.append(self._seen(user), np.int32(movie))

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "validation_ndcg": self.validation_ndcg,
                "part_names": np.array(self.config.names, dtype=str)}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = np.asarray(arrays["weights"])
        self.validation_ndcg = np.asarray(arrays["validation_ndcg"])

    def _save_parts(self, folder: Path) -> None:
        for name, part in zip(self.config.names, self.parts, strict=True):
            part.save(folder / "parts" / name)

    def _load_parts(self, folder: Path) -> None:
        from movierec.models import registry

        self.parts = [registry.resolve(name)[0].load(folder / "parts" / name)
                      for name in self.config.names]


def _validation_split(ratings: pd.DataFrame, config: HybridConfig
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(ratings the parts are fitted on, warm held-out ratings, cold users' profiles, cold
    users' later ratings); a cold user's profile is their earliest ``cold_profile`` ratings."""
    rng = np.random.default_rng(config.seed)
    users = ratings["user_id"].to_numpy()
    ids, counts = np.unique(users, return_counts=True)
    eligible = ids[counts > config.cold_profile + 1]
    n_cold = min(int(round(config.cold_users * len(ids))), config.fit_users, len(eligible) - 1)
    cold = rng.choice(eligible, max(n_cold, 0), replace=False)
    is_cold = np.isin(users, cold)
    order = np.lexsort((np.arange(len(users)), ratings["timestamp"].to_numpy(), users))
    sorted_users = users[order]
    starts = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1]
    rank = np.empty(len(users), np.int64)
    rank[order] = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    warm_users = rng.permutation(ids[~np.isin(ids, cold)])[:config.fit_users]
    held = ~is_cold & np.isin(users, warm_users) & (rng.random(len(users)) < config.validation)
    profile = is_cold & (rank < config.cold_profile)

    def rows(mask: np.ndarray) -> pd.DataFrame:
        return ratings[mask].reset_index(drop=True)

    return rows(~held & ~is_cold), rows(held), rows(profile), rows(is_cold & ~profile)


def _stack(sets: list[tuple[np.ndarray, np.ndarray, int]], k: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The validation users' candidates as padded arrays: z (users × pool × parts), relevant
    (users × pool), ideal DCG@k (users); padding scores far below any real candidate."""
    width = max(len(r) for _, r, _ in sets)
    n_parts = sets[0][0].shape[1]
    z = np.full((len(sets), width, n_parts), -1e6)
    relevant = np.zeros((len(sets), width), bool)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.empty(len(sets))
    for i, (scores, rel, n_relevant) in enumerate(sets):
        z[i, :len(rel)] = scores
        relevant[i, :len(rel)] = rel
        ideal[i] = discounts[:min(n_relevant, k)].sum()
    return z, relevant, ideal


def _ndcg(stacked: tuple[np.ndarray, np.ndarray, np.ndarray], weights: np.ndarray,
          k: int) -> float:
    """Mean NDCG@k of the blend over the validation users."""
    z, relevant, ideal = stacked
    scores = z @ weights
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (np.take_along_axis(relevant, top, axis=1) * discounts).sum(axis=1)
    return float((dcg / ideal).mean())


def _bagged_weights(sets: list[tuple[np.ndarray, np.ndarray, int]], n_parts: int, k: int,
                    bags: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate-ascent weights averaged over bootstrap resamples of the validation users.

    One ascent on a few hundred users chases their noise (a weight that wins by 0.002 on
    them loses by as much on others); the mean over resamples keeps what most of them agree
    on. Returns the weights and the validation NDCG of each part alone, then of the blend.
    """
    if not sets or bags == 0:
        return _coordinate_ascent(sets, n_parts, k)
    draws = [_coordinate_ascent([sets[i] for i in rng.integers(0, len(sets), len(sets))],
                                n_parts, k)[0] for _ in range(bags)]
    weights = np.mean(draws, axis=0)
    stacked = _stack(sets, k)
    alone = [_ndcg(stacked, np.eye(n_parts)[p], k) for p in range(n_parts)]
    return weights, np.array([*alone, _ndcg(stacked, weights, k)])


def _coordinate_ascent(sets: list[tuple[np.ndarray, np.ndarray, int]], n_parts: int,
                       k: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights maximising validation NDCG@k, and the NDCG of each part alone then the blend."""
    if not sets:
        weights = np.zeros(n_parts)
        weights[0] = 1.0
        return weights, np.zeros(n_parts + 1)
    stacked = _stack(sets, k)
    alone = np.array([_ndcg(stacked, np.eye(n_parts)[p], k) for p in range(n_parts)])
    weights = np.eye(n_parts)[int(np.argmax(alone))]
    best = float(alone.max()) if n_parts else 0.0
    for _ in range(4):
        improved = False
        for p in range(n_parts):
            for value in _GRID:
                trial = weights.copy()
                trial[p] = value
                if not trial.any():
                    continue
                score = _ndcg(stacked, trial, k)
                if score > best + 1e-9:
                    best, weights, improved = score, trial, True
        if not improved:
            break
    total = weights.sum()
    return weights / total if total > 0 else weights, np.append(alone, best)
