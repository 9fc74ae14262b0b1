"""EASE: a shallow linear autoencoder with a closed form (Steck, WWW 2019).

Learn an items × items weight matrix ``B`` that rebuilds each user's row from the other items,
``min ‖X − XB‖² + λ‖B‖²`` subject to ``diag(B) = 0``. The constraint keeps an item from
predicting itself, and the problem has the closed form

    ``P = (XᵀX + λI)⁻¹``,  ``B = I − P · diagMat(1 / diag(P))``,  i.e. ``B_ij = −P_ij / P_jj``.

A user's scores are ``X_u · B``. ``X`` is the user × movie matrix turned into implicit feedback
(:func:`feedback_matrix`): ``rating`` (the rating value; the default), ``binary`` (1 for every
rating, the paper's setting) or ``liked`` (1 for ratings at or above ``like_threshold``). On a
validation split of ml-100k (a per-user 20% holdout of the training part), rating weights with
λ = 5000 gave the best NDCG@10 when relevant means rated ≥ 4 (0.243, against 0.227 for binary at
its best λ of 500 and 0.238 for liked) and tied binary when every held-out rating counts
(0.266). λ scales with the squared feedback values, hence 5000 here against 500 for binary.

Dislikes: ``X`` counts every rating as interest when ``B`` is fitted (having watched a film
says what else one watches), but in a user's scores a rating below ``dislike_below`` (2.5: 1★
and 2★ of five) counts ``−dislike`` (1), so a film's neighbours are pushed down by a dislike of
it rather than pulled up: told Titanic, Casablanca and Schindler's List 5★ and Star Wars and
The Empire Strikes Back 1★, a newcomer's list had Return of the Jedi 8th, now near the bottom.
On ml-100k and ml-latest-small (``bench/taste.py``'s newcomers with 5 and 20 ratings and
regulars) this raised NDCG@10 in every column (ml-100k regulars 0.3909 → 0.3915, newcomers-20
0.313 → 0.318), and long-tail NDCG and personalization on ml-100k; miscalibration moved by
0.034 at most.

Similar movies use the partial correlation of two movies given all others, read off the same
precision matrix: ``ρ_ij = −P_ij / √(P_ii P_jj) = B_ij · √(P_jj / P_ii)``. It is symmetric, and
unlike a column of ``B`` it does not favour popular movies (whose small ``P_jj`` inflates
``B_ij``), which suits a "more like this" list.

Cost: one dense ``n × n`` Gram matrix and its inverse, ``n`` the movies with at least one rating
(movies without ratings score 0, which is what the closed form gives them). Peak memory is about
``12·n²`` bytes (float64 Gram, float32 ``B``): 34 MB for ml-100k, 1.1 GB for ml-latest-small's
9.7k movies. Above ``max_items`` only the most-rated movies are modelled (a warning says so).

Online: a user has no learned state, only their history, so ``fold_in_user`` is exact: it
replaces the user's rated movies and ratings, and their scores are that row times ``B`` at once
(with their training history, the very scores training gave them). ``B`` itself is learned at
``fit`` only. A movie ``fold_in_movie`` appends is outside ``B``, like a movie nobody rated in
training: it scores 0 for everyone and is similar to nothing until a refit, which is what a zero
row and column in ``B`` would give, without copying the ``n²`` matrix to grow it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Self

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.models.base import Config
from movierec.models.feedback import (
    check_weighting,
    feedback_matrix,
    feedback_values,
    low_ratings_are_interest,
)
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.validate import finite_number, number_at_least, positive_int

logger = logging.getLogger(__name__)

_GRAM_BLOCK = 2048  # movies per dense block of the Gram product


@dataclasses.dataclass(frozen=True)
class EASEConfig(Config):
    """Hyper-parameters of EASE.

    Attributes:
        l2: λ, the ridge penalty; larger favours popular items. It scales with the squared
            feedback: 5000 is the best for ``rating`` on a validation split of ml-100k, 500 for
            ``binary`` and ``liked`` (Steck used 200–1000, binary, on larger data).
        weighting: how ratings become implicit feedback: ``binary``, ``rating`` or ``liked``.
        like_threshold: the rating that counts as liked (``liked`` weighting only).
        max_items: most movies modelled; bounds the ``n²`` memory (see the module notes).
        dislike: in a user's scores, a rating below ``dislike_below`` counts ``−dislike``,
            pushing its neighbours down (module notes); 0: it counts as ``weighting`` says.
        dislike_below: the ratings that are dislikes are those below it.
    """

    l2: float = 5000.0
    weighting: str = "rating"
    like_threshold: float = 4.0
    max_items: int = 15_000
    dislike: float = 1.0
    dislike_below: float = 2.5

    def validate(self) -> None:
        super().validate()
        number_at_least(self.l2, "l2", strict=True)
        check_weighting(self)
        positive_int(self.max_items, "max_items")
        check_dislike(self)


def check_dislike(config: Any) -> None:
    """Validation shared by EASE and low-rank EASE: how a disliked rating counts."""
    number_at_least(config.dislike, "dislike")
    finite_number(config.dislike_below, "dislike_below")


def history_feedback(ratings: np.ndarray, config: Any) -> np.ndarray:
    """A history's feedback in a user's scores: ``weighting``'s strengths, and ``−dislike`` for
    each rating below ``dislike_below`` (float32, as :func:`feedback_values`)."""
    values = feedback_values(ratings, config.weighting, config.like_threshold)
    if config.dislike > 0:
        values[ratings < np.float32(config.dislike_below)] = -np.float32(config.dislike)
    return values


class EASE(OnlineRecommender):
    """Top-N recommendations from EASE's item-to-item weights; a strong, tuning-light baseline.

    A fold-in of a user sets their history and nothing is re-solved: their scores are the new
    row times ``B`` at once, exactly (the ratings enter ``B`` at a refit).
    """

    kind = "ease"
    config_class = EASEConfig
    config: EASEConfig
    keeps_ratings = True  # a user's scores are their history row times B
    fold_in_matches_training = True
    # learned by fit, restored by load (movie_votes too: float64, per movie index)
    weights: np.ndarray  # B over the modelled movies, float32
    _modelled: np.ndarray  # movie index of each row/column of B
    _position: np.ndarray  # movie index → row of B, or -1
    _precision_root: np.ndarray  # √diag(P)

    def __init__(self, config: EASEConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        # B is fitted with every rating as interest whatever ``dislike`` says of the scores
        self.low_ratings_count_as_interest = low_ratings_are_interest(self.config.weighting)

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data)
        cfg = self.config
        x = feedback_matrix(matrix, cfg.weighting, cfg.like_threshold)
        counts = np.bincount(x.indices, minlength=x.shape[1])
        modelled = np.flatnonzero(counts)
        if len(modelled) > cfg.max_items:
            keep = np.argsort(-counts[modelled], kind="stable")[: cfg.max_items]
            logger.warning(
                "ease: %d movies have ratings; modelling only the %d most rated "
                "(max_items); the others score 0",
                len(modelled),
                cfg.max_items,
            )
            modelled = np.sort(modelled[keep])
        weights, diagonal = ease_weights(x[:, modelled], cfg.l2)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self._precision_root = np.sqrt(diagonal)
        self._set_modelled(modelled)
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        logger.info("ease: %d users × %d movies, λ=%g", x.shape[0], len(modelled), cfg.l2)
        return self

    def _set_modelled(self, modelled: np.ndarray) -> None:
        self._modelled = np.asarray(modelled, dtype=np.int64)
        self._position = np.full(len(self.movies), -1, dtype=np.int64)
        self._position[self._modelled] = np.arange(len(self._modelled))

    def _feedback(self, ratings: np.ndarray) -> np.ndarray:
        """The feedback strength of each rating in a user's scores, dislikes negative (float32,
        which keeps B's product in float32)."""
        return history_feedback(ratings, self.config)

    def _user_scores(self, user: int) -> np.ndarray:
        movies, ratings = self._seen_lists.rated(user)
        values = self._feedback(ratings)
        rows = self._position[movies]
        inside = (rows >= 0) & (values != 0)  # "liked" drops the rest, as feedback_matrix does
        scores = np.zeros(len(self.movies))
        scores[self._modelled] = values[inside] @ self.weights[rows[inside]]
        return scores

    def _similar_scores(self, movie: int) -> np.ndarray:
        scores = np.zeros(len(self.movies))
        row = self._position[movie]
        if row >= 0:
            root = self._precision_root
            scores[self._modelled] = self.weights[row] * (root / root[row])
        return scores

    def _pair_scores(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """:meth:`_similar_scores` of many movies in one gather (a ranking's reasons)."""
        full = np.zeros((len(rows), len(self.movies)))
        position = self._position[rows]
        inside = np.flatnonzero(position >= 0)
        root = self._precision_root
        picked = position[inside]
        full[np.ix_(inside, self._modelled)] = self.weights[picked] * (root / root[picked, None])
        known = (columns >= 0) & (columns < full.shape[1])
        out = np.full((len(rows), len(columns)), np.nan)
        out[:, known] = full[:, columns[known]]
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights,
            "modelled": self._modelled,
            "precision_root": self._precision_root,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = arrays["weights"]
        self._precision_root = np.asarray(arrays["precision_root"])
        self._set_modelled(np.asarray(arrays["modelled"]))
        if not self._seen_lists.keeps_ratings:  # saved before EASE folded in
            self._seen_lists = self._seen_lists.with_ratings(self._ratings_from_feedback(arrays))
        indices = self._seen_lists.indices
        self.movie_votes = np.bincount(indices, minlength=len(self.movies)).astype(np.float64)

    def _ratings_from_feedback(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Ratings for an artifact saved before EASE folded in, which kept only the feedback
        strengths: values that give the same strengths (exact for ``rating``, a stand-in of
        the right side of ``like_threshold`` for ``liked``, ``dislike_below`` for ``binary``:
        a stand-in is never read as a dislike, the ratings being unknown)."""
        seen = self._seen_lists
        x = sp.csr_matrix(
            (
                np.asarray(arrays["feedback_data"]),
                np.asarray(arrays["feedback_indices"]),
                np.asarray(arrays["feedback_indptr"]),
            ),
            shape=(len(seen.indptr) - 1, len(self.movies)),
        )
        rows = np.repeat(np.arange(x.shape[0]), np.diff(seen.indptr))
        strength = np.asarray(x[rows, seen.indices]).ravel()
        if self.config.weighting == "liked":
            threshold = self.config.like_threshold
            return np.where(strength > 0, threshold, threshold - 1.0)
        if self.config.weighting == "binary":
            return np.full(len(strength), max(1.0, self.config.dislike_below))
        return strength

    # --- online -------------------------------------------------------------------------------

    def _learn_movie(self, row: FoldIn) -> None:
        """Append a new movie; a known one needs nothing (seen lists follow ``fold_in_user``).

        Unlike the factor models, EASE cannot place a new movie from its raters: its weights
        in ``B`` come from the closed form over every movie at once. Until a refit the new
        movie stays outside ``B`` (a zero row and column): it scores 0 for every user (below
        every movie ``B`` scores positively) and is similar to nothing. It does join each
        listed user's seen movies, and its vote count is theirs.
        """
        if not row.new:
            return
        movie = row.index
        # grown copies of the per-movie arrays (B is not touched), published before the id
        self._position = np.append(self._position[:movie], np.int64(-1))
        votes = self._fitted(self.movie_votes)
        self.movie_votes = np.append(votes[:movie], float(len(row.idx)))


def ease_weights(x: sp.spmatrix, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """EASE's ``B`` (float64, zero diagonal) and ``diag(P)`` for a users × items matrix.

    The Gram matrix is built block by block of columns (sparse products, as fast as dense BLAS
    on ml-100k and faster on sparser data), so neither a dense ``X`` nor a sparse ``n × n``
    product is ever whole in memory;
    the inverse is LAPACK's Cholesky-based ``potrf``/``potri`` in place, since ``XᵀX + λI`` is
    symmetric positive definite.
    """
    x = sp.csc_matrix(x, dtype=np.float64)
    n = x.shape[1]
    gram = np.empty((n, n), order="F")  # LAPACK works in place on Fortran order only
    xt = x.T.tocsr()
    for start in range(0, n, _GRAM_BLOCK):
        stop = min(n, start + _GRAM_BLOCK)
        gram[:, start:stop] = (xt @ x[:, start:stop]).toarray()
    gram[np.diag_indices(n)] += l2
    factor, info = scipy.linalg.lapack.dpotrf(gram, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"XᵀX + λI is not positive definite (dpotrf info {info})")
    precision, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverting XᵀX + λI failed (dpotri info {info})")
    for start in range(0, n, _GRAM_BLOCK):  # potri fills the upper triangle: mirror it
        stop = min(n, start + _GRAM_BLOCK)
        block = precision[start:stop, start:stop]
        precision[start:stop, start:stop] = np.triu(block) + np.triu(block, 1).T
        precision[start:stop, :start] = precision[:start, start:stop].T
    diagonal = precision.diagonal().copy()
    precision /= -diagonal[None, :]
    precision[np.diag_indices(n)] = 0.0
    return precision, diagonal
