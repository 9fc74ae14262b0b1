"""Fitting a hybrid's blend on validation users: weights and calibration that follow taste.

Plain NDCG on MovieLens rewards popularity: the all-time chart beats most personal models on
it, and blend weights that maximise it alone learn to serve the chart (on ml-100k newcomers
the earlier hybrid did: the chart's popularity lift, 62% of two users' lists alike). So the
blend is fitted on a constrained objective:

    maximise NDCG@k  subject to  personalization ≥ P_ref  and  miscalibration ≤ C_ref,

where ``P_ref`` and ``C_ref`` are those of the *most personal part* on the same validation
users (the part whose lists differ most between users; personalization may fall short of
``P_ref`` by :data:`PERSONALIZATION_SLACK`, its noise between resamples), judged on the lists
the parts that serve give these users where the caller has them (:attr:`Validation.served`).
The blend can only be as personal and better calibrated than that part, and moves only where it
also finds more. The search is coordinate ascent (Metzler & Croft 2007) over a grid of
non-negative part weights and over λ, the strength of Steck's calibrated re-ranking
("Calibrated recommendations", RecSys 2018), started at the part that finds most alone within
those bounds with λ = 0 (the most personal part, or one as personal and as well calibrated;
:func:`best_part_within`); a step is kept only when it stays feasible and raises NDCG. The
ascent picks the best of many trials on the very users it is scored on, so its gain flatters
it: the blend is kept only when blends fitted on resamples of the users find clearly more than
that part alone for the users each left out (:func:`out_of_bag_gain`,
:func:`clearly_positive`).

Personalization (1 − mean Jaccard of two users' lists), miscalibration (Steck's KL from the
user's liked-genre distribution to the list's) and the calibrated re-ranking are those of
:mod:`movierec.models.calibration`, over the validation users' top-k lists, vectorised over
users. The validation users and their held-out ratings are carved out of the training data by
:func:`validation_split`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from movierec.models.calibration import (
    calibrated_rerank_many,
    kl_divergence,
    personalization,
    rerank_pool,
)

logger = logging.getLogger(__name__)

LAMBDAS = np.array([0.0, 0.3, 0.5, 0.7, 0.9])
#: how far below the most personal part's personalization a blend may go: the figure moves by
#: about this much between resamples of a few hundred validation users, so a stricter bound
#: rejects blends for noise
PERSONALIZATION_SLACK = 0.01
#: how many standard errors of its out-of-bag per-user NDCG gain a blend must find over the most
#: personal part alone to be kept: on ml-100k regulars the warm blend was 0.003 ahead on the
#: users it was fitted on, 0.0005 (0.1 standard errors) out of bag, and 0.012 behind on the
#: test users; the newcomers' blends are 2–3 standard errors ahead out of bag
SIGNIFICANCE = 1.0
_GRID = np.linspace(0.0, 1.0, 11)


@dataclass(frozen=True)
class Validation:
    """The validation users' candidates, padded to one width.

    Attributes:
        z: users × pool × parts standardised part scores (padding far below any real one).
        relevant: users × pool, the held-out liked movies.
        ideal: users, the ideal DCG@k.
        movies: users × pool, the model's movie index of each candidate (−1 for padding).
        genres: users × pool × genres, each candidate's genre row.
        target: users × genres, each user's taste distribution.
        n_movies: movies in the model (for personalization).
        served: the same users' candidates from the parts that will serve them (fitted on all
            the training data), or None; where given, the taste bounds are judged on their
            lists (:func:`figures`).
        quota_from: users × pool, the candidates that may fill a genre's quota of the
            re-ranking's pool (:func:`~movierec.models.calibration.rerank_pool`): those among
            some part's best, not the held-out liked films added only to be scored (a served
            list has none of those at hand); none where the hybrid has no genre quotas.
    """

    z: np.ndarray
    relevant: np.ndarray
    ideal: np.ndarray
    movies: np.ndarray
    genres: np.ndarray
    target: np.ndarray
    n_movies: int
    served: Validation | None = None
    quota_from: np.ndarray | None = None

    def take(self, users: np.ndarray) -> Validation:
        return Validation(
            self.z[users],
            self.relevant[users],
            self.ideal[users],
            self.movies[users],
            self.genres[users],
            self.target[users],
            self.n_movies,
            self.served.take(users) if self.served is not None else None,
            self.quota_from[users] if self.quota_from is not None else None,
        )


def validation_split(
    ratings: pd.DataFrame,
    *,
    validation: float,
    cold_users: float,
    cold_profile: int,
    fit_users: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Validation data carved out of training ratings, for the warm and the cold regime.

    A ``cold_users`` share of the users with more than ``cold_profile + 1`` ratings (at most
    ``fit_users``) is withheld; of at most ``fit_users`` others, a random ``validation`` share
    of each one's ratings is held out (:mod:`movierec.models.hybrid` says what each is for).

    Returns:
        (ratings the parts are fitted on, warm held-out ratings, cold users' profiles, cold
        users' later ratings); a cold user's profile is their earliest ``cold_profile`` ratings.
    """
    rng = np.random.default_rng(seed)
    users = ratings["user_id"].to_numpy()
    ids, counts = np.unique(users, return_counts=True)
    eligible = ids[counts > cold_profile + 1]
    n_cold = min(int(round(cold_users * len(ids))), fit_users, len(eligible) - 1)
    cold = rng.choice(eligible, max(n_cold, 0), replace=False)
    is_cold = np.isin(users, cold)
    order = np.lexsort((np.arange(len(users)), ratings["timestamp"].to_numpy(), users))
    sorted_users = users[order]
    starts = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1]
    rank = np.empty(len(users), np.int64)
    rank[order] = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    warm_users = rng.permutation(ids[~np.isin(ids, cold)])[:fit_users]
    held = ~is_cold & np.isin(users, warm_users) & (rng.random(len(users)) < validation)
    profile = is_cold & (rank < cold_profile)

    def rows(mask: np.ndarray) -> pd.DataFrame:
        return ratings[mask].reset_index(drop=True)

    return rows(~held & ~is_cold), rows(held), rows(profile), rows(is_cold & ~profile)


#: One validation user: (candidates × parts z-scores, which candidates are relevant, how many
#: relevant movies they have, the candidates' movie indices, their taste over genres, which
#: candidates may fill a genre's quota: :attr:`Validation.quota_from`).
UserSet = tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]


def stack(
    sets: list[UserSet], genre_matrix: np.ndarray, k: int, served: list[UserSet] | None = None
) -> Validation:
    """Pad per-user (z, relevant, n relevant, pool movie indices, taste, quota_from) into
    arrays; ``served``: the same users' sets from the serving parts
    (:attr:`Validation.served`)."""
    width = max(len(rel) for _, rel, _, _, _, _ in sets)
    n_parts = sets[0][0].shape[1]
    z = np.full((len(sets), width, n_parts), -1e6)
    relevant = np.zeros((len(sets), width), bool)
    movies = np.full((len(sets), width), -1, np.int64)
    quota_from = np.zeros((len(sets), width), bool)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.empty(len(sets))
    for i, (scores, rel, n_relevant, pool, _, own) in enumerate(sets):
        z[i, : len(rel)] = scores
        relevant[i, : len(rel)] = rel
        movies[i, : len(rel)] = pool
        quota_from[i, : len(rel)] = own
        ideal[i] = discounts[: min(n_relevant, k)].sum()
    padded = np.vstack([genre_matrix, np.zeros((1, genre_matrix.shape[1]), genre_matrix.dtype)])
    genres = padded[movies].astype(np.float64)  # −1 → the zero row
    target = np.array([taste for _, _, _, _, taste, _ in sets], np.float64)
    return Validation(
        z,
        relevant,
        np.maximum(ideal, 1e-12),  # a served set has no relevant movies: its NDCG is unused
        movies,
        genres,
        target,
        len(genre_matrix),
        stack(served, genre_matrix, k) if served else None,
        quota_from,
    )


@dataclass(frozen=True)
class Figures:
    ndcg: float
    personalization: float
    miscalibration: float
    per_user: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)


def figures(
    data: Validation, weights: np.ndarray, lam: float, k: int, above: float = -np.inf
) -> Figures:
    """NDCG@k, personalization and miscalibration of the blend (and re-ranking) on ``data``;
    personalization and miscalibration of the lists served (:attr:`Validation.served`) where
    they are given: the parts fitted without the held-out ratings are less personal than
    those that serve, and not all alike (on ml-latest-small EASE fell to 0.917 where the
    two-tower kept 0.951; served, they are level at 0.939 and 0.940).

    Personalization and miscalibration are NaN unless NDCG exceeds ``above``: the ascent asks
    how personal a step is only when it finds more (measuring every step, the hybrid's
    blending on ml-100k took 27.5 s; asking only then, 22.9 s, the same weights).
    """
    top = _top_lists(data, weights, lam, k)
    discounts = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    dcg = (np.take_along_axis(data.relevant, top, axis=1) * discounts).sum(axis=1)
    ndcg = dcg / data.ideal
    if not ndcg.mean() > above:
        return Figures(float(ndcg.mean()), np.nan, np.nan, ndcg)
    judged = data.served if data.served is not None else data
    if judged is not data:
        top = _top_lists(judged, weights, lam, k)
    lists = np.take_along_axis(judged.movies, top, axis=1)
    rows = np.arange(len(top))[:, None]
    q = judged.genres[rows, top].sum(axis=1)
    mass = q.sum(axis=1, keepdims=True)
    q = np.divide(q, mass, out=np.zeros_like(q), where=mass > 0)
    together = personalization(lists, (lists >= 0).sum(axis=1))
    return Figures(
        float(ndcg.mean()),
        0.0 if np.isnan(together) else together,
        float(kl_divergence(judged.target, q).mean()),
        ndcg,
    )


def _top_lists(data: Validation, weights: np.ndarray, lam: float, k: int) -> np.ndarray:
    """users × k positions in each user's candidates of the blend's (re-ranked) top k."""
    scores = data.z @ weights
    if lam <= 0:
        width = min(k, scores.shape[1])
        top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1)
    scores = np.where(data.movies >= 0, scores, -np.inf)  # padding is no candidate
    pool = rerank_pool(scores, data.genres, data.target, k, quota_from=data.quota_from)
    width = max(int(pool.sum(axis=1).max()), 1)
    top = np.argsort(np.where(pool, -scores, np.inf), axis=1, kind="stable")[:, :width]
    rows = np.arange(len(top))[:, None]
    candidates = np.where(pool[rows, top], scores[rows, top], -np.inf)
    picked = calibrated_rerank_many(candidates, data.genres[rows, top], data.target, k, lam)
    return np.take_along_axis(top, picked, axis=1)


def clearly_positive(gain: np.ndarray) -> bool:
    """Whether a per-user NDCG gain exceeds :data:`SIGNIFICANCE` standard errors of its mean:
    a smaller one is the validation users' noise, and keeping it trades the best part's lists
    for ones no better for the next users."""
    if len(gain) < 2:
        return bool(gain.sum() > 0)
    return bool(gain.mean() > SIGNIFICANCE * standard_error(gain))


def standard_error(gain: np.ndarray) -> float:
    """The standard error of a per-user gain's mean (0 for fewer than two users)."""
    return float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else 0.0


def out_of_bag_gain(
    data: Validation,
    samples: list[np.ndarray],
    fits: list[tuple[np.ndarray, float]],
    baseline: Figures,
    k: int,
) -> np.ndarray:
    """Per user left out of at least one resample: the mean NDCG gain over the ``baseline``
    part alone of the blends fitted without them, an honest estimate where the ascent's own
    gain is not (it picks the best of many trials on the very users it is scored on)."""
    total, count = np.zeros(len(data.ideal)), np.zeros(len(data.ideal))
    for sample, (weights, lam) in zip(samples, fits, strict=True):
        out = np.setdiff1d(np.arange(len(data.ideal)), sample)
        if len(out):
            total[out] += figures(data.take(out), weights, lam, k).per_user - baseline.per_user[out]
            count[out] += 1
    return total[count > 0] / count[count > 0]


def within(trial: Figures, most: Figures) -> bool:
    """Whether a blend is as personal (less :data:`PERSONALIZATION_SLACK`) and as well
    calibrated as the most personal part, whose figures ``most`` are.

    Calibration is not asked to be clearly better (one standard error of the per-user
    difference was tried): on Microsoft's ml-100k protocol it refused `hybrid-watch`'s blend on
    one seed of five (0.4784 against 0.4981) and took its mean below 0.49.
    """
    return (
        trial.personalization >= most.personalization - PERSONALIZATION_SLACK
        and trial.miscalibration <= most.miscalibration + 1e-9
    )


def most_personal(alone: list[Figures]) -> Figures:
    """The figures of the part whose lists differ most between users."""
    return alone[int(np.argmax([f.personalization for f in alone]))]


def best_part_within(alone: list[Figures]) -> int:
    """The part that finds most alone within the most personal part's taste bounds: the
    ascent's start, and what serves when no blend clearly finds more. The most personal part
    is always within them; another can be (on ml-latest-small's regulars EASE finds twice the
    two-tower's NDCG as personally)."""
    most = most_personal(alone)
    inside = [p for p, f in enumerate(alone) if within(f, most)]
    return max(inside, key=lambda p: alone[p].ndcg)


def constrained_ascent(
    data: Validation, k: int, rounds: int = 3
) -> tuple[np.ndarray, float, list[Figures], Figures]:
    """Weights and λ maximising NDCG within the most personal part's taste bounds (module
    docstring). Returns (weights summing to 1, λ, each part's figures, the blend's)."""
    n_parts = data.z.shape[2]
    alone = [figures(data, np.eye(n_parts)[p], 0.0, k) for p in range(n_parts)]
    start = best_part_within(alone)
    weights, lam, best = np.eye(n_parts)[start], 0.0, alone[start]
    most = most_personal(alone)

    def finds_more(trial_w: np.ndarray, trial_lam: float) -> Figures:
        """The trial's figures; its taste figures only where its NDCG beats the best's."""
        return figures(data, trial_w, trial_lam, k, above=best.ndcg + 1e-9)

    for _ in range(rounds):
        improved = False
        for p in range(n_parts):
            for value in _GRID:
                trial_w = weights.copy()
                trial_w[p] = value
                if not trial_w.any() or np.array_equal(trial_w, weights):
                    continue
                trial, trial_lam = finds_more(trial_w, lam), lam
                # a step that finds more but leaves the bounds may come back inside them with
                # stronger calibration (which lowers miscalibration and mostly raises
                # personalization): try that before giving the step up
                for stronger in LAMBDAS[LAMBDAS > lam]:
                    if trial.ndcg <= best.ndcg + 1e-9 or within(trial, most):
                        break
                    trial, trial_lam = finds_more(trial_w, float(stronger)), float(stronger)
                if trial.ndcg > best.ndcg + 1e-9 and within(trial, most):
                    best, weights, lam, improved = trial, trial_w, trial_lam, True
        for value in LAMBDAS:
            if value == lam:
                continue
            trial = finds_more(weights, float(value))
            if trial.ndcg > best.ndcg + 1e-9 and within(trial, most):
                best, lam, improved = trial, float(value), True
        if not improved:
            break
    total = weights.sum()
    return (weights / total if total > 0 else weights), lam, alone, best


def fit_regime(
    sets: list[UserSet],
    genres: np.ndarray,
    n_parts: int,
    k: int,
    bags: int,
    rng: np.random.Generator,
    served: list[UserSet] | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """One regime's weights and λ, bagged over bootstrap resamples of its validation users.

    One ascent on a few hundred users chases their noise; the mean of the resamples' weights
    (and the median of their λ) keeps what most agree on. If that mean leaves the bounds on
    all the users, the ascent on all of them is used instead. Either gives way to the part
    that finds most alone within the bounds (uncalibrated; :func:`best_part_within`) unless
    its NDCG gain over that part is :func:`clearly_positive`: out of bag where there are
    resamples, else on the users it was fitted on. ``served``: the same users' sets from the
    parts that will serve them, on which the bounds are judged. Returns the weights, λ, and a
    (parts + 1) × 3 array of NDCG, personalization, miscalibration: each part, then the
    blend.
    """
    if not sets:
        weights = np.eye(n_parts)[0]
        return weights, 0.0, np.zeros((n_parts + 1, 3))
    data = stack(sets, genres, k, served)
    weights, lam, alone, best = constrained_ascent(data, k)
    baseline_index = best_part_within(alone)
    baseline = alone[baseline_index]
    most = most_personal(alone)
    gain = best.per_user - baseline.per_user
    if bags > 1:
        samples = [rng.integers(0, len(sets), len(sets)) for _ in range(bags)]
        draws = [constrained_ascent(data.take(sample), k) for sample in samples]
        bagged_w = np.mean([d[0] for d in draws], axis=0)
        bagged_lam = float(np.median([d[1] for d in draws]))
        bagged = figures(data, bagged_w, bagged_lam, k)
        if within(bagged, most) and bagged.ndcg >= baseline.ndcg:
            weights, lam, best = bagged_w, bagged_lam, bagged
        gain = out_of_bag_gain(data, samples, [(d[0], d[1]) for d in draws], baseline, k)
    kept = clearly_positive(gain)
    logger.info(
        "blend %s: its NDCG gain over part %d alone %.4f a user, standard error %.4f "
        "(%s, %d users)",
        "kept" if kept else "left for that part",
        baseline_index,
        float(gain.mean()) if len(gain) else 0.0,
        standard_error(gain),
        "out of bag" if bags > 1 else "on the users it was fitted on",
        len(gain),
    )
    if not kept:
        weights, lam, best = np.eye(n_parts)[baseline_index], 0.0, baseline
    report = np.array([[f.ndcg, f.personalization, f.miscalibration] for f in [*alone, best]])
    return weights, lam, report
