"""Accuracy, ranking and beyond-accuracy metrics, vectorised over users.

Rating metrics, over test ratings whose user and movie both appear in the training ratings
(the others are dropped and counted by the runner):

* ``rmse`` = sqrt(mean((r − r̂)²)); ``mae`` = mean(|r − r̂|).

Ranking metrics at cut-off k. For a user u, ``L_u`` is the model's list of at most k movies
(seen movies excluded), in the model's own order — score ties are broken by that order, never
re-sorted here. ``R_u`` is the set of u's *relevant* test movies: those rated at least the
relevance threshold (``None``: every test movie is relevant). ``h_j`` = 1 when the j-th movie
of ``L_u`` (j = 1..k) is in ``R_u``. Users with an empty ``R_u`` are skipped (and counted);
each metric is the mean over the remaining users of:

* ``precision`` = Σ h_j / k (k, not |L_u|: a short list is not rewarded);
* ``recall`` = Σ h_j / |R_u|;
* ``ndcg`` = DCG / IDCG with binary gains and a log2 discount:
  DCG = Σ_j h_j / log2(j + 1), IDCG = Σ_{j=1..min(|R_u|, k)} 1 / log2(j + 1);
* ``map`` (AP@k) = Σ_j h_j · P@j / min(|R_u|, k), P@j = (Σ_{i≤j} h_i) / j — normalised by
  the most hits k places allow, so a perfect list scores 1 even when |R_u| > k
  (trec_eval's ``map_cut_k`` divides by |R_u| instead);
* ``hit_rate`` = 1 if Σ h_j > 0 else 0.

Beyond accuracy, over every list the model produced for the evaluated users:

* ``coverage`` = |∪_u L_u| / catalogue size (catalogue rows, rated or not);
* ``popularity`` = mean, over every recommended (user, movie) slot, of that movie's number of
  training ratings — lower means the model reaches further into the long tail.

The figures a popularity list cannot game — ``longtail_ndcg``, ``longtail_recall``,
``miscalibration``, ``popularity_lift``, ``personalization``, ``novelty`` and
``intra_list_diversity`` — are defined, with their references, in
:mod:`movierec.evaluate.beyond`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.validate import check_k

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
RATING_METRICS = ("rmse", "mae")
BEYOND_METRICS = (
    "coverage",
    "popularity",
    "longtail_ndcg",
    "longtail_recall",
    "miscalibration",
    "popularity_lift",
    "personalization",
    "novelty",
    "intra_list_diversity",
)


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error; NaN for no pairs."""
    truth, predicted = _pairs(truth, predicted)
    return float(np.sqrt(np.mean((truth - predicted) ** 2))) if len(truth) else float("nan")


def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error; NaN for no pairs."""
    truth, predicted = _pairs(truth, predicted)
    return float(np.mean(np.abs(truth - predicted))) if len(truth) else float("nan")


def relevant_items(test: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """The test ratings that count as relevant: ``rating ≥ threshold`` (all when ``None``)."""
    if threshold is None:
        return test
    return test[test["rating"].to_numpy() >= threshold - 1e-9]


def stack_rankings(lists: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ragged recommendation lists as a (users × k) id matrix and their lengths.

    Slots past a list's end hold 0 and are masked out by the lengths wherever they matter.
    """
    matrix = np.zeros((len(lists), k), np.int64)
    lengths = np.zeros(len(lists), np.int64)
    for row, movies in enumerate(lists):
        movies = np.asarray(movies)[:k]
        matrix[row, : len(movies)] = movies
        lengths[row] = len(movies)
    return matrix, lengths


@dataclass(frozen=True)
class RankingScores:
    """Per-user ranking metrics of the users that had something relevant to find."""

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    skipped_users: int

    def means(self) -> dict[str, float]:
        """Each metric's mean over the evaluated users (NaN when none was evaluated)."""
        return {
            name: float(values.mean()) if len(values) else float("nan")
            for name, values in self.per_user.items()
        }


def ranking_scores(
    user_ids: np.ndarray,
    recommended: np.ndarray,
    lengths: np.ndarray,
    relevant: pd.DataFrame,
    k: int,
) -> RankingScores:
    """Precision, recall, NDCG, AP and hit rate at ``k`` for each user (module docstring).

    Args:
        user_ids: the users recommended for, one row each, unique.
        recommended: (users × k) movie ids best first, from :func:`stack_rankings`.
        lengths: how many slots of each row are real.
        relevant: ``user_id``/``movie_id`` pairs that count as relevant
            (:func:`relevant_items`); pairs of users outside ``user_ids`` are ignored.
        k: the cut-off; rows are truncated to it.
    """
    user_ids = np.asarray(user_ids)
    check_k(k)
    if recommended.shape != (len(user_ids), recommended.shape[1]) or len(lengths) != len(user_ids):
        raise ValueError("recommended and lengths need one row per user")
    width = min(k, recommended.shape[1])
    recommended = recommended[:, :width]
    valid = np.arange(width) < np.minimum(lengths, width)[:, None]

    rows = pd.Index(user_ids).get_indexer(relevant["user_id"].to_numpy())
    inside = rows >= 0
    rel_keys = np.unique(_keys(rows[inside], relevant["movie_id"].to_numpy()[inside]))
    n_relevant = np.bincount((rel_keys >> 32).astype(np.int64), minlength=len(user_ids))
    rec_keys = _keys(np.repeat(np.arange(len(user_ids)), width), recommended.ravel())
    hits = np.isin(rec_keys, rel_keys).reshape(recommended.shape) & valid

    keep = n_relevant > 0
    hits, n_rel = hits[keep].astype(np.float64), n_relevant[keep].astype(np.float64)
    found = hits.sum(axis=1)
    ranks = np.arange(1, width + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    ideal = np.cumsum(1.0 / np.log2(np.arange(1, k + 1, dtype=np.float64) + 1.0))
    capped = np.minimum(n_rel, k).astype(np.int64)
    precision_at = np.cumsum(hits, axis=1) / ranks
    per_user = {
        "precision": found / k,
        "recall": found / n_rel,
        "ndcg": (hits * discount).sum(axis=1) / ideal[capped - 1],
        "map": (hits * precision_at).sum(axis=1) / capped,
        "hit_rate": (found > 0).astype(np.float64),
    }
    return RankingScores(user_ids[keep], per_user, int((~keep).sum()))


def coverage(recommended: np.ndarray, lengths: np.ndarray, catalog_size: int) -> float:
    """Distinct recommended movies over the catalogue size."""
    if catalog_size <= 0:
        raise ValueError(f"catalog_size must be positive, got {catalog_size!r}")
    return len(np.unique(real_slots(recommended, lengths))) / catalog_size


def mean_popularity(
    recommended: np.ndarray, lengths: np.ndarray, train_ratings: pd.DataFrame
) -> float:
    """Mean number of training ratings of the recommended movies, slot by slot."""
    movies = real_slots(recommended, lengths)
    if not len(movies):
        return float("nan")
    counts = train_ratings["movie_id"].value_counts()
    where = counts.index.get_indexer(movies)
    votes = np.where(where >= 0, counts.to_numpy()[np.maximum(where, 0)], 0)
    return float(votes.mean())


def real_slots(recommended: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The movie ids of the real slots, row by row (padding past each length dropped)."""
    return recommended[np.arange(recommended.shape[1]) < lengths[:, None]]


def _keys(rows: np.ndarray, movies: np.ndarray) -> np.ndarray:
    """One int64 per (row, movie) pair: the row in the high 32 bits, the movie id below."""
    low = np.asarray(movies).astype(np.int64) & 0xFFFFFFFF
    return (np.asarray(rows).astype(np.int64) << 32) | low


def _pairs(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape:
        raise ValueError(
            f"truth and predictions differ in shape: {truth.shape} vs {predicted.shape}"
        )
    return truth, predicted
