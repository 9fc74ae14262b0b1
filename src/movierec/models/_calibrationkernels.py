"""The numba kernel of Steck's greedy calibrated re-ranking (:mod:`movierec.models.calibration`).

One pass per user: each of ``k`` steps scores every remaining candidate by ``(1−λ)·(the
list's scaled score with it) − λ·KL(p ‖ (1−α)q + αp)``, ``q`` the genre mix of the list with
it, and keeps the best. The numpy version built users × candidates × genres
arrays at every step; the hybrid's fit re-ranks a few hundred validation users a hundred times
per ascent, so this loop was most of its cost. :func:`rerank_user` is serial on purpose:
every ``hybrid`` answer calls it for one user from the service's request threads, and a
parallel kernel launched from several threads at once is unsafe under numba's workqueue
threading layer. A fit re-ranks hundreds of users at once, and shares them among the cores
as fits' other kernels do (:func:`rerank_users`; on ml-100k the re-ranking was 11 of the
hybrid fit's 51 s). Taking only each candidate's own genres' terms anew (:func:`rerank_user`)
then halved it: 7.2 → 3.7 s of the fit's 38.6 → 32.4 s, every list the same.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def rerank_user(
    scaled: np.ndarray,
    allowed: np.ndarray,
    genres: np.ndarray,
    p: np.ndarray,
    lam: float,
    alpha: float,
    chosen: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Fill ``chosen`` (k) with positions into one user's candidates, in list order.

    ``scaled`` (candidates) are scores in [0, 1], ``allowed`` marks the candidates that may be
    listed, ``genres`` is candidates × genres and ``p`` the user's genre taste. Ties go to the
    earlier candidate; with nothing allowed left, the first unused position.

    A candidate changes the list's genre counts only in its own genres (two or three of the
    catalogue's twenty), so each step takes the KL terms of the list as it is once per mass
    (a candidate's genre weights sum to 1, or 0 with no genre) and each candidate's own
    genres' terms in their place: on the hybrid's fit this takes a sixth of the logarithms.
    """
    width, n_genres = genres.shape
    own = np.zeros((width, n_genres), np.int64)  # each candidate's genres, first ``n_own``
    n_own = np.zeros(width, np.int64)
    weight = np.zeros(width)  # each candidate's genre weights summed
    kind = np.zeros(width, np.int64)  # which of the distinct ``weights`` that sum is
    weights = np.zeros(width)
    n_kinds = 0
    for c in range(width):
        for g in range(n_genres):
            if genres[c, g] != 0:
                own[c, n_own[c]] = g
                n_own[c] += 1
            weight[c] += genres[c, g]
        j = 0
        while j < n_kinds and weights[j] != weight[c]:
            j += 1
        if j == n_kinds:
            weights[j] = weight[c]
            n_kinds += 1
        kind[c] = j
    used = np.zeros(width, np.bool_)
    counts = np.zeros(n_genres)
    base = np.zeros((n_kinds, n_genres))  # p·log(p / q̃) of each genre as the list is
    base_kl = np.zeros(n_kinds)
    total = 0.0
    for step in range(chosen.shape[0]):
        listed = 0.0
        for g in range(n_genres):
            listed += counts[g]
        for j in range(n_kinds):
            mass = listed + weights[j]
            base_kl[j] = 0.0
            for g in range(n_genres):
                if p[g] > 0:
                    q = counts[g] / mass if mass > 0 else 0.0
                    base[j, g] = p[g] * math.log(p[g] / ((1.0 - alpha) * q + alpha * p[g]))
                    base_kl[j] += base[j, g]
        best, pick = -np.inf, -1
        for c in range(width):
            if used[c] or not allowed[c]:
                continue
            j = kind[c]
            mass = listed + weights[j]
            kl = base_kl[j]
            for t in range(n_own[c]):
                g = own[c, t]
                if p[g] > 0:
                    q = (counts[g] + genres[c, g]) / mass if mass > 0 else 0.0
                    kl += p[g] * math.log(p[g] / ((1.0 - alpha) * q + alpha * p[g])) - base[j, g]
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


@njit(cache=True, parallel=True)
def rerank_users(
    scaled: np.ndarray,
    allowed: np.ndarray,
    genres: np.ndarray,
    targets: np.ndarray,
    lam: float,
    alpha: float,
    chosen: np.ndarray,
) -> None:  # pragma: no cover - numba
    """:func:`rerank_user` for each user (the arguments gain a users axis), the users shared
    among the cores: a fit's many users, never a request's (see the module docstring)."""
    for u in prange(scaled.shape[0]):
        rerank_user(scaled[u], allowed[u], genres[u], targets[u], lam, alpha, chosen[u])


@njit(cache=True, nogil=True)
def pool_user(
    scores: np.ndarray,
    genres: np.ndarray,
    quotas: np.ndarray,
    size: int,
    quota_from: np.ndarray,
    pool: np.ndarray,
) -> None:  # pragma: no cover - numba
    """Mark in ``pool`` one user's top ``size`` finite ``scores`` and, for each genre ``g``,
    the best ``quotas[g]`` of the ``quota_from`` candidates whose ``genres`` weight for ``g``
    is above 0.

    One walk down the candidates in score order (ties: the lower position first), counting
    each genre's candidates as they come: a candidate is in the pool while its rank is under
    ``size`` or one of its genres has not had its quota yet.
    """
    n_genres = genres.shape[1]
    finite = np.flatnonzero(np.isfinite(scores))
    order = finite[np.argsort(-scores[finite], kind="mergesort")]
    seen = np.zeros(n_genres, np.int64)
    for rank in range(len(order)):
        c = order[rank]
        take = rank < size
        if not quota_from[c]:
            if take:
                pool[c] = True
            continue
        for g in range(n_genres):
            if genres[c, g] > 0:
                if seen[g] < quotas[g]:
                    take = True
                seen[g] += 1
        if take:
            pool[c] = True


@njit(cache=True, parallel=True)
def pool_users(
    scores: np.ndarray,
    genres: np.ndarray,
    quotas: np.ndarray,
    size: int,
    quota_from: np.ndarray,
    pool: np.ndarray,
) -> None:  # pragma: no cover - numba
    """:func:`pool_user` for each user (the arguments gain a users axis), the users shared
    among the cores: a fit's many users, never a request's (see the module docstring)."""
    for u in prange(scores.shape[0]):
        pool_user(scores[u], genres[u], quotas[u], size, quota_from[u], pool[u])
