"""Cross-validation of models by name: fit per fold, time it, score it, aggregate.

For each fold of the chosen split and each model, :func:`evaluate` builds a fresh model with
:func:`movierec.models.registry.create`, fits it on the fold's training dataset, then:

* models that predict ratings (a :class:`~movierec.models.base.RatingPredictor`) predict every
  test rating whose user and movie appear in the training ratings, for RMSE and MAE (the other
  test ratings are dropped and counted in ``dropped``);
* every model recommends ``k`` movies, seen movies excluded and the whole catalogue as
  candidates, to each test user known to the training data, for the ranking metrics
  (users with nothing relevant in test are skipped and counted in ``skipped_users``) and the
  beyond-accuracy figures (over every list produced; :mod:`movierec.evaluate.beyond`). A
  user's *profile* there (taste for ``miscalibration``, GAP for ``popularity_lift``) is their
  training ratings; "liked" uses the relevance threshold (every rated movie when it is None).

On the ``cold-users`` split every test user is absent from training. Each model that can absorb
a user (an :class:`~movierec.models.online.OnlineRecommender`) is fitted once, then, for each
profile size n in ``profiles`` (default: ``[n_profile]``), told each cold user's n earliest
ratings with ``fold_in_user`` (which replaces the user's whole history, so the next size simply
overwrites the previous one; timed as ``fold_in``), recommends with the profile movies excluded
and predicts the test ratings whose movie has training ratings. The cold users are drawn once,
among users with more than ``max(profiles)`` ratings, and the test ratings are those after the
*largest* profile, so every size is scored on the same test ratings; a smaller profile's
untold ratings (within the largest) are neither told nor tested, so they are left out of the
user's list like the told ones (a model that finds films the user did rate is not charged for
them as misses). The told profile is the user's profile for the beyond-accuracy figures. A
model that cannot absorb a user is not fitted: it is reported as not applicable, with no
figures.

With ``calibrate`` λ > 0, each list is Steck's calibrated re-ranking
(:func:`movierec.models.calibration.calibrated_rerank`) of the model's top
:data:`~movierec.models.calibration.RERANK_POOL` and, for each genre ``g`` of the user's taste,
its ⌈k·p(g)⌉ best films of ``g`` (the pool the hybrid serves from), toward the user's
liked-genre distribution (from the profile), timed within ``recommend``.

Each metric is reported as its mean and standard deviation over folds (population std,
``ddof=0``, as Surprise's ``cross_validate`` reports), one
:class:`~movierec.evaluate.results.ModelResult` per model (and per profile size on
``cold-users``, its ``profile`` field set). Times are wall-clock seconds per fold: ``fit``,
``predict`` (the test ratings) and ``recommend`` (all the lists). Metric definitions are in
:mod:`movierec.evaluate.metrics` and :mod:`movierec.evaluate.beyond`; one fold's scoring is
:class:`movierec.evaluate.scoring.FoldScorer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from movierec.data.dataset import Dataset
from movierec.evaluate import beyond
from movierec.evaluate.results import EvaluationResult, ModelResult
from movierec.evaluate.scoring import FoldScorer
from movierec.evaluate.splits import (
    Split,
    cold_users,
    grouplens_fold,
    kfold,
    stratified,
    temporal,
    user_holdout,
    user_temporal,
)
from movierec.models import calibration, registry
from movierec.models.base import RatingPredictor, Recommender
from movierec.models.online import OnlineRecommender
from movierec.validate import check_k, int_at_least, number_in

SplitName = Literal[
    "kfold",
    "user-holdout",
    "user-temporal",
    "temporal",
    "cold-users",
    "stratified",
    "u1",
    "u2",
    "u3",
    "u4",
    "u5",
]
# ml-100k's own folds u1..u5 (GroupLens' mku.sh): fixed rows, no seed, ml-100k only.
GROUPLENS_SPLITS: tuple[str, ...] = ("u1", "u2", "u3", "u4", "u5")
SPLITS: tuple[str, ...] = (
    "kfold",
    "user-holdout",
    "user-temporal",
    "temporal",
    "cold-users",
    "stratified",
    *GROUPLENS_SPLITS,
)
# A split's seed when none is given: stratified's is Microsoft Recommenders' 42, so its folds
# are theirs; the others keep 0.
DEFAULT_SEEDS: dict[str, int] = {"stratified": 42}
TIMES = ("fit_seconds", "fold_in_seconds", "predict_seconds", "recommend_seconds")


def make_splits(
    data: Dataset,
    split: str = "kfold",
    *,
    cv: int = 5,
    seed: int | None = None,
    fraction: float = 0.2,
    n_test: int | None = None,
    quantile: float = 0.8,
    repeats: int = 1,
    n_profile: int = 5,
    ratio: float = 0.75,
) -> Iterator[Split]:
    """The folds of a split by name (see :mod:`movierec.evaluate.splits`).

    ``seed`` defaults to the split's own (:func:`default_seed`). ``cv`` is the number of folds
    of ``kfold``; ``fraction`` (or ``n_test`` per user) sizes ``user-holdout`` and
    ``user-temporal`` (``n_test`` defaults to 1 for the latter); ``quantile`` places
    ``temporal``'s cutoff; ``repeats`` repeats ``user-holdout``; ``fraction`` of users and
    ``n_profile`` ratings each make ``cold-users``; ``ratio`` is the share of each user's
    ratings ``stratified`` trains on. ``u1`` … ``u5`` are ml-100k's own folds
    (:func:`~movierec.evaluate.splits.grouplens_fold`) and take no setting.
    """
    if seed is None:
        seed = default_seed(split)
    if split == "kfold":
        return kfold(data, cv, seed=seed)
    if split == "user-holdout":
        return user_holdout(
            data, None if n_test else fraction, n=n_test, seed=seed, repeats=repeats
        )
    if split == "user-temporal":
        return user_temporal(data, n_test or 1)
    if split == "temporal":
        return temporal(data, quantile=quantile)
    if split == "cold-users":
        return cold_users(data, fraction, n_profile=n_profile, seed=seed)
    if split == "stratified":
        return stratified(data, ratio, seed=seed)
    if split in GROUPLENS_SPLITS:
        return grouplens_fold(data, GROUPLENS_SPLITS.index(split) + 1)
    raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


def default_seed(split: str) -> int:
    """The seed a split uses when none is given: 42 for ``stratified`` (Microsoft's), else 0."""
    return DEFAULT_SEEDS.get(split, 0)


def default_relevance(data: Dataset) -> float:
    """4.0 on a 5-star scale: 80% of the scale's top (or of the highest rating seen)."""
    top = data.scale.high if data.scale else float(data.ratings["rating"].max())
    return 0.8 * top


def evaluate(
    data: Dataset,
    model_names: list[str],
    *,
    split: str = "kfold",
    k: int = 10,
    cv: int = 5,
    seed: int | None = None,
    relevance: float | None | Literal["auto"] = "auto",
    fraction: float = 0.2,
    n_test: int | None = None,
    quantile: float = 0.8,
    repeats: int = 1,
    n_profile: int = 5,
    ratio: float = 0.75,
    profiles: Sequence[int] | None = None,
    calibrate: float = 0.0,
    head_share: float = beyond.HEAD_SHARE,
    progress: Callable[[float], None] | None = None,
    factory: Callable[[str], Recommender] | None = None,
) -> EvaluationResult:
    """Fit and score each named model on every fold of a split.

    Args:
        data: the whole dataset; it is not modified.
        model_names: registry names (``mf``, ``als``, …); all are checked before any fit.
        split: ``kfold``, ``user-holdout``, ``user-temporal``, ``temporal``, ``cold-users``,
            ``stratified``, or ``u1`` … ``u5`` (ml-100k's canonical GroupLens folds, one
            each; the dataset must be ml-100k in ``u.data``'s row order).
        k: ranking cut-off.
        cv: folds of ``kfold`` (2 or more).
        seed: seeds the split (model seeds stay at their configs' defaults); ``None``: the
            split's own, :func:`default_seed`. ``u1`` … ``u5`` draw nothing: their settings
            report no seed.
        relevance: threshold of a relevant test rating; ``None``: every test rating is
            relevant whatever its value (Microsoft Recommenders' top-N protocol);
            ``"auto"``: :func:`default_relevance`.
        fraction, n_test, quantile, repeats, n_profile, ratio: see :func:`make_splits`.
        profiles: cold-users only: the profile sizes to score, each fitted model folding in
            every size in turn (module docstring); replaces ``n_profile``.
        calibrate: λ of the calibrated re-ranking of every list, in [0, 1]; 0: off.
        head_share: share of the rated movies that form the short head of the long-tail
            figures.
        progress: called with the fraction done after each fit and each scoring.
        factory: builds a model from a name (tests inject one); the registry by default.
    """
    _check_settings(data, model_names, k, cv, split)
    if seed is None:
        seed = default_seed(split)
    sizes = _profile_sizes(split, n_profile, profiles)
    largest = max(size or 0 for size in sizes)
    number_in(calibrate, "calibrate", 0, 1)
    if factory is None:
        for name in model_names:
            registry.resolve(name)  # an unknown name fails here, listing the known ones
        factory = registry.create
    threshold = default_relevance(data) if relevance == "auto" else relevance
    genres = calibration.GenreMatrix.from_catalog(data.catalog)
    splits = make_splits(
        data,
        split,
        cv=cv,
        seed=seed,
        fraction=fraction,
        n_test=n_test,
        quantile=quantile,
        repeats=repeats,
        n_profile=largest,
        ratio=ratio,
    )  # lazy: one fold in memory
    n_folds = {"kfold": cv, "user-holdout": repeats}.get(split, 1)
    results = {
        (name, size): ModelResult(name, False, profile=size)
        for size in sizes
        for name in model_names
    }
    fold_info = []
    steps, done = (1 + len(sizes)) * n_folds * len(model_names), 0
    for part in splits:
        info = FoldScorer(part, threshold, genres, head_share)
        fold_info.append(
            {
                "fold": part.fold,
                "train_ratings": len(part.train.ratings),
                **part.coverage_of_test(),
                "test_users": len(info.users),
                "skipped_users": info.skipped,
                **info.cold_counts(),
            }
        )
        for name in model_names:
            model = factory(name)
            mine = [results[name, size] for size in sizes]
            for result in mine:
                result.predicts_ratings = isinstance(model, RatingPredictor)
            if info.cold and not isinstance(model, OnlineRecommender):
                for result in mine:
                    result.not_applicable = (
                        f"{type(model).__name__} cannot absorb a user it was not trained on "
                        "(it is not an OnlineRecommender)"
                    )
                done += 1 + len(sizes)
                _tick(progress, done, steps)
                continue
            started = time.perf_counter()
            model.fit(part.train)
            fit_seconds = time.perf_counter() - started
            done += 1
            _tick(progress, done, steps)
            for size, result in zip(sizes, mine, strict=True):
                figures = info.score(model, k, size, calibrate)
                result.folds.append({"fit_seconds": fit_seconds, **figures})
                done += 1
                _tick(progress, done, steps)
    settings: dict[str, Any] = {
        "k": k,
        "cv": cv if split == "kfold" else None,
        "seed": None if split in GROUPLENS_SPLITS else seed,  # u1..u5 are fixed rows
        "relevance": threshold,
        "folds": len(fold_info),
        "calibrate": calibrate,
        "head_share": head_share,
    }
    if split == "user-holdout":
        settings.update(fraction=None if n_test else fraction, n_test=n_test, repeats=repeats)
    elif split == "user-temporal":
        settings.update(n_test=n_test or 1)
    elif split == "temporal":
        settings.update(quantile=quantile)
    elif split == "cold-users":
        settings.update(fraction=fraction, n_profile=largest, profiles=sizes)
    elif split == "stratified":
        settings.update(ratio=ratio)
    return EvaluationResult(data.name, split, settings, list(results.values()), fold_info)


def _check_settings(data: Dataset, model_names: list[str], k: int, cv: int, split: str) -> None:
    if not model_names:
        raise ValueError("name at least one model to evaluate")
    check_k(k)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if split == "kfold":
        int_at_least(cv, "cv", 2)
    n_users = data.ratings["user_id"].nunique()
    if n_users < 2:
        raise ValueError(
            f"dataset {data.name!r} has {n_users} user(s); evaluation needs at "
            "least 2 (a model learns from the others)"
        )
    duplicates = [name for name in set(model_names) if model_names.count(name) > 1]
    if duplicates:
        raise ValueError(f"model(s) named twice: {', '.join(sorted(duplicates))}")


def _profile_sizes(
    split: str, n_profile: int, profiles: Sequence[int] | None
) -> Sequence[int | None]:
    """The profile sizes to score: ``[None]`` off cold-users, else sorted, checked sizes."""
    if split != "cold-users":
        if profiles is not None:
            raise ValueError(f"profiles apply to the cold-users split only, not {split!r}")
        return [None]
    sizes = [n_profile] if profiles is None else list(profiles)
    for size in sizes:
        int_at_least(size, "n_profile" if profiles is None else "profile size", 0)
    if not sizes or len(set(sizes)) < len(sizes):
        raise ValueError(f"profiles: give one or more distinct sizes, got {list(sizes)!r}")
    return sorted(int(size) for size in sizes)


def _tick(progress: Callable[[float], None] | None, done: int, steps: int) -> None:
    if progress is not None:
        progress(done / steps)
