"""The numba kernel of Steck's greedy calibrated re-ranking (:mod:`movierec.models.calibration`).

One pass per user: each of ``k`` steps scores every remaining candidate by ``(1−λ)·(the
list's scaled score with it) − λ·KL(p ‖ (1−α)q + αp)``, ``q`` the genre mix of the list with
it, and keeps the best. The numpy version built users × candidates × genres
arrays at every step; the hybrid's fit re-ranks a few hundred validation users a hundred times
per ascent, so this loop was most of its cost. :func:`rerank_kernel` is serial on purpose:
every ``hybrid`` answer calls it for one user from the service's request threads, and a
parallel kernel launched from several threads at once is unsafe under numba's workqueue
threading layer. A fit re-ranks hundreds of users at once, as fits' other kernels do, with
:func:`rerank_kernel_parallel` (on ml-100k it was 11 of the hybrid fit's 51 s).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _rerank_one(
    scaled: np.ndarray,
    allowed: np.ndarray,
    genres: np.ndarray,
    p: np.ndarray,
    lam: float,
    alpha: float,
    chosen: np.ndarray,
) -> None:  # pragma: no cover - numba
    """One user's row of :func:`rerank_kernel` (``genres`` candidates × genres)."""
    width = scaled.shape[0]
    n_genres = genres.shape[1]
    used = np.zeros(width, np.bool_)
    counts = np.zeros(n_genres)
    total = 0.0
    for step in range(chosen.shape[0]):
        best, pick = -np.inf, -1
        for c in range(width):
            if used[c] or not allowed[c]:
                continue
            mass = 0.0
            for g in range(n_genres):
                mass += counts[g] + genres[c, g]
            kl = 0.0
            for g in range(n_genres):
                if p[g] > 0:
                    q = (counts[g] + genres[c, g]) / mass if mass > 0 else 0.0
                    kl += p[g] * math.log(p[g] / ((1.0 - alpha) * q + alpha * p[g]))
            objective = (1.0 - lam) * (total + scaled[c]) - lam * kl
            if pick < 0 or objective > best:
                best, pick = objective, c
        if pick < 0:  # nothing allowed left
            for c in range(width):
                if not used[c]:
                    pick = c
                    break
        chosen[step] = pick
        used[pick] = True
        for g in range(n_genres):
            counts[g] += genres[pick, g]
        total += scaled[pick]


@njit(cache=True, nogil=True)
def rerank_kernel(
    scaled: np.ndarray,
    allowed: np.ndarray,
    genres: np.ndarray,
    targets: np.ndarray,
    lam: float,
    alpha: float,
    chosen: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Fill ``chosen`` (users × k) with positions into each user's candidates, in list order.

    ``scaled`` (users × candidates) are scores in [0, 1], ``allowed`` marks the candidates that
    may be listed, ``genres`` is users × candidates × genres and ``targets`` users × genres.
    Ties go to the earlier candidate; with nothing allowed left, the first unused position.
    """
    for u in range(scaled.shape[0]):
        _rerank_one(scaled[u], allowed[u], genres[u], targets[u], lam, alpha, chosen[u])


@njit(cache=True, parallel=True)
def rerank_kernel_parallel(
    scaled: np.ndarray,
    allowed: np.ndarray,
    genres: np.ndarray,
    targets: np.ndarray,
    lam: float,
    alpha: float,
    chosen: np.ndarray,
) -> None:  # pragma: no cover - numba
    """:func:`rerank_kernel` with the users shared among the cores: the same rows, for a fit
    (never a request's path: see the module docstring)."""
    for u in prange(scaled.shape[0]):
        _rerank_one(scaled[u], allowed[u], genres[u], targets[u], lam, alpha, chosen[u])
