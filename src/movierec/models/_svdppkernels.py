"""The numba half of SVD++: one training epoch per call, Surprise's updates in O(n·k).

Surprise's ``SVDpp`` visits the ratings user by user; for each rating it recomputes the
user's implicit vector ``z = |N(u)|^-½ Σ_{j∈N(u)} y_j`` and then steps every ``y_j`` of the
user's rated movies, so one user costs O(n²·k) for n ratings. Each ``y_j`` step is the same
affine map for every ``j`` of the user — ``y_j ← d·y_j + c`` with ``d = 1 − lr_yj·reg_yj`` and
``c = lr_yj·err·q_i/√n`` — so the user's whole block composes exactly: after the block,
``y_j ← dⁿ·y_j + g`` where ``g`` accumulates ``g ← d·g + c`` rating by rating, and ``z``
itself moves as ``z ← d·z + lr_yj·err·q_i``. This kernel applies those, so it computes
Surprise's very updates (in float32, up to rounding) in O(n·k) per user. The model is in
:mod:`movierec.models.svdpp`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def svdpp_epoch(
    indptr: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    P: np.ndarray,
    Q: np.ndarray,
    Y: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    offset: np.float32,
    rates: np.ndarray,
    biased: bool,
    order: np.ndarray,
) -> None:
    """One epoch of SVD++ SGD in place on ``P, Q, Y, bu, bi``.

    Args:
        indptr, items, ratings: the training matrix as CSR (each user's ratings together).
        offset: the global mean μ.
        rates: ``[lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj]``.
        order: the users in the order this epoch visits them.
    """
    lr_bu, lr_bi, lr_pu, lr_qi, lr_yj = rates[0], rates[1], rates[2], rates[3], rates[4]
    reg_bu, reg_bi, reg_pu, reg_qi, reg_yj = rates[5], rates[6], rates[7], rates[8], rates[9]
    k = P.shape[1]
    decay = np.float32(1.0) - lr_yj * reg_yj
    z = np.empty(k, np.float32)
    g = np.empty(k, np.float32)
    for u in order:
        start, end = indptr[u], indptr[u + 1]
        n = end - start
        if n == 0:
            continue
        inv = np.float32(1.0 / np.sqrt(n))
        z[:] = 0.0
        for t in range(start, end):
            y = Y[items[t]]
            for f in range(k):
                z[f] += y[f]
        for f in range(k):
            z[f] *= inv
            g[f] = 0.0
        pu = P[u]
        for t in range(start, end):
            i = items[t]
            qi = Q[i]
            dot = np.float32(0.0)
            for f in range(k):
                dot += qi[f] * (pu[f] + z[f])
            err = ratings[t] - (offset + bu[u] + bi[i] + dot)
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            for f in range(k):
                puf = pu[f]
                qif = qi[f]
                pu[f] = puf + lr_pu * (err * qif - reg_pu * puf)
                qi[f] = qif + lr_qi * (err * (puf + z[f]) - reg_qi * qif)
                step = lr_yj * err * qif
                g[f] = decay * g[f] + step * inv
                z[f] = decay * z[f] + step
        shrink = decay**n
        for t in range(start, end):
            y = Y[items[t]]
            for f in range(k):
                y[f] = shrink * y[f] + g[f]


@njit(cache=True, fastmath=True)
def implicit_sums(indptr: np.ndarray, items: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Every user's ``|N(u)|^-½ Σ_{j∈N(u)} y_j`` (zero for a user with no ratings)."""
    n_users, k = len(indptr) - 1, Y.shape[1]
    out = np.zeros((n_users, k), np.float32)
    for u in range(n_users):
        start, end = indptr[u], indptr[u + 1]
        if end == start:
            continue
        inv = np.float32(1.0 / np.sqrt(end - start))
        for t in range(start, end):
            y = Y[items[t]]
            for f in range(k):
                out[u, f] += y[f]
        for f in range(k):
            out[u, f] *= inv
    return out
