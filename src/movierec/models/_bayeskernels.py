"""The numba half of Bayesian matrix factorisation: one Gibbs step over all rows of a side,
the noise's sufficient statistic, and the posterior-mean solve of one folded-in row.

A row's conditional posterior, given the other side, the noise precision α and its group's
prior ``N(m, diag(1/λ))``, is Gaussian with precision ``A = α·[Y 1]ᵀ[Y 1] + diag(λ)`` and mean
``A⁻¹(α·[Y 1]ᵀ r + λ∘m)``, the ridge solve with a prior in place of the penalty. The normal
equations and the hand-written Cholesky are :mod:`movierec.models.ridge`'s (float64, no
LAPACK call inside the ``prange``); a draw adds ``L⁻ᵀ z`` to the mean, ``z`` standard normal
drawn by the caller so the result does not depend on the thread schedule. The model is in
:mod:`movierec.models.bayesmf`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from movierec.models.ridge import _cholesky_solve, _normal_equations


@njit(cache=True, fastmath=True)
def _posterior(
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    idx: np.ndarray,
    ratings: np.ndarray,
    offset: float,
    alpha: float,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean ``[x, b]`` of one row, and the Cholesky factor of its precision."""
    d = fixed.shape[1] + 1
    gram, rhs = _normal_equations(fixed, fixed_bias, idx, ratings, offset)
    for a in range(d):
        rhs[a] = alpha * rhs[a] + prior_precision[a] * prior_mean[a]
        for c in range(a + 1):
            gram[a, c] *= alpha
        gram[a, a] += prior_precision[a]
    _cholesky_solve(gram, rhs)  # gram now holds L, rhs the mean
    return rhs, gram


@njit(cache=True, fastmath=True, parallel=True)
def sample_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    ratings: np.ndarray,
    fixed: np.ndarray,
    fixed_bias: np.ndarray,
    offset: float,
    alpha: float,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    noise: np.ndarray,
    out: np.ndarray,
    out_bias: np.ndarray,
) -> None:
    """Draw every row of one side from its conditional posterior, into ``out``/``out_bias``.

    ``prior_mean``/``prior_precision`` are per coordinate, the factors' then the bias's;
    ``noise`` is rows × (k+1) standard normal.
    """
    k = fixed.shape[1]
    d = k + 1
    for r in prange(len(indptr) - 1):
        start, end = indptr[r], indptr[r + 1]
        mean, chol = _posterior(
            fixed,
            fixed_bias,
            indices[start:end],
            ratings[start:end],
            offset,
            alpha,
            prior_mean,
            prior_precision,
        )
        z = noise[r].astype(np.float64)
        for a in range(d - 1, -1, -1):  # Lᵀ v = z: v ~ N(0, A⁻¹)
            v = z[a]
            for c in range(a + 1, d):
                v -= chol[c, a] * z[c]
            z[a] = v / chol[a, a]
        for f in range(k):
            out[r, f] = mean[f] + z[f]
        out_bias[r] = mean[k] + z[k]


@njit(cache=True, fastmath=True, parallel=True)
def squared_error(
    indptr: np.ndarray,
    indices: np.ndarray,
    ratings: np.ndarray,
    users: np.ndarray,
    user_bias: np.ndarray,
    items: np.ndarray,
    item_bias: np.ndarray,
    offset: float,
) -> float:
    """``Σ (r − offset − b_u − b_i − p_u·q_i)²`` over the training ratings (CSR by user)."""
    total = 0.0
    k = users.shape[1]
    for u in prange(len(indptr) - 1):
        s = 0.0
        for t in range(indptr[u], indptr[u + 1]):
            i = indices[t]
            dot = 0.0
            for f in range(k):
                dot += users[u, f] * items[i, f]
            e = ratings[t] - offset - user_bias[u] - item_bias[i] - dot
            s += e * e
        total += s
    return total


@njit(cache=True, fastmath=True)
def posterior_means(
    samples: np.ndarray,
    fixed_bias: np.ndarray,
    ratings: np.ndarray,
    offset: float,
    alphas: np.ndarray,
    prior_means: np.ndarray,
    prior_precisions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One row's posterior mean under each kept sample: factors S × k, biases S.

    ``samples`` is S × n × k: sample ``s``'s factors of the n rows the row is rated against
    (or rated by), ``fixed_bias`` their n biases; ``prior_*`` are S × (k+1).
    """
    n_samples, n, k = samples.shape
    idx = np.arange(n)
    factors = np.zeros((n_samples, k))
    biases = np.zeros(n_samples)
    for s in range(n_samples):
        mean, _ = _posterior(
            samples[s],
            fixed_bias,
            idx,
            ratings,
            offset,
            alphas[s],
            prior_means[s],
            prior_precisions[s],
        )
        factors[s] = mean[:k]
        biases[s] = mean[k]
    return factors, biases
