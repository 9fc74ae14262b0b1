"""Beyond-accuracy metrics: figures a popularity list cannot game, vectorised over users.

Plain NDCG on MovieLens rewards popularity (the all-time chart beats most personal models on
it), so these ask whether the lists follow the person. Notation as in
:mod:`movierec.evaluate.metrics`: ``L_u`` is user u's list of at most k movies, ``R_u`` their
relevant test movies. Training popularity: ``n(i)`` = training ratings of movie i (one per
user, as every source keeps), ``N`` = training users, ``share(i) = n(i)/N``. A user's
*profile* ``P_u`` is what the model knew of them: their training ratings on the warm splits,
the profile told by ``fold_in_user`` on ``cold-users``.

* ``longtail_ndcg``, ``longtail_recall`` — popularity-debiased ranking (in the spirit of
  Abdollahpouri et al., "Controlling popularity bias in learning-to-rank recommendation",
  RecSys 2017, which splits the catalogue into a short head and a long tail). The *short head*
  H is the ``⌈share·M⌉`` most-rated movies of the training ratings (share 0.1 by default; M =
  movies with at least one training rating; equal counts by lower movie id). Head movies are
  removed from ``R_u`` and are never hits, so a recommended head movie just takes a slot;
  then ndcg and recall as in ``metrics`` over ``R_u \\ H``, IDCG over ``min(|R_u \\ H|, k)``
  places. Users with no relevant long-tail movie are skipped for these two only.
* ``miscalibration`` (Steck, "Calibrated recommendations", RecSys 2018) — mean over users of
  ``KL(p_u ‖ (1−α)q_u + αp_u)``, α = 0.01, over the genres with ``p_u(g) > 0``: ``p_u`` the
  genre distribution of the movies the user liked in ``P_u`` (rated ≥ the relevance
  threshold; all of ``P_u`` when none is liked or no threshold is set), ``q_u`` that of
  ``L_u``; each movie spreads weight 1 evenly over its genres and counts equally, movies
  without genres count for nothing (:mod:`movierec.models.calibration`). Users whose profile
  has no genre, or whose list is empty, are left out. 0 = lists in the user's genre mix.
* ``popularity_lift`` (Abdollahpouri et al., "The unfairness of popularity bias in
  recommendation", RMSE workshop at RecSys 2019, GAP) — mean over users of
  ``(GAP(L_u) − GAP(P_u)) / GAP(P_u)``, ``GAP(S)`` = mean of ``share(i)`` over ``S``. Positive:
  the lists are more popular than what the user watches. Users with an empty list, an empty
  profile or a profile of movies no training user rated (GAP 0) are left out.
* ``personalization`` — ``1 − mean Jaccard(L_u, L_v)`` over pairs of users (all pairs among
  at most 2,000 users with a non-empty list, else 200,000 pairs drawn with a fixed seed),
  ``Jaccard(A, B) = |A∩B| / |A∪B|``; 0 = everyone gets the same list.
* ``novelty`` (self-information; Zhou et al., "Solving the apparent diversity–accuracy
  dilemma of recommender systems", PNAS 2010) — mean over every recommended slot of
  ``−log2(share(i))`` bits; a movie no training user rated counts as rated once
  (``n(i) = 1``), so it is the most novel, not infinite.
* ``intra_list_diversity`` (ILD; Ziegler et al., "Improving recommendation lists through topic
  diversification", WWW 2005, with a genre distance) — mean over users of the mean over pairs
  of movies in ``L_u`` of ``1 − Jaccard(genres(i), genres(j))``; pairs involving a movie
  without genres are skipped, and users with no pair left out. Genre-based, so it is the same
  for every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.evaluate.metrics import RankingScores, ranking_scores, real_slots
from movierec.models.calibration import (
    ALPHA,
    GenreMatrix,
    genre_distributions,
    kl_divergence,
)
from movierec.validate import number_in

HEAD_SHARE = 0.1
_BLOCK = 1_024  # users per block of the pairwise genre comparisons


@dataclass(frozen=True)
class TrainingPopularity:
    """How many training users rated each movie: ``n(i)`` and ``N`` of the module docstring."""

    movie_ids: np.ndarray
    counts: np.ndarray
    n_users: int

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame) -> TrainingPopularity:
        ids, counts = np.unique(ratings["movie_id"].to_numpy(), return_counts=True)
        return cls(ids, counts, int(ratings["user_id"].nunique()))

    def count_of(self, movie_ids: np.ndarray) -> np.ndarray:
        """``n(i)`` of each movie, 0 for one without training ratings."""
        movie_ids = np.asarray(movie_ids)
        if not len(self.movie_ids):
            return np.zeros(movie_ids.shape, np.int64)
        where = np.minimum(np.searchsorted(self.movie_ids, movie_ids), len(self.movie_ids) - 1)
        return np.where(self.movie_ids[where] == movie_ids, self.counts[where], 0)

    def share_of(self, movie_ids: np.ndarray) -> np.ndarray:
        """``share(i) = n(i)/N``."""
        return self.count_of(movie_ids) / max(self.n_users, 1)


def short_head(popularity: TrainingPopularity, share: float = HEAD_SHARE) -> np.ndarray:
    """The ``⌈share·M⌉`` most-rated movie ids (M = movies with training ratings)."""
    number_in(share, "head share", 0, 1, high_open=True)
    rated = popularity.counts > 0
    ids, counts = popularity.movie_ids[rated], popularity.counts[rated]
    size = math.ceil(share * len(ids) - 1e-9)
    return np.sort(ids[np.lexsort((ids, -counts))[:size]])


def longtail_scores(
    user_ids: np.ndarray,
    recommended: np.ndarray,
    lengths: np.ndarray,
    relevant: pd.DataFrame,
    k: int,
    head: np.ndarray,
) -> RankingScores:
    """``longtail_ndcg`` and ``longtail_recall`` per user: relevant head movies removed.

    Arguments as :func:`movierec.evaluate.metrics.ranking_scores`, plus the short head
    (:func:`short_head`). A recommended head movie is not relevant any more, so it is no hit.
    """
    tail = relevant[~np.isin(relevant["movie_id"].to_numpy(), head)]
    scores = ranking_scores(user_ids, recommended, lengths, tail, k)
    return RankingScores(
        scores.users,
        {"longtail_ndcg": scores.per_user["ndcg"], "longtail_recall": scores.per_user["recall"]},
        scores.skipped_users,
    )


def novelty(recommended: np.ndarray, lengths: np.ndarray, popularity: TrainingPopularity) -> float:
    """Mean self-information ``−log2(share(i))`` of the recommended slots, in bits."""
    movies = real_slots(recommended, lengths)
    if not len(movies):
        return float("nan")
    counts = np.maximum(popularity.count_of(movies), 1)
    return float(np.mean(-np.log2(counts / max(popularity.n_users, 1))))


def popularity_lift(
    recommended: np.ndarray,
    lengths: np.ndarray,
    profile_rows: np.ndarray,
    profile_movies: np.ndarray,
    popularity: TrainingPopularity,
) -> float:
    """Mean relative GAP of the lists over the profiles (module docstring).

    Args:
        recommended, lengths: the lists, one row per user (:func:`metrics.stack_rankings`).
        profile_rows: the user (row of ``recommended``) of each profile movie.
        profile_movies: the profile movies, raw ids.
        popularity: the training popularity.
    """
    n_users = len(recommended)
    slots = np.arange(recommended.shape[1]) < lengths[:, None]
    rows = np.nonzero(slots)[0]
    listed = np.bincount(rows, popularity.share_of(recommended[slots]), n_users)
    list_size = np.bincount(rows, minlength=n_users)
    profile_rows = np.asarray(profile_rows, np.int64)
    known = np.bincount(profile_rows, popularity.share_of(profile_movies), n_users)
    profile_size = np.bincount(profile_rows, minlength=n_users)
    keep = (list_size > 0) & (profile_size > 0) & (known > 0)
    if not keep.any():
        return float("nan")
    gap_list = listed[keep] / list_size[keep]
    gap_profile = known[keep] / profile_size[keep]
    return float(np.mean((gap_list - gap_profile) / gap_profile))


def miscalibration(
    recommended: np.ndarray,
    lengths: np.ndarray,
    taste: np.ndarray,
    genres: GenreMatrix,
    alpha: float = ALPHA,
) -> float:
    """Mean ``KL(p_u ‖ (1−α)q_u + αp_u)`` (module docstring).

    Args:
        recommended, lengths: the lists, one row per user.
        taste: users × genres, each user's ``p_u``
            (:func:`movierec.models.calibration.taste_distributions`).
        genres: the catalog's genre matrix.
        alpha: Steck's smoothing α.
    """
    slots = np.arange(recommended.shape[1]) < lengths[:, None]
    rows = np.nonzero(slots)[0]
    q = genre_distributions(genres.rows, rows, genres.index(recommended[slots]), len(recommended))
    keep = (taste.sum(axis=1) > 0) & (lengths > 0)
    if not keep.any():
        return float("nan")
    return float(kl_divergence(taste[keep], q[keep], alpha).mean())


def intra_list_diversity(
    recommended: np.ndarray, lengths: np.ndarray, genres: GenreMatrix
) -> float:
    """Mean over users of the mean genre distance ``1 − Jaccard`` of pairs in the list."""
    members = np.vstack([genres.rows > 0, np.zeros((1, len(genres.names)), bool)])
    where = genres.index(recommended)  # −1 (unknown) picks the all-false last row
    where[np.arange(recommended.shape[1]) >= lengths[:, None]] = -1
    width = recommended.shape[1]
    upper = np.triu(np.ones((width, width), bool), 1)
    sums, pairs = [], []
    for start in range(0, len(recommended), _BLOCK):
        sets = members[where[start : start + _BLOCK]].astype(np.float64)  # users × k × genres
        common = np.einsum("ukg,ulg->ukl", sets, sets)
        size = sets.sum(axis=2)
        union = size[:, :, None] + size[:, None, :] - common
        valid = upper & (size[:, :, None] > 0) & (size[:, None, :] > 0)
        distance = 1.0 - np.divide(common, union, out=np.ones_like(common), where=valid)
        sums.append(np.where(valid, distance, 0.0).sum(axis=(1, 2)))
        pairs.append(valid.sum(axis=(1, 2)))
    total, count = np.concatenate(sums), np.concatenate(pairs)
    if not (count > 0).any():
        return float("nan")
    return float(np.mean(total[count > 0] / count[count > 0]))
