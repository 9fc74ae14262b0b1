"""The one-row ridge solve shared by ALS training and online fold-in, as numba kernels; and
implicit ALS's exact half-step, by the same Cholesky solve.

:func:`ridge_solve` is the closed-form solve of one row's factors and bias with the other side
fixed. ALS calls it for every user and item inside its parallel kernel (:func:`solve_rows`);
:meth:`~movierec.models.foldin.OnlineFactorModel._solve_user` calls it for one user,
which is what an exact online fold-in needs (Rendle & Schmidt-Thieme 2008): both paths share
one implementation, so they cannot drift.

The kernels live together in this one module on purpose: numba's on-disk cache of a kernel is
keyed on its own source file only, so a caller in another module would keep running a stale
copy of an inlined kernel after it changed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_CHUNK = 256  # ratings gathered per block of a Gram build: the block stays in L2 cache


@njit(cache=True, fastmath=True)
def _normal_equations(
    fixed: np.ndarray, fixed_bias: np.ndarray, idx: np.ndarray, ratings: np.ndarray, offset: float
) -> tuple[np.ndarray, np.ndarray]:
    """``[Y 1]ᵀ[Y 1]`` (lower 4×4 blocks, padded to a multiple of 4) and ``[Y 1]ᵀ r``.

    The fixed side's rows are gathered, transposed, a block of ratings at a time, and each
    4×4 block of the Gram matrix is sixteen running dot products over that block: the loads
    of eight rows feed sixteen multiply-adds, where a rank-1 update per rating streams the
    whole Gram matrix through the cache once per rating. Three times faster at 128 factors,
    which is what keeps a 200-rating fold-in well under a millisecond.
    """
    k = fixed.shape[1]
    d = k + 1
    dp = (d + 3) // 4 * 4
    n = len(idx)
    gram = np.zeros((dp, dp), np.float64)
    rhs = np.zeros(d, np.float64)
    block = np.zeros((dp + 1, min(n, _CHUNK)), np.float64)  # rows d..dp-1 stay 0; row dp: r
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        for t in range(m):
            j = idx[start + t]
            for f in range(k):
                block[f, t] = fixed[j, f]
            block[k, t] = 1.0
            block[dp, t] = ratings[start + t] - offset - fixed_bias[j]
        residual = block[dp]
        for a in range(d):
            row = block[a]
            s = 0.0
            for t in range(m):
                s += row[t] * residual[t]
            rhs[a] += s
        for a0 in range(0, dp, 4):
            y0, y1, y2, y3 = block[a0], block[a0 + 1], block[a0 + 2], block[a0 + 3]
            for c0 in range(0, a0 + 1, 4):
                x0, x1, x2, x3 = block[c0], block[c0 + 1], block[c0 + 2], block[c0 + 3]
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
                for t in range(m):
                    a_0, a_1, a_2, a_3 = y0[t], y1[t], y2[t], y3[t]
                    b_0, b_1, b_2, b_3 = x0[t], x1[t], x2[t], x3[t]
                    s00 += a_0 * b_0
                    s01 += a_0 * b_1
                    s02 += a_0 * b_2
                    s03 += a_0 * b_3
                    s10 += a_1 * b_0
                    s11 += a_1 * b_1
                    s12 += a_1 * b_2
                    s13 += a_1 * b_3
                    s20 += a_2 * b_0
                    s21 += a_2 * b_1
                    s22 += a_2 * b_2
                    s23 += a_2 * b_3
                    s30 += a_3 * b_0
                    s31 += a_3 * b_1
                    s32 += a_3 * b_2
                    s33 += a_3 * b_3
                gram[a0, c0] += s00
                gram[a0, c0 + 1] += s01
                gram[a0, c0 + 2] += s02
                gram[a0, c0 + 3] += s03
                gram[a0 + 1, c0] += s10
                gram[a0 + 1, c0 + 1] += s11
                gram[a0 + 1, c0 + 2] += s12
                gram[a0 + 1, c0 + 3] += s13
                gram[a0 + 2, c0] += s20
                gram[a0 + 2, c0 + 1] += s21
                gram[a0 + 2, c0 + 2] += s22
                gram[a0 + 2, c0 + 3] += s23
                gram[a0 + 3, c0] += s30
                gram[a0 + 3, c0 + 1] += s31
                gram[a0 + 3, c0 + 2] += s32
                gram[a0 + 3, c0 + 3] += s33
    return gram, rhs


@njit(cache=True, fastmath=True)
def _cholesky_solve(gram: np.ndarray, rhs: np.ndarray) -> None:
    """Solve ``gram · x = rhs`` in place (``rhs`` becomes ``x``), reading the lower triangle."""
    d = len(rhs)
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
        v = rhs[a]
        for c in range(a):
            v -= gram[a, c] * rhs[c]
        rhs[a] = v / gram[a, a]
    for a in range(d - 1, -1, -1):  # Lᵀ x = w
        v = rhs[a]
        for c in range(a + 1, d):
            v -= gram[c, a] * rhs[c]
        rhs[a] = v / gram[a, a]


@njit(cache=True, fastmath=True)
def ridge_solve(
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    idx: np.ndarray,
    ratings: np.ndarray,
    offset: float,
    reg_factors: float,
    reg_bias: float,
    scaled: bool,
) -> tuple[np.ndarray, float]:
    """Factors and bias of one row that minimise its squared error plus an L2 penalty.

    Minimises ``Σ_j (r_j − offset − c_j − b − x·y_j)² + s·(λ_f‖x‖² + λ_b b²)`` over ``x`` and
    ``b``, where ``y_j``/``c_j`` are the fixed side's factors and biases and ``s`` is the
    row's rating count when ``scaled`` (weighted-λ, Zhou et al. 2008) or 1. The bias is one
    more coordinate with a constant feature 1, so a single (k+1)-square system gives both.

    The normal equations are built (:func:`_normal_equations`) and Cholesky-solved by hand in
    float64: no BLAS or LAPACK call, so the ALS ``prange`` over rows never nests OpenBLAS's
    own threads (that made a half-step four times slower on two cores), a one-row fold-in has
    no multi-millisecond thread wake-ups in its tail (measured with BLAS: p99 16 ms against a
    0.1 ms median), and a float32 model loses nothing. A tiny diagonal floor keeps a zero
    penalty solvable. A row with no ratings gets zeros: the prior the penalty pulls toward.
    """
    k = fixed.shape[1]
    n = len(idx)
    x = np.zeros(k, np.float64)
    if n == 0:
        return x, 0.0
    gram, z = _normal_equations(fixed, fixed_bias, idx, ratings, offset)
    scale = float(n) if scaled else 1.0
    for f in range(k):
        gram[f, f] += reg_factors * scale + 1e-10
    gram[k, k] += reg_bias * scale + 1e-10
    _cholesky_solve(gram, z)
    x[:] = z[:k]
    return x, float(z[k])


@njit(cache=True, fastmath=True, parallel=True)
def solve_rows(
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
) -> None:
    """:func:`ridge_solve` for every row of a CSR (an ALS half-step), rows in parallel.

    It lives beside :func:`ridge_solve` on purpose: numba's on-disk cache of a kernel is keyed
    on its own source file only, so a caller in another module would keep running a stale
    copy of the solve after it changed.
    """
    for row in prange(len(indptr) - 1):
        lo, hi = indptr[row], indptr[row + 1]
        x, b = ridge_solve(
            fixed, fixed_bias, indices[lo:hi], ratings[lo:hi], offset, reg_factors, reg_bias, scaled
        )
        out[row] = x
        out_bias[row] = b


@njit(cache=True, fastmath=True, parallel=True)
def weighted_solve_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    extra: np.ndarray,
    target: np.ndarray,
    fixed: np.ndarray,
    gram: np.ndarray,
) -> None:
    """Implicit ALS's exact half-step: every row of ``target`` solves
    ``(FᵀF + λI + Σ (c−1) f fᵀ) x = Σ c f`` over the rows ``f`` of ``fixed`` it has feedback
    on (CSR ``indptr``/``indices``; ``extra`` = c − 1 ≥ 0; ``gram`` = FᵀF + λI, float64).

    The system is positive definite, so :func:`_cholesky_solve` serves, and only its lower
    triangle is built; the same tiny diagonal floor as :func:`ridge_solve` keeps λ = 0 with
    fewer movies than factors solvable. The kernel it replaces called ``np.linalg.solve``,
    which took 15 s to compile, and allocated an outer product per rating.
    """
    n_rows, f = target.shape
    for row in prange(n_rows):
        a = gram.copy()
        for i in range(f):
            a[i, i] += 1e-10
        b = np.zeros(f, np.float64)
        for p in range(indptr[row], indptr[row + 1]):
            y = fixed[indices[p]]
            w = extra[p]
            for i in range(f):
                wy = w * y[i]
                b[i] += y[i] + wy
                for j in range(i + 1):
                    a[i, j] += wy * y[j]
        _cholesky_solve(a, b)
        for j in range(f):
            target[row, j] = b[j]
