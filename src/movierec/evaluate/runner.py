"""Cross-validation of models by name: fit per fold, time it, score it, aggregate.

For each fold of the chosen split and each model, :func:`evaluate` builds a fresh model with
:func:`movierec.models.registry.create`, fits it on the fold's training dataset, then:

* models that predict ratings (``predicts_ratings``) predict every test rating whose user and
  movie appear in the training ratings, for RMSE and MAE (the other test ratings are dropped
  and counted in ``dropped``);
* every model recommends ``k`` movies, seen movies excluded and the whole catalogue as
  candidates, to each test user known to the training data, for the ranking metrics
  (users with nothing relevant in test are skipped and counted in ``skipped_users``) and
  coverage and popularity (over every list produced).

On the ``cold-users`` split every test user is absent from training. Each model that can
absorb a user (``supports_online``) is told each cold user's profile with ``fold_in_user``
(empty arrays when ``n_profile`` is 0; timed as ``fold_in``), then recommends with the profile
movies excluded and predicts the test ratings whose movie has training ratings. A model that
cannot absorb a user is not fitted: it is reported as not applicable, with no figures.

Each metric is reported as its mean and standard deviation over folds (population std,
``ddof=0``, as Surprise's ``cross_validate`` reports). Times are wall-clock seconds per fold:
``fit``, ``predict`` (the test ratings) and ``recommend`` (all the lists). Metric definitions
are in :mod:`movierec.evaluate.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from movierec.data.dataset import Dataset
from movierec.evaluate import metrics
from movierec.evaluate.splits import (
    Split,
    cold_users,
    kfold,
    temporal,
    user_holdout,
    user_temporal,
)
from movierec.models import registry
from movierec.models.base import Recommender

SplitName = Literal["kfold", "user-holdout", "user-temporal", "temporal", "cold-users"]
SPLITS: tuple[str, ...] = ("kfold", "user-holdout", "user-temporal", "temporal", "cold-users")
TIMES = ("fit_seconds", "fold_in_seconds", "predict_seconds", "recommend_seconds")


@dataclass
class ModelResult:
    """One model's figures, fold by fold."""

    name: str
    predicts_ratings: bool
    folds: list[dict[str, float]] = field(default_factory=list)
    #: why the split does not apply to this model (then it has no folds), else None
    not_applicable: str | None = None

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
        return {"model": self.name, "predicts_ratings": self.predicts_ratings,
                "not_applicable": self.not_applicable, "summary": self.summary(),
                "folds": self.folds}


@dataclass
class EvaluationResult:
    """Everything one evaluation measured, with the settings that produced it."""

    dataset: str
    split: str
    settings: dict[str, Any]
    models: list[ModelResult]
    folds: list[dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "split": self.split, "settings": self.settings,
                "folds": self.folds, "models": [m.to_json() for m in self.models]}


def make_splits(data: Dataset, split: str = "kfold", *, cv: int = 5, seed: int = 0,
                fraction: float = 0.2, n_test: int | None = None, quantile: float = 0.8,
                repeats: int = 1, n_profile: int = 5) -> Iterator[Split]:
    """The folds of a split by name (see :mod:`movierec.evaluate.splits`).

    ``cv`` is the number of folds of ``kfold``; ``fraction`` (or ``n_test`` per user) sizes
    ``user-holdout`` and ``user-temporal`` (``n_test`` defaults to 1 for the latter);
    ``quantile`` places ``temporal``'s cutoff; ``repeats`` repeats ``user-holdout``;
    ``fraction`` of users and ``n_profile`` ratings each make ``cold-users``.
    """
    if split == "kfold":
        return kfold(data, cv, seed=seed)
    if split == "user-holdout":
        return user_holdout(data, None if n_test else fraction, n=n_test, seed=seed,
                            repeats=repeats)
    if split == "user-temporal":
        return user_temporal(data, n_test or 1)
    if split == "temporal":
        return temporal(data, quantile=quantile)
    if split == "cold-users":
        return cold_users(data, fraction, n_profile=n_profile, seed=seed)
    raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


def default_relevance(data: Dataset) -> float:
    """4.0 on a 5-star scale: 80% of the scale's top (or of the highest rating seen)."""
    top = data.scale.high if data.scale else float(data.ratings["rating"].max())
    return 0.8 * top


def evaluate(data: Dataset, model_names: list[str], *, split: str = "kfold", k: int = 10,
             cv: int = 5, seed: int = 0, relevance: float | None | Literal["auto"] = "auto",
             fraction: float = 0.2, n_test: int | None = None, quantile: float = 0.8,
             repeats: int = 1, n_profile: int = 5, progress: Callable[[float], None] | None = None,
             factory: Callable[[str], Recommender] | None = None) -> EvaluationResult:
    """Fit and score each named model on every fold of a split.

    Args:
        data: the whole dataset; it is not modified.
        model_names: registry names (``mf``, ``als``, …); all are checked before any fit.
        split: ``kfold``, ``user-holdout``, ``user-temporal``, ``temporal`` or
            ``cold-users``.
        k: ranking cut-off.
        cv: folds of ``kfold`` (2 or more).
        seed: seeds the split (model seeds stay at their configs' defaults).
        relevance: threshold of a relevant test rating; ``None``: all are relevant;
            ``"auto"``: :func:`default_relevance`.
        fraction, n_test, quantile, repeats, n_profile: see :func:`make_splits`.
        progress: called with the fraction done after each fit and each scoring.
        factory: builds a model from a name (tests inject one); the registry by default.
    """
    _check_settings(data, model_names, k, cv, split)
    if factory is None:
        for name in model_names:
            registry.resolve(name)  # an unknown name fails here, listing the known ones
        factory = registry.create
    threshold = default_relevance(data) if relevance == "auto" else relevance
    splits = make_splits(data, split, cv=cv, seed=seed, fraction=fraction, n_test=n_test,
                         quantile=quantile, repeats=repeats,
                         n_profile=n_profile)  # lazy: one fold in memory
    n_folds = {"kfold": cv, "user-holdout": repeats}.get(split, 1)
    results = {name: ModelResult(name, False) for name in model_names}
    fold_info = []
    steps, done = 2 * n_folds * len(model_names), 0
    for part in splits:
        info = _Fold(part, threshold)
        fold_info.append({"fold": part.fold, "train_ratings": len(part.train.ratings),
                          **part.coverage_of_test(), "test_users": len(info.users),
                          "skipped_users": info.skipped, **info.cold_counts()})
        for name in model_names:
            model = factory(name)
            if info.cold and not model.supports_online:
                results[name].predicts_ratings = model.predicts_ratings
                results[name].not_applicable = (
                    f"{type(model).__name__} cannot absorb a user it was not trained on "
                    "(supports_online is False)")
                done += 2
                _tick(progress, done, steps)
                continue
            started = time.perf_counter()
            model.fit(part.train)
            fit_seconds = time.perf_counter() - started
            done += 1
            _tick(progress, done, steps)
            results[name].predicts_ratings = model.predicts_ratings
            results[name].folds.append({"fit_seconds": fit_seconds, **info.score(model, k)})
            done += 1
            _tick(progress, done, steps)
    settings = {"k": k, "cv": cv if split == "kfold" else None, "seed": seed,
                "relevance": threshold, "folds": len(fold_info)}
    if split == "user-holdout":
        settings.update(fraction=None if n_test else fraction, n_test=n_test, repeats=repeats)
    elif split == "user-temporal":
        settings.update(n_test=n_test or 1)
    elif split == "temporal":
        settings.update(quantile=quantile)
    elif split == "cold-users":
        settings.update(fraction=fraction, n_profile=n_profile)
    return EvaluationResult(data.name, split, settings, list(results.values()), fold_info)


class _Fold:
    """What is computed once per fold and shared by every model: known pairs, relevant sets."""

    def __init__(self, part: Split, threshold: float | None):
        self.part = part
        train, test = part.train.ratings, part.test
        train_movies = np.unique(train["movie_id"].to_numpy())
        self.cold = part.profile is not None
        if self.cold:  # every test user is cold and is folded in before any question
            known_users = np.unique(test["user_id"].to_numpy())
            self.profiles = _histories(part.profile, known_users)
        else:
            known_users = np.unique(train["user_id"].to_numpy())
        user_known = np.isin(test["user_id"].to_numpy(), known_users)
        known = user_known & np.isin(test["movie_id"].to_numpy(), train_movies)
        self.rated = test[known]
        self.relevant = metrics.relevant_items(test[user_known], threshold)
        self.users = np.unique(test["user_id"].to_numpy()[user_known])
        has_relevant = np.isin(self.users, self.relevant["user_id"].to_numpy())
        self.skipped = int((~has_relevant).sum())

    def cold_counts(self) -> dict[str, int]:
        if not self.cold:
            return {}
        return {"cold_users": len(self.profiles), "profile_ratings": len(self.part.profile)}

    def fold_in(self, model: Recommender) -> float:
        """Tell an online model every cold user's profile; returns the seconds it took."""
        started = time.perf_counter()
        for user, (movies, ratings) in self.profiles.items():
            known = model.movies.indices(movies, missing="mask") >= 0
            model.fold_in_user(user, movies[known], ratings[known])  # type: ignore[attr-defined]
        return time.perf_counter() - started

    def score(self, model: Recommender, k: int) -> dict[str, float]:
        figures: dict[str, float] = {}
        if self.cold:
            figures["fold_in_seconds"] = self.fold_in(model)
        if model.predicts_ratings:
            started = time.perf_counter()
            predicted = model.predict(self.rated["user_id"].to_numpy(),  # type: ignore[attr-defined]
                                      self.rated["movie_id"].to_numpy())
            figures["predict_seconds"] = time.perf_counter() - started
            truth = self.rated["rating"].to_numpy()
            figures["rmse"] = metrics.rmse(truth, predicted)
            figures["mae"] = metrics.mae(truth, predicted)
        started = time.perf_counter()
        lists = [model.recommend(int(user), k, exclude_seen=True).movie_ids
                 for user in self.users]
        figures["recommend_seconds"] = time.perf_counter() - started
        recommended, lengths = metrics.stack_rankings(lists, k)
        ranking = metrics.ranking_scores(self.users, recommended, lengths, self.relevant, k)
        figures.update(ranking.means())
        figures["coverage"] = metrics.coverage(recommended, lengths, len(self.part.train.catalog))
        figures["popularity"] = metrics.mean_popularity(recommended, lengths,
                                                        self.part.train.ratings)
        figures["n_ranked_users"] = float(len(ranking.users))
        return figures


def _histories(ratings: Any, users: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each user's (movie ids, ratings) from a ratings frame; empty arrays for users without."""
    order = np.argsort(ratings["user_id"].to_numpy(), kind="stable")
    ids = ratings["user_id"].to_numpy()[order]
    movies = ratings["movie_id"].to_numpy()[order]
    values = ratings["rating"].to_numpy(np.float64)[order]
    starts = np.searchsorted(ids, users, side="left")
    stops = np.searchsorted(ids, users, side="right")
    return {int(u): (movies[a:b], values[a:b])
            for u, a, b in zip(users.tolist(), starts.tolist(), stops.tolist(), strict=True)}


def _check_settings(data: Dataset, model_names: list[str], k: int, cv: int, split: str) -> None:
    if not model_names:
        raise ValueError("name at least one model to evaluate")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if split == "kfold" and (isinstance(cv, bool) or not isinstance(cv, int | np.integer)
                             or cv < 2):
        raise ValueError(f"cv must be an integer of at least 2, got {cv!r}")
    n_users = data.ratings["user_id"].nunique()
    if n_users < 2:
        raise ValueError(f"dataset {data.name!r} has {n_users} user(s); evaluation needs at "
                         "least 2 (a model learns from the others)")
    duplicates = [name for name in set(model_names) if model_names.count(name) > 1]
    if duplicates:
        raise ValueError(f"model(s) named twice: {', '.join(sorted(duplicates))}")


def _tick(progress: Callable[[float], None] | None, done: int, steps: int) -> None:
    if progress is not None:
        progress(done / steps)
