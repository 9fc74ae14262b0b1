"""The numba kernel of Steck's greedy calibrated re-ranking (:mod:`movierec.models.calibration`).

One pass per user: each of ``k`` steps scores every remaining candidate by ``(1−λ)·(the
list's scaled score with it) − λ·KL(p ‖ (1−α)q + αp)``, ``q`` the genre mix of the list with
it, and keeps the best. The numpy version built users × candidates × genres
arrays at every step; the hybrid's fit re-ranks a few hundred validation users a hundred times
per ascent, so this loop was most of its cost. Serial on purpose: every ``hybrid`` answer
calls it for one user from the service's request threads, and a parallel kernel launched from
several threads at once is unsafe under numba's workqueue threading layer.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
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
    n_users, width = scaled.shape
    k = chosen.shape[1]
    n_genres = genres.shape[2]
    for u in range(n_users):
        used = np.zeros(width, np.bool_)
        counts = np.zeros(n_genres)
        total = 0.0
        p = targets[u]
        for step in range(k):
            best, pick = -np.inf, -1
            for c in range(width):
                if used[c] or not allowed[u, c]:
                    continue
                mass = 0.0
                for g in range(n_genres):
                    mass += counts[g] + genres[u, c, g]
                kl = 0.0
                for g in range(n_genres):
                    if p[g] > 0:
                        q = (counts[g] + genres[u, c, g]) / mass if mass > 0 else 0.0
                        kl += p[g] * math.log(p[g] / ((1.0 - alpha) * q + alpha * p[g]))
                objective = (1.0 - lam) * (total + scaled[u, c]) - lam * kl
                if pick < 0 or objective > best:
                    best, pick = objective, c
            if pick < 0:  # nothing allowed left
                for c in range(width):
                    if not used[c]:
                        pick = c
                        break
            chosen[u, step] = pick
            used[pick] = True
            for g in range(n_genres):
                counts[g] += genres[u, pick, g]
            total += scaled[u, pick]
