"""Numba kernels of the synthetic generator (:mod:`movierec.data.synthetic` drives them).

Random numbers come from a counter-based hash (SplitMix64's finaliser) of (seed, user) or
(seed, rating index), not from numba's per-thread generators: each value depends only on its
key, so the output is the same whatever the number of threads or how work is split.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(cache=True, inline="always")
def _hash(key: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """SplitMix64's finaliser: a well-mixed 64-bit value from a counter."""
    z = key
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _uniform(seed: np.uint64, counter: np.uint64) -> float:  # pragma: no cover - compiled
    """Uniform in (0, 1), the ``counter``-th value of the stream ``seed``."""
    bits = _hash(seed + (counter + np.uint64(1)) * _GOLDEN) >> np.uint64(11)
    return (np.float64(bits) + 0.5) * _TO_UNIT


@numba.njit(cache=True)
def alias_tables(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Walker/Vose alias tables, one per row: O(1) weighted draws."""
    n_tables, n = weights.shape
    prob = np.empty((n_tables, n), np.float64)
    alias = np.empty((n_tables, n), np.int32)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    for t in range(n_tables):
        scaled = weights[t] * (n / weights[t].sum())
        n_small = 0
        n_large = 0
        for i in range(n):
            if scaled[i] < 1.0:
                small[n_small] = i
                n_small += 1
            else:
                large[n_large] = i
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            s = small[n_small]
            g = large[n_large - 1]
            prob[t, s] = scaled[s]
            alias[t, s] = g
            scaled[g] = scaled[g] + scaled[s] - 1.0
            if scaled[g] < 1.0:
                n_large -= 1
                small[n_small] = g
                n_small += 1
        for i in range(n_large):
            prob[t, large[i]] = 1.0
            alias[t, large[i]] = large[i]
        for i in range(n_small):
            prob[t, small[i]] = 1.0
            alias[t, small[i]] = small[i]
    return prob, alias


@numba.njit(cache=True, fastmath=True)
def _sort(values: np.ndarray) -> None:  # pragma: no cover - compiled
    """Sort in place. Outside the parallel kernel: numba compiles library code within a
    ``prange`` kernel far more slowly than as a call (sort 1.9 s against 0.2 s)."""
    values.sort()


@numba.njit(cache=True)
def _kth_largest(keys: np.ndarray, k: int) -> float:  # pragma: no cover - compiled
    """The ``k``-th largest of ``keys`` (1 ≤ k ≤ len), by Hoare's selection on a copy.

    Written out, and a call as :func:`_sort` is: inline in :func:`sample_movies`,
    ``np.partition`` with a variable ``kth`` took about 7 s of its 12-15 s compile.
    """
    values = keys.copy()
    target = len(values) - k  # its index in ascending order
    lo, hi = 0, len(values) - 1
    while lo < hi:
        a, b, c = values[lo], values[(lo + hi) // 2], values[hi]
        pivot = max(min(a, b), min(max(a, b), c))  # the median of the three
        i, j = lo, hi
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:  # between j and i every value equals the pivot
            return values[target]
    return values[target]


@numba.njit(cache=True, parallel=True, fastmath=True)
def sample_movies(
    offsets: np.ndarray,
    table: np.ndarray,
    weights: np.ndarray,
    alias_prob: np.ndarray,
    alias_idx: np.ndarray,
    rejection_limit: np.ndarray,
    seed: np.uint64,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Each user's distinct movies, drawn from their archetype's table, sorted by id.

    Small picks draw with replacement and redraw repeats (a per-chunk stamp array makes the
    repeat check O(1)); large ones take the ``k`` largest keys ``log(u) / w``
    (Efraimidis–Spirakis: weighted sampling without replacement in O(n_movies)).
    """
    n_users = len(offsets) - 1
    n_movies = weights.shape[1]
    n_chunks = min(n_users, 256)
    for chunk in numba.prange(n_chunks):
        seen = np.full(n_movies, -1, np.int64)
        keys = np.empty(0, np.float64)
        for u in range(chunk * n_users // n_chunks, (chunk + 1) * n_users // n_chunks):
            begin = offsets[u]
            k = offsets[u + 1] - begin
            t = table[u]
            stream = _hash(seed ^ (np.uint64(u) * _MIX2))
            draw = np.uint64(0)
            if k <= rejection_limit[t]:
                j = 0
                while j < k:
                    x = _uniform(stream, draw) * n_movies
                    draw += np.uint64(1)
                    m = min(int(x), n_movies - 1)
                    if x - m >= alias_prob[t, m]:
                        m = alias_idx[t, m]
                    if seen[m] != u:
                        seen[m] = u
                        out[begin + j] = m
                        j += 1
                _sort(out[begin : begin + k])
            else:
                if len(keys) == 0:
                    keys = np.empty(n_movies, np.float64)
                for m in range(n_movies):
                    keys[m] = np.log(_uniform(stream, np.uint64(m))) / weights[t, m]
                cut = _kth_largest(keys, k)
                j = 0
                for m in range(n_movies):  # in id order, so the picks come out sorted
                    if keys[m] >= cut and j < k:
                        out[begin + j] = m
                        j += 1


@numba.njit(cache=True, parallel=True, fastmath=True)
def scores(
    offsets: np.ndarray,
    movies: np.ndarray,
    user_bias: np.ndarray,
    movie_bias: np.ndarray,
    user_factors: np.ndarray,
    movie_factors: np.ndarray,
    noise_sd: float,
    start: np.ndarray,
    span: np.ndarray,
    release: np.ndarray,
    last: int,
    seed: np.uint64,
    score: np.ndarray,
    timestamp: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Latent score and timestamp of every rating, from hashes of the rating's index.

    A rating falls at a uniform moment of its user's active spell, or, when that comes before
    the movie's release, at a uniform moment between the release and ``last``.
    """
    n_users = len(offsets) - 1
    rank = user_factors.shape[1]
    for u in numba.prange(n_users):
        for j in range(offsets[u], offsets[u + 1]):
            m = movies[j]
            dot = 0.0
            for f in range(rank):
                dot += user_factors[u, f] * movie_factors[m, f]
            counter = np.uint64(j) * np.uint64(4)
            radius = np.sqrt(-2.0 * np.log(_uniform(seed, counter)))
            normal = radius * np.cos(2.0 * np.pi * _uniform(seed, counter + np.uint64(1)))
            score[j] = user_bias[u] + movie_bias[m] + dot + noise_sd * normal
            when = start[u] + np.int64(_uniform(seed, counter + np.uint64(2)) * span[u])
            if when < release[m]:  # nobody rates a film before it exists
                late = _uniform(seed, counter + np.uint64(3))
                when = release[m] + np.int64(late * (last - release[m]))
            timestamp[j] = min(when, last)


@numba.njit(cache=True, parallel=True, fastmath=True)
def to_half_stars(score: np.ndarray, thresholds: np.ndarray) -> None:  # pragma: no cover
    """In place: latent score → 0.5 .. 5.0 by the thresholds between consecutive half stars."""
    for i in numba.prange(len(score)):
        level = 1
        for c in range(len(thresholds)):
            level += score[i] > thresholds[c]
        score[i] = np.float32(0.5 * level)
