"""What every latent-factor model shares: the scoring, the state and the one-user ridge solve.

A factor model predicts ``link(offset + b_u + b_i + p_u·q_i)``, clipped to the rating scale.
The linear models (SGD matrix factorisation, ALS) use the identity link with ``offset`` the
training mean; the bounded model squashes through a sigmoid, with a learned offset. Everything
downstream of training — a user's full score vector, vectorised predictions, item–item cosine
from the learned item factors, "most appreciated" from the item biases, saving and loading —
depends only on those arrays, so it lives here once and each model writes only ``fit``.

:func:`ridge_solve` is the closed-form solve of one row's factors and bias with the other side
fixed. ALS calls it for every user and item inside its parallel kernel; :meth:`FactorModel.
_solve_user` calls the same function for one user, which is what an exact online fold-in needs
(Rendle & Schmidt-Thieme 2008): both paths share one implementation, so they cannot drift.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from movierec.data.dataset import Dataset
from movierec.models.base import Ranking, RatingConfig, RatingPredictor, _check_k, require

logger = logging.getLogger(__name__)

_PREDICT_CHUNK = 1 << 16  # rows per block in _predict, to bound the gathered factor copies


def require_int(value: Any, field: str, low: int) -> None:
    """An integer (not a bool) of at least ``low``; the message names the field."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low
    require(ok, field, f"an integer >= {low}", value)


def require_number(value: Any, field: str, *, positive: bool = False,
                   optional: bool = False) -> None:
    """A finite real number, ``> 0`` when ``positive`` else ``>= 0``; ``None`` if optional."""
    if optional and value is None:
        return
    ok = (isinstance(value, int | float | np.floating | np.integer)
          and not isinstance(value, bool) and np.isfinite(value)
          and (value > 0 if positive else value >= 0))
    allowed = "a finite number > 0" if positive else "a finite number >= 0"
    require(ok, field, allowed + (" or None" if optional else ""), value)


def training_triples(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user index, movie index, rating) as contiguous int32/int32/float32 arrays.

    Kernels read these three flat arrays rather than the CSR so one loop serves every order
    (shuffled or user-grouped); the CSR order is user-grouped, as Surprise's ``all_ratings``.
    """
    counts = np.diff(matrix.indptr)
    users = np.repeat(np.arange(matrix.shape[0], dtype=np.int32), counts)
    return (users, np.ascontiguousarray(matrix.indices, dtype=np.int32),
            np.ascontiguousarray(matrix.data, dtype=np.float32))


@njit(cache=True, fastmath=True)
def ridge_solve(fixed: np.ndarray, fixed_bias: np.ndarray, idx: np.ndarray,
                ratings: np.ndarray, offset: float, reg_factors: float, reg_bias: float,
                scaled: bool) -> tuple[np.ndarray, float]:
    """Factors and bias of one row that minimise its squared error plus an L2 penalty.

    Minimises ``Σ_j (r_j − offset − c_j − b − x·y_j)² + s·(λ_f‖x‖² + λ_b b²)`` over ``x`` and
    ``b``, where ``y_j``/``c_j`` are the fixed side's factors and biases and ``s`` is the
    row's rating count when ``scaled`` (weighted-λ, Zhou et al. 2008) or 1. The bias is one
    more coordinate with a constant feature 1, so a single (k+1)-square system gives both.

    The normal equations are accumulated (lower triangle) and Cholesky-solved by hand in
    float64: no BLAS or LAPACK call, so the ALS ``prange`` over rows never nests OpenBLAS's
    own threads (that made a half-step four times slower on two cores), and a float32 model
    loses nothing. A tiny diagonal floor keeps a zero penalty solvable. A row with no
    ratings gets zeros: the prior the penalty pulls toward.
    """
    k = fixed.shape[1]
    n = len(idx)
    d = k + 1
    x = np.zeros(k, np.float64)
    if n == 0:
        return x, 0.0
    gram = np.zeros((d, d), np.float64)
    z = np.zeros(d, np.float64)  # right-hand side, then the solution
    y = np.empty(d, np.float64)
    y[k] = 1.0
    for t in range(n):
        j = idx[t]
        for f in range(k):
            y[f] = fixed[j, f]
        r = ratings[t] - offset - fixed_bias[j]
        for a in range(d):
            ya = y[a]
            z[a] += r * ya
            for c in range(a + 1):
                gram[a, c] += ya * y[c]
    scale = float(n) if scaled else 1.0
    for f in range(k):
        gram[f, f] += reg_factors * scale + 1e-10
    gram[k, k] += reg_bias * scale + 1e-10
    for a in range(d):  # Cholesky, lower triangle in place
        s = gram[a, a]
        for c in range(a):
            s -= gram[a, c] * gram[a, c]
        s = np.sqrt(s)
        gram[a, a] = s
        for b in range(a + 1, d):
            v = gram[b, a]
            for c in range(a):
                v -= gram[b, c] * gram[a, c]
            gram[b, a] = v / s
    for a in range(d):  # L w = rhs
        v = z[a]
        for c in range(a):
            v -= gram[a, c] * z[c]
        z[a] = v / gram[a, a]
    for a in range(d - 1, -1, -1):  # Lᵀ solution = w
        v = z[a]
        for c in range(a + 1, d):
            v -= gram[c, a] * z[c]
        z[a] = v / gram[a, a]
    x[:] = z[:k]
    return x, z[k]


@njit(cache=True, fastmath=True, parallel=True)
def solve_rows(indptr: np.ndarray, indices: np.ndarray, ratings: np.ndarray, fixed: np.ndarray,
               fixed_bias: np.ndarray, offset: float, reg_factors: float, reg_bias: float,
               scaled: bool, out: np.ndarray, out_bias: np.ndarray) -> None:
    """:func:`ridge_solve` for every row of a CSR (an ALS half-step), rows in parallel.

    It lives beside :func:`ridge_solve` on purpose: numba's on-disk cache of a kernel is keyed
    on its own source file only, so a caller in another module would keep running a stale
    copy of the solve after it changed.
    """
    for row in prange(len(indptr) - 1):
        lo, hi = indptr[row], indptr[row + 1]
        x, b = ridge_solve(fixed, fixed_bias, indices[lo:hi], ratings[lo:hi], offset,
                           reg_factors, reg_bias, scaled)
        out[row] = x
        out_bias[row] = b


class FactorModel(RatingPredictor):
    """Shared scoring and state of ``link(offset + b_u + b_i + p_u·q_i)`` models.

    Subclasses write ``fit`` and call :meth:`_install` with what they learned; a non-linear
    model overrides :meth:`_link` (and :meth:`_solve_user`, whose closed form assumes the
    identity link). :meth:`_fold_in_reg` says which penalty a one-user solve should use, so
    a folded-in user is regularised as the trained ones were.
    """

    predicts_ratings: ClassVar[bool] = True
    config_class: ClassVar[type[RatingConfig]] = RatingConfig

    def __init__(self, config: RatingConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.user_factors: np.ndarray | None = None  # P, users × k, float32
        self.item_factors: np.ndarray | None = None  # Q, movies × k, float32
        self.user_bias: np.ndarray | None = None
        self.item_bias: np.ndarray | None = None
        self.offset = 0.0  # added inside the link: μ for linear models, learned when bounded
        self.bounds = (1.0, 5.0)  # the rating scale predictions are clipped to
        self._unit_items: np.ndarray | None = None  # Q with unit rows, for cosine

    # --- hooks --------------------------------------------------------------------------------

    def _link(self, z: np.ndarray) -> np.ndarray:
        """Map the linear score to a rating (identity here)."""
        return z

    def _fold_in_reg(self) -> tuple[float, float, bool]:
        """(factor penalty, bias penalty, scaled by count) for :meth:`_solve_user`."""
        raise NotImplementedError  # pragma: no cover - every concrete model defines it

    # --- fitting helpers ----------------------------------------------------------------------

    def _prepare(self, data: Dataset) -> sp.csr_matrix:
        """Index the data and record what every factor model keeps beside its factors."""
        matrix = self._index_dataset(data)
        self.global_mean = float(matrix.data.mean(dtype=np.float64))
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
        if data.scale is not None:
            self.bounds = (float(data.scale.low), float(data.scale.high))
        else:
            self.bounds = (float(matrix.data.min()), float(matrix.data.max()))
        return matrix

    def _install(self, user_factors: np.ndarray, item_factors: np.ndarray,
                 user_bias: np.ndarray, item_bias: np.ndarray, offset: float) -> None:
        """Keep the learned arrays as float32 and precompute the unit item vectors.

        Movies nobody rated in training keep whatever their initialisation was; their factors
        and bias are zeroed so they score as Surprise scores an unknown item (``offset + b_u``)
        and are similar to nothing, rather than carrying random noise into rankings.
        """
        unrated = np.asarray(self.movie_votes) == 0
        item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        item_bias = np.ascontiguousarray(item_bias, dtype=np.float32)
        if unrated.any() and (item_factors[unrated].any() or item_bias[unrated].any()):
            item_factors, item_bias = item_factors.copy(), item_bias.copy()  # may be read-only
            item_factors[unrated] = 0.0
            item_bias[unrated] = 0.0
        self.item_factors, self.item_bias = item_factors, item_bias
        self.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.user_bias = np.ascontiguousarray(user_bias, dtype=np.float32)
        self.offset = float(offset)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self._unit_items = np.divide(self.item_factors, norms, where=norms > 0,
                                     out=np.zeros_like(self.item_factors))

    # --- scoring ------------------------------------------------------------------------------

    def _clip(self, ratings: np.ndarray) -> np.ndarray:
        return np.clip(ratings, self.bounds[0], self.bounds[1])

    def _user_scores(self, user: int) -> np.ndarray:
        z = (self.item_factors @ self.user_factors[user]).astype(np.float64)
        z += self.offset + float(self.user_bias[user]) + self.item_bias
        return self._clip(self._link(z))

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        out = np.empty(len(users), np.float64)
        for start in range(0, len(users), _PREDICT_CHUNK):
            u = users[start:start + _PREDICT_CHUNK]
            m = movies[start:start + _PREDICT_CHUNK]
            dots = np.einsum("ij,ij->i", self.user_factors[u], self.item_factors[m])
            out[start:start + len(u)] = (dots.astype(np.float64) + self.offset
                                         + self.user_bias[u] + self.item_bias[m])
        return self._clip(self._link(out))

    def _similar_scores(self, movie: int) -> np.ndarray:
        return self._unit_items @ self._unit_items[movie]

    def most_appreciated(self, k: int = 10, candidates: np.ndarray | None = None) -> Ranking:
        """Movies with the largest item bias: liked beyond what their raters usually give.

        A bias is the part of a movie's ratings that no user's taste explains, so this is a
        taste-free "best movies" chart. With ``shrink_votes`` m set, a bias is scaled by
        ``v/(v+m)`` (the same vote-count shrinkage as :meth:`recommend`, toward the mean);
        movies with no training rating are left out.
        """
        self._check_fitted()
        _check_k(k)
        votes = np.asarray(self.movie_votes, dtype=np.float64)
        scores = np.asarray(self.item_bias, dtype=np.float64).copy()
        m = self.config.shrink_votes
        if m > 0:
            scores *= votes / (votes + m)
        scores[votes == 0] = -np.inf
        return self._top(scores, k, None, candidates)

    # --- one-user solve (the base of online fold-in) ------------------------------------------

    def _solve_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, float]:
        """A user's factors and bias from their (movie index, rating) pairs, items fixed.

        The exact ridge minimiser of that user's squared error under the model's penalty
        (:meth:`_fold_in_reg`); for ALS this is precisely the user step of training.
        """
        self._check_fitted()
        idx = np.ascontiguousarray(movie_idx, dtype=np.int64)
        values = np.ascontiguousarray(ratings, dtype=np.float64)
        if idx.shape != values.shape or idx.ndim != 1:
            raise ValueError(f"movie_idx and ratings must be 1-d and of one length, got "
                             f"{idx.shape} and {values.shape}")
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self.item_bias)):
            raise ValueError(f"movie_idx must lie in 0..{len(self.item_bias) - 1}")
        reg_factors, reg_bias, scaled = self._fold_in_reg()
        vector, bias = ridge_solve(self.item_factors, self.item_bias, idx, values,
                                   self.offset, reg_factors, reg_bias, scaled)
        return vector.astype(np.float32), float(bias)

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors,
                "user_bias": self.user_bias, "item_bias": self.item_bias,
                "movie_votes": self.movie_votes,
                "scalars": np.array([self.offset, self.global_mean, *self.bounds], np.float64)}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        offset, self.global_mean, low, high = (float(v) for v in arrays["scalars"])
        self.bounds = (low, high)
        self.movie_votes = np.asarray(arrays["movie_votes"])
        self._install(arrays["user_factors"], arrays["item_factors"], arrays["user_bias"],
                      arrays["item_bias"], offset)
