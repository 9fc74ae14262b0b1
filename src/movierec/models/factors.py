"""What every latent-factor model shares: the scoring and the state.

A factor model predicts ``link(offset + b_u + b_i + p_u·q_i)``, clipped to the rating scale.
The linear models (SGD matrix factorisation, ALS) use the identity link with ``offset`` the
training mean; the bounded model squashes through a sigmoid, with a learned offset. Everything
downstream of training — a user's full score vector, vectorised predictions, item–item cosine
from the learned item factors, "most appreciated" from the item biases, saving and loading —
depends only on those arrays, so it lives here once and each model writes only ``fit``.

The per-movie arrays (factors, biases, unit factors, vote counts) are held as one frozen
:class:`ItemSide` and replaced as one reference, and scoring reads that reference once: an
online fold-in that appends a movie (:mod:`movierec.models.foldin`) can then never hand a
concurrent reader factors of one length and biases of another.

The closed-form solves of one row with the other side fixed, the base of online fold-in, are
:class:`~movierec.models.foldin.OnlineFactorModel`'s.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from movierec.data.charts import weighted_rating
from movierec.data.dataset import Dataset
from movierec.models._rankkernels import row_dots, taste_kernel
from movierec.models.base import Ranking, RatingConfig, RatingPredictor
from movierec.validate import check_k, number_at_least, one_of

logger = logging.getLogger(__name__)

_PREDICT_CHUNK = 1 << 16  # rows per block in _predict, to bound the gathered factor copies


def training_triples(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user index, movie index, rating) as contiguous int32/int32/float32 arrays.

    Kernels read these three flat arrays rather than the CSR so one loop serves every order
    (shuffled or user-grouped); the CSR order is user-grouped, as Surprise's ``all_ratings``.
    """
    counts = np.diff(matrix.indptr)
    users = np.repeat(np.arange(matrix.shape[0], dtype=np.int32), counts)
    return (
        users,
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
        np.ascontiguousarray(matrix.data, dtype=np.float32),
    )


@dataclasses.dataclass(frozen=True)
class ItemSide:
    """Every per-movie array of a factor model, swapped as one reference (module docstring).

    Attributes:
        factors: Q, movies × k, float32.
        bias: item biases, float32.
        unit: Q with unit rows (zero rows stay zero), for item–item cosine.
        votes: ratings per movie, int64, for vote-count shrinkage.
        lengths: ‖q_i‖ of each row, float32 (taste ranking reads them on every request).
    """

    factors: np.ndarray
    bias: np.ndarray
    unit: np.ndarray
    votes: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.bias)

    def head(self, n: int) -> ItemSide:
        """Views of the first ``n`` rows (capacity buffers are longer than the catalogue)."""
        return ItemSide(
            self.factors[:n], self.bias[:n], self.unit[:n], self.votes[:n], self.lengths[:n]
        )


def row_lengths(factors: np.ndarray) -> np.ndarray:
    """‖row‖ of each row, float32."""
    return np.sqrt(np.einsum("ij,ij->i", factors, factors, dtype=np.float64)).astype(np.float32)


#: up to this many rows a product with every movie row is :func:`row_dots`'s one pass
_FEW_ROWS = 16


def _dots(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``rows @ vector`` in float32 (movie rows × one user's or movie's vector)."""
    return row_dots(rows, np.ascontiguousarray(vector, dtype=np.float32)[None, :])[0]


def unit_rows(factors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows (unrated movies) stay zero."""
    norms = np.linalg.norm(factors, axis=-1, keepdims=True)
    return np.divide(factors, norms, where=norms > 0, out=np.zeros_like(factors))


@dataclasses.dataclass(frozen=True)
class FactorConfig(RatingConfig):
    """What every factor model's config adds: how ``recommend`` ranks (``predict`` never moves).

    Attributes:
        rank_by: ``"taste"`` (the default) ranks by the user's taste beside a shrunk item
            bias (:meth:`FactorModel.taste_scores`); ``"rating"`` by the predicted rating,
            shrunk by ``shrink_votes`` when it is set.
        taste_weight: w, how much the taste term counts against the item's quality, in units
            of the spread of the shrunk biases.
        prior_votes: m of the item quality ``b_i · v/(v+m)`` in taste ranking.
    """

    rank_by: str = "taste"
    taste_weight: float = 3.0
    prior_votes: float = 50.0

    def validate(self) -> None:
        super().validate()
        one_of(self.rank_by, "rank_by", ("taste", "rating"))
        number_at_least(self.taste_weight, "taste_weight")
        number_at_least(self.prior_votes, "prior_votes")


class FactorModel(RatingPredictor):
    """Shared scoring and state of ``link(offset + b_u + b_i + p_u·q_i)`` models.

    Subclasses write ``fit`` and call :meth:`_install` with what they learned; a non-linear
    model overrides :meth:`_link`.
    """

    embeds_movies: ClassVar[bool] = True
    config_class: ClassVar[type[RatingConfig]] = FactorConfig
    config: FactorConfig
    # learned by fit (set by _install), restored by load
    user_factors: np.ndarray  # P, users × k, float32
    user_bias: np.ndarray

    def __init__(self, config: RatingConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self._items: ItemSide | None = None  # None until _install
        self._pending_votes: np.ndarray | None = None  # vote counts before _install
        self.offset = 0.0  # added inside the link: μ for linear models, learned when bounded
        self.bounds = (1.0, 5.0)  # the rating scale predictions are clipped to

    # --- the per-movie arrays, read through one snapshot --------------------------------------

    @property
    def _side(self) -> ItemSide:
        """The published per-movie arrays, one snapshot (NotFittedError before fit)."""
        return self._fitted(self._items)

    @property
    def item_factors(self) -> np.ndarray:
        """Q, movies × k, float32."""
        return self._side.factors

    @property
    def item_bias(self) -> np.ndarray:
        return self._side.bias

    @property
    def _unit_items(self) -> np.ndarray:
        return self._side.unit

    @property
    def movie_votes(self) -> np.ndarray | None:
        """Ratings per movie: the training counts, then updated by every fold-in."""
        return self._pending_votes if self._items is None else self._items.votes

    @movie_votes.setter
    def movie_votes(self, votes: np.ndarray | None) -> None:
        if self._items is None:
            self._pending_votes = votes
        elif votes is None:
            raise ValueError(f"a fitted {self.kind} model keeps its vote counts: got None")
        else:
            self._items = dataclasses.replace(self._items, votes=votes)
            self._installed()  # buffers a fold-in owned no longer hold the published votes

    # --- hooks --------------------------------------------------------------------------------

    def _link(self, z: np.ndarray) -> np.ndarray:
        """Map the linear score to a rating (identity here)."""
        return z

    # --- fitting helpers ----------------------------------------------------------------------

    def _prepare(self, data: Dataset) -> sp.csr_matrix:
        """Index the data and record what every factor model keeps beside its factors."""
        matrix = self._index_dataset(data)
        self.global_mean = float(matrix.data.mean(dtype=np.float64))
        self._items = None
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
        if data.scale is not None:
            self.bounds = (float(data.scale.low), float(data.scale.high))
        else:
            self.bounds = (float(matrix.data.min()), float(matrix.data.max()))
        return matrix

    def _install(
        self,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        user_bias: np.ndarray,
        item_bias: np.ndarray,
        offset: float,
    ) -> None:
        """Keep the learned arrays as float32 and precompute the unit item vectors.

        Movies nobody rated in training keep whatever their initialisation was; their factors
        and bias are zeroed so they score as Surprise scores an unknown item (``offset + b_u``)
        and are similar to nothing, rather than carrying random noise into rankings.
        """
        votes = np.asarray(self.movie_votes)
        unrated = votes == 0
        item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        item_bias = np.ascontiguousarray(item_bias, dtype=np.float32)
        if unrated.any() and (item_factors[unrated].any() or item_bias[unrated].any()):
            item_factors, item_bias = item_factors.copy(), item_bias.copy()  # may be read-only
            item_factors[unrated] = 0.0
            item_bias[unrated] = 0.0
        self._items = ItemSide(
            item_factors, item_bias, unit_rows(item_factors), votes, row_lengths(item_factors)
        )
        self._pending_votes = None
        self.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.user_bias = np.ascontiguousarray(user_bias, dtype=np.float32)
        self.offset = float(offset)
        self._installed()

    def _installed(self) -> None:
        """Called when new arrays are installed (fit, load); fold-in resets its buffers."""

    # --- scoring ------------------------------------------------------------------------------

    def _clip(self, ratings: np.ndarray) -> np.ndarray:
        return np.clip(ratings, self.bounds[0], self.bounds[1])

    def _user_scores(self, user: int) -> np.ndarray:
        items = self._side
        z = _dots(items.factors, self.user_factors[user]).astype(np.float64)
        z += self.offset + float(self.user_bias[user]) + items.bias
        return self._clip(self._link(z))

    def _ranking_scores(self, user: int) -> np.ndarray:
        if self.config.rank_by == "rating":
            return super()._ranking_scores(user)
        return self.taste_scores(user)

    def taste_scores(self, user: int) -> np.ndarray:
        """Ranking scores that follow the user's taste: ``q_i + w·σ_q·a_ui``.

        Ranked by predicted rating, ``b_i`` decides: a newcomer's factors are small (a few
        ratings, a ridge penalty), so everyone gets the movies with the largest biases, many
        of them barely rated (on ml-100k: the same list for almost every newcomer,
        personalization 0.2–0.3). Here the two parts are put on one scale instead:

        * quality ``q_i = b_i · v_i/(v_i + m)``, the item bias shrunk by its vote count v
          (``prior_votes`` m), so a movie rated twice is not a "best movie";
        * affinity ``a_ui = p_u·q_i / (‖p_u‖ · mean‖q‖)``: the direction of the user's taste,
          whatever its length, against the movie's factors (longer for movies the data
          places with confidence);

        weighted by ``taste_weight`` w in units of σ_q, the spread of the qualities. A user
        with no ratings (``p_u = 0``) gets the quality chart. Measured on 20% of ml-100k's
        users withheld and folded in from 5 ratings (``bench/taste.py``), ALS at w = 3 went
        from personalization 0.20 to 0.84, NDCG@10 0.16 to 0.28 and miscalibration 1.49 to
        1.27; for regulars NDCG@10 0.113 to 0.146 at personalization 0.89.
        """
        items = self._side
        n = len(items)
        taste = self.user_factors[user]
        norm = float(np.linalg.norm(taste.astype(np.float64)))
        dots = _dots(items.factors, taste) if norm > 0 else np.zeros(n, np.float32)
        return taste_kernel(
            dots[:n],
            items.votes[:n],
            items.bias[:n],
            items.lengths[:n],
            float(self.config.prior_votes),
            float(self.config.taste_weight),
            norm,
        )

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        items = self._side
        out = np.empty(len(users), np.float64)
        for start in range(0, len(users), _PREDICT_CHUNK):
            u = users[start : start + _PREDICT_CHUNK]
            m = movies[start : start + _PREDICT_CHUNK]
            dots = np.einsum("ij,ij->i", self.user_factors[u], items.factors[m])
            out[start : start + len(u)] = (
                dots.astype(np.float64) + self.offset + self.user_bias[u] + items.bias[m]
            )
        return self._clip(self._link(out))

    def _similar_scores(self, movie: int) -> np.ndarray:
        unit = self._side.unit
        return _dots(unit, unit[movie])

    def _pair_scores(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        unit = self._side.unit
        columns = np.asarray(columns)
        every = len(columns) == len(unit) and bool((columns == np.arange(len(unit))).all())
        others = unit if every else unit[np.maximum(columns, 0)]  # all movies: no gathered copy
        few = len(rows) <= _FEW_ROWS  # a request's picks: one pass; more: BLAS's blocked product
        product = row_dots(others, unit[rows]) if few else unit[rows] @ others.T
        out = product.astype(np.float64)
        out[:, columns < 0] = np.nan
        return out

    def _movie_rows(self) -> np.ndarray:
        # the item factors Q (biases left out: they place a movie by how well it is liked,
        # not by whom); one snapshot of the item side, as scoring reads it
        return self._side.factors

    def most_appreciated(self, k: int = 10, candidates: np.ndarray | None = None) -> Ranking:
        """Movies with the largest item bias: liked beyond what their raters usually give.

        A bias is the part of a movie's ratings that no user's taste explains, so this is a
        taste-free "best movies" chart. With ``shrink_votes`` m set, a bias is scaled by
        ``v/(v+m)`` (the same vote-count shrinkage as :meth:`recommend`, toward the mean);
        movies with no rating are left out.
        """
        self._check_fitted()
        check_k(k)
        items = self._side
        votes = np.asarray(items.votes, dtype=np.float64)
        scores = weighted_rating(
            votes, np.asarray(items.bias, dtype=np.float64), self.config.shrink_votes, 0.0
        ).copy()
        scores[votes == 0] = -np.inf
        return self._top(scores, k, None, candidates)

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        items = self._side
        return {
            "user_factors": self.user_factors,
            "item_factors": items.factors,
            "user_bias": self.user_bias,
            "item_bias": items.bias,
            "movie_votes": items.votes,
            "scalars": np.array([self.offset, self.global_mean, *self.bounds], np.float64),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        offset, self.global_mean, low, high = (float(v) for v in arrays["scalars"])
        self.bounds = (low, high)
        self._items = None
        self.movie_votes = np.asarray(arrays["movie_votes"])
        self._install(
            arrays["user_factors"],
            arrays["item_factors"],
            arrays["user_bias"],
            arrays["item_bias"],
            offset,
        )
