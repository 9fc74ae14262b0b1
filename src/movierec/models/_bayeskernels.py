"""The numba half of Bayesian matrix factorisation: one Gibbs step over all rows of a side,
the noise's sufficient statistic, the posterior-mean solve of one folded-in row, and for
Bayesian SVD++ the per-row Gram matrices and the sequential draw of the implicit factors.

A row's conditional posterior, given the other side, the noise precision α and its group's
prior ``N(m, diag(1/λ))``, is Gaussian with precision ``A = α·[Y 1]ᵀ[Y 1] + diag(λ)`` and mean
``A⁻¹(α·[Y 1]ᵀ r + λ∘m)``, the ridge solve with a prior in place of the penalty. The normal
equations and the hand-written Cholesky are :mod:`movierec.models.ridge`'s (float64, no
LAPACK call inside the ``prange``); a draw adds ``L⁻ᵀ z`` to the mean, ``z`` standard normal
drawn by the caller so the result does not depend on the thread schedule. The models are in
:mod:`movierec.models.bayesmf` and :mod:`movierec.models.bayessvdpp`.
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


@njit(cache=True, fastmath=True)
def _spread(chol: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``z`` (standard normal) turned in place into a draw of ``N(0, A⁻¹)``, ``A = L Lᵀ`` and
    ``chol`` holding ``L`` in its lower triangle: the solution of ``Lᵀ v = z``."""
    d = len(z)
    for a in range(d - 1, -1, -1):
        v = z[a]
        for c in range(a + 1, d):
            v -= chol[c, a] * z[c]
        z[a] = v / chol[a, a]
    return z


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
        z = _spread(chol, noise[r].astype(np.float64))
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
    (or rated by), ``fixed_bias`` their n biases; ``ratings`` S × n, the targets under each
    sample (the same row S times for Bayesian MF; less each sample's implicit part for
    Bayesian SVD++); ``prior_*`` are S × (k+1).
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
            ratings[s],
            offset,
            alphas[s],
            prior_means[s],
            prior_precisions[s],
        )
        factors[s] = mean[:k]
        biases[s] = mean[k]
    return factors, biases


@njit(cache=True, fastmath=True)
def grams(indptr: np.ndarray, indices: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per row of a CSR, ``Σ o oᵀ`` over the rows ``o`` of ``other`` it holds: rows × k × k."""
    n, k = len(indptr) - 1, other.shape[1]
    out = np.zeros((n, k, k))
    for r in range(n):
        for t in range(indptr[r], indptr[r + 1]):
            o = other[indices[t]]
            for a in range(k):
                for c in range(a + 1):
                    out[r, a, c] += o[a] * o[c]
        for a in range(k):
            for c in range(a):
                out[r, c, a] = out[r, a, c]
    return out


@njit(cache=True, fastmath=True)
def sample_implicit(
    indptr: np.ndarray,
    rows: np.ndarray,
    weight: np.ndarray,
    grams: np.ndarray,
    residual: np.ndarray,
    sums: np.ndarray,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    alpha: float,
    noise: np.ndarray,
    implicit: np.ndarray,
) -> None:
    """Draw every implicit factor ``y_j`` from its conditional posterior, one after another.

    Row ``u``'s vector is ``p_u + s_u`` with ``s_u = w_u Σ_{j ∈ N(u)} y_j``, so ``y_j`` enters
    every rating of each row that holds ``j`` (``indptr``/``rows``: a CSC, the rows of each
    ``j``). With ``G_u = Σ_i q_i q_iᵀ`` over the row's ratings (``grams``) and
    ``F_u = Σ_i q_i e_ui`` (``residual``, e = rating − prediction) its conditional is Gaussian
    with precision ``diag(λ) + α Σ_u w_u² G_u`` and mean from ``λ∘m + α Σ_u w_u (F_u + w_u
    G_u y_j)``. After each draw ``s_u`` and ``F_u`` of its rows are moved by the change, so
    the next ``y`` sees it (a Gibbs sweep is sequential). ``noise`` is standard normal.
    """
    k = implicit.shape[1]
    precision = np.empty((k, k))
    mean = np.empty(k)
    change = np.empty(k)
    for j in range(len(indptr) - 1):
        precision[:] = 0.0
        for a in range(k):
            precision[a, a] = prior_precision[a]
            mean[a] = prior_precision[a] * prior_mean[a]
        for t in range(indptr[j], indptr[j + 1]):
            u, w = rows[t], weight[rows[t]]
            for a in range(k):
                pulled = 0.0
                for c in range(k):
                    pulled += grams[u, a, c] * implicit[j, c]
                mean[a] += alpha * w * (residual[u, a] + w * pulled)
                for c in range(a + 1):
                    precision[a, c] += alpha * w * w * grams[u, a, c]
        _cholesky_solve(precision, mean)  # precision now holds L, mean the mean
        z = _spread(precision, noise[j].astype(np.float64))
        for a in range(k):
            change[a] = mean[a] + z[a] - implicit[j, a]
            implicit[j, a] += change[a]
        for t in range(indptr[j], indptr[j + 1]):
            u, w = rows[t], weight[rows[t]]
            for a in range(k):
                moved = 0.0
                for c in range(k):
                    moved += grams[u, a, c] * change[c]
                sums[u, a] += w * change[a]
                residual[u, a] -= w * moved
