"""SAR: Smart Adaptive Recommendations, an item-similarity model (Microsoft Recommenders).

Two matrices, both from counting, nothing learned by descent:

* item–item co-occurrence ``C = XᵀX`` over the users' binary interactions (``X_um = 1`` when
  ``u`` rated ``m``; with ``liked`` weighting only ratings at or above ``like_threshold``
  count), entries below ``threshold`` zeroed, turned into a similarity ``S``: ``jaccard``
  ``C_ij / (C_ii + C_jj − C_ij)`` (the default), ``lift`` ``C_ij / (C_ii · C_jj)`` or
  ``cooccurrence`` ``C_ij`` itself;
* each user's affinity ``A_um``: the rating's weight (its value for ``rating``, 1 for
  ``binary``, 1 or 0 for ``liked``) times a time decay ``2^(−(t_max − t) / T)``, ``T`` the
  half-life ``time_decay_days`` and ``t_max`` the latest timestamp in training (no decay when
  every timestamp is 0, as for data without them, or when ``time_decay_days`` is None).

A user's scores are ``A_u · S``; a movie's similar movies are its row of ``S``. ``S`` is kept
dense float32 (``4·n²`` bytes, ``n`` the catalogue at fit: 11 MB for ml-100k's 1,682 movies,
0.4 GB for ml-latest-small's 9.7k), since the co-occurrence of a movie catalogue is dense
enough that a sparse ``S`` would cost more; ``A`` is sparse, one row per user.

Online: a user has no learned state but their affinity row, so ``fold_in_user`` replaces it
(and their seen list). The fold-in carries no timestamps, so the new history counts as rated
now (a decay of 1): with the default half-life a trained user folded back in scores close
to, not exactly, what training gave them. ``S`` is counted at ``fit`` only. A movie that
``fold_in_movie`` appends is outside ``S`` (like EASE's ``B``): it joins its raters' seen lists
and affinity rows, scores 0 for everyone and is similar to nothing until a refit.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.data.idmap import IdMap
from movierec.models.base import Config
from movierec.models.feedback import check_weighting, feedback_matrix, low_ratings_are_interest
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.models.seen import SeenLists
from movierec.validate import number_at_least, one_of, positive_int

logger = logging.getLogger(__name__)

SIMILARITIES = ("jaccard", "lift", "cooccurrence")
_DAY = 86_400.0  # timestamps are seconds


@dataclasses.dataclass(frozen=True)
class SARConfig(Config):
    """Hyper-parameters of SAR (Microsoft Recommenders' quick-start defaults).

    Attributes:
        similarity: ``jaccard``, ``lift`` or ``cooccurrence`` (see the module notes).
        threshold: co-occurrence counts below it are zeroed (1 keeps every pair).
        weighting: a rating's weight in the affinity: ``rating`` (its value), ``binary`` (1)
            or ``liked`` (1 at or above ``like_threshold``; lower ratings count nowhere, in
            the co-occurrence neither).
        like_threshold: the rating that counts as liked (``liked`` weighting only).
        time_decay_days: the affinity's half-life in days; None: no decay.
    """

    similarity: str = "jaccard"
    threshold: int = 1
    weighting: str = "rating"
    like_threshold: float = 4.0
    time_decay_days: float | None = 30.0

    def validate(self) -> None:
        super().validate()
        one_of(self.similarity, "similarity", SIMILARITIES)
        positive_int(self.threshold, "threshold")
        check_weighting(self)
        number_at_least(self.time_decay_days, "time_decay_days", strict=True, optional=True)


class SAR(OnlineRecommender):
    """Top-N recommendations from co-occurrence similarity and time-decayed affinity.

    A fold-in of a user replaces their affinity row: their scores are the new row times ``S``
    at once (the history counting as rated now, see the module notes).
    """

    kind = "sar"
    config_class = SARConfig
    config: SARConfig
    keeps_ratings = True  # history() gives the ratings back; the affinity is kept apart
    # learned by fit, restored by load (movie_votes too: float64, per movie index)
    similarity: np.ndarray  # S over the movies known at fit, float32
    _affinity: SeenLists  # A: per user, movie indices and their affinity (float32)

    def __init__(self, config: SARConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.low_ratings_count_as_interest = low_ratings_are_interest(self.config.weighting)

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data)
        cfg = self.config
        x = feedback_matrix(matrix, cfg.weighting, cfg.like_threshold)
        self.similarity = sar_similarity(x, cfg.similarity, cfg.threshold)
        decay = time_decay(data, self.users, self.movies, cfg.time_decay_days)
        affinity = x if decay is None else sp.csr_matrix(x.multiply(decay))
        affinity.sort_indices()
        self._affinity = SeenLists.from_matrix(affinity, keep_ratings=True)
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        logger.info(
            "sar: %d users × %d movies, %s similarity", x.shape[0], x.shape[1], cfg.similarity
        )
        return self

    def _weights(self, ratings: np.ndarray) -> np.ndarray:
        """Each rating's weight in the affinity, as :func:`feedback_matrix` gives it."""
        cfg = self.config
        if cfg.weighting == "binary":
            return np.ones(len(ratings), np.float32)
        if cfg.weighting == "liked":
            return (ratings >= cfg.like_threshold).astype(np.float32)
        return ratings.astype(np.float32)

    def _user_scores(self, user: int) -> np.ndarray:
        movies, values = self._affinity.rated(user)
        n = len(self.similarity)
        inside = movies < n  # a folded-in movie is outside S
        scores = np.zeros(len(self.movies))
        scores[:n] = values[inside] @ self.similarity[movies[inside]]
        return scores

    def _similar_scores(self, movie: int) -> np.ndarray:
        scores = np.zeros(len(self.movies))
        if movie < len(self.similarity):
            scores[: len(self.similarity)] = self.similarity[movie]
        return scores

    def _state(self) -> dict[str, np.ndarray]:
        indptr, indices, values = self._affinity.to_csr()
        assert values is not None  # the affinity lists keep their values
        return {
            "similarity": self.similarity,
            "affinity_indptr": indptr,
            "affinity_indices": indices,
            "affinity_values": values,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = arrays["similarity"]
        self._affinity = SeenLists(
            np.asarray(arrays["affinity_indptr"]),
            np.asarray(arrays["affinity_indices"]),
            np.asarray(arrays["affinity_values"]),
        )
        indices = self._seen_lists.indices
        self.movie_votes = np.bincount(indices, minlength=len(self.movies)).astype(np.float64)

    # --- online -------------------------------------------------------------------------------

    def _learn_user(self, row: FoldIn) -> None:
        """The user's affinity row becomes their history's weights, undecayed (rated now)."""
        self._affinity.replace(row.index, row.idx, self._weights(row.ratings))

    def _learn_movie(self, row: FoldIn) -> None:
        """Append a new movie; a known one needs nothing (histories follow ``fold_in_user``).

        ``S`` comes from counting every pair at fit, so a new movie stays outside it (a zero
        row and column, without copying the ``n²`` matrix to grow it) until a refit. It joins
        its raters' affinity rows (undecayed) and, through the base class, their seen lists.
        """
        if not row.new:
            return
        votes = self._fitted(self.movie_votes)
        self._affinity.add_movie(row.index, row.idx, self._weights(row.ratings))
        self.movie_votes = np.append(votes[: row.index], float(len(row.idx)))


def sar_similarity(x: sp.csr_matrix, kind: str, threshold: int) -> np.ndarray:
    """SAR's item–item similarity (dense float32) of a users × items feedback matrix.

    Only the pattern of ``x`` counts: ``C = XᵀX`` over 0/1 entries, the counts below
    ``threshold`` zeroed, then ``kind`` (see the module notes); 0 where a denominator is 0.
    """
    binary = sp.csr_matrix((np.ones(x.nnz), x.indices, x.indptr), shape=x.shape)
    binary.eliminate_zeros()
    counts = np.asarray((binary.T @ binary).todense(), dtype=np.float64)
    counts[counts < threshold] = 0.0
    if kind == "cooccurrence":
        return counts.astype(np.float32)
    diagonal = counts.diagonal().copy()
    if kind == "jaccard":
        denominator = diagonal[:, None] + diagonal[None, :] - counts
    elif kind == "lift":
        denominator = np.outer(diagonal, diagonal)
    else:
        raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {kind!r}")
    out = np.divide(counts, denominator, out=np.zeros_like(counts), where=denominator > 0)
    return out.astype(np.float32)


def time_decay(
    data: Dataset, users: IdMap, movies: IdMap, half_life_days: float | None
) -> sp.csr_matrix | None:
    """Each rating's decay ``2^(−(t_max − t) / T)``, users × movies as the id maps index them;
    None where nothing decays (no half-life, or every timestamp 0)."""
    stamps = data.ratings["timestamp"].to_numpy(np.float64)
    if half_life_days is None or not stamps.any():
        return None
    decay = np.exp2(-(stamps.max() - stamps) / (half_life_days * _DAY))
    rows = users.indices(data.ratings["user_id"].to_numpy())
    cols = movies.indices(data.ratings["movie_id"].to_numpy())
    return sp.csr_matrix((decay, (rows, cols)), shape=(len(users), len(movies)))
