"""ALS's fast half-step: a few conjugate-gradient steps per row instead of an exact solve.

Each row's ridge problem (see :func:`~movierec.models.ridge.ridge_solve`) is a small positive
definite system ``(YᵀY + Λ) x = Yᵀt``. Forming ``YᵀY`` costs ``n·d²/2`` multiply-adds for a row
of ``n`` ratings and ``d = k + 1`` unknowns; a CG step costs ``2·n·d``, so three steps started
from the row's previous solution (Takács, Pilászy & Tikk, "Applications of the conjugate
gradient method for implicit feedback collaborative filtering", RecSys 2011) cost a quarter
of the Gram matrix alone. Between sweeps the other side moves a little, so the previous
solution is already close and three steps reach it; CG minimises the row's objective over a
growing subspace that holds the start, so no step raises it and a sweep still never raises
the training objective. Its own module because numba caches a kernel keyed on its source file.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath=True)
def _refine(
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    idx: np.ndarray,
    ratings: np.ndarray,
    offset: float,
    penalty: np.ndarray,
    x: np.ndarray,
    steps: int,
) -> None:
    """``steps`` CG steps on one row's normal equations from ``x`` (factors, then the bias),
    in place. The row's fixed-side vectors are gathered once into a contiguous block (with
    the constant 1 of the bias), so every step streams them from cache."""
    k = fixed.shape[1]
    d = k + 1
    n = len(idx)
    block = np.empty((n, d), np.float64)
    target = np.empty(n, np.float64)
    for t in range(n):
        j = idx[t]
        for f in range(k):
            block[t, f] = fixed[j, f]
        block[t, k] = 1.0
        target[t] = ratings[t] - offset - fixed_bias[j]
    residual = -penalty * x  # Yᵀ(t − Yx) − Λx, built in one pass over the block
    for t in range(n):
        s = 0.0
        for f in range(d):
            s += block[t, f] * x[f]
        e = target[t] - s
        for f in range(d):
            residual[f] += block[t, f] * e
    direction = residual.copy()
    norm = 0.0
    for f in range(d):
        norm += residual[f] * residual[f]
    for _ in range(steps):
        if norm < 1e-20:
            break
        image = penalty * direction  # (YᵀY + Λ)·direction, again one pass
        for t in range(n):
            s = 0.0
            for f in range(d):
                s += block[t, f] * direction[f]
            for f in range(d):
                image[f] += block[t, f] * s
        curvature = 0.0
        for f in range(d):
            curvature += direction[f] * image[f]
        alpha = norm / curvature
        new_norm = 0.0
        for f in range(d):
            x[f] += alpha * direction[f]
            residual[f] -= alpha * image[f]
            new_norm += residual[f] * residual[f]
        beta = new_norm / norm
        norm = new_norm
        for f in range(d):
            direction[f] = residual[f] + beta * direction[f]


@njit(cache=True, fastmath=True, parallel=True)
def refine_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    ratings: np.ndarray,
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    offset: float,
    reg_factors: float,
    reg_bias: float,
    scaled: bool,
    out: np.ndarray,
    out_bias: np.ndarray,
    steps: int,
) -> None:
    """An ALS half-step by CG: every row of a CSR refined from its current ``out``/``out_bias``
    by ``steps`` CG steps, rows in parallel; the penalty as in ``ridge_solve`` (times the row's
    rating count when ``scaled``). A row with no ratings gets zeros, as the exact solve gives."""
    k = fixed.shape[1]
    for row in prange(len(indptr) - 1):
        lo, hi = indptr[row], indptr[row + 1]
        if hi == lo:
            out[row] = 0.0
            out_bias[row] = 0.0
            continue
        scale = float(hi - lo) if scaled else 1.0
        penalty = np.full(k + 1, reg_factors * scale + 1e-10)
        penalty[k] = reg_bias * scale + 1e-10
        x = np.empty(k + 1, np.float64)
        x[:k] = out[row]
        x[k] = out_bias[row]
        _refine(fixed, fixed_bias, indices[lo:hi], ratings[lo:hi], offset, penalty, x, steps)
        out[row] = x[:k]
        out_bias[row] = x[k]
