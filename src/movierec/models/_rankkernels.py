"""The numba half of the answers every model gives: the ``k`` best scores in one pass, a
factor model's products with its movie rows and its taste ranking's scores, and the order
statistics that say whether a movie is among a pick's nearest (:mod:`movierec.models.ranking`,
:mod:`movierec.models.factors`, :mod:`movierec.engine.nearness`).

At 86k movies a request's numpy top-k (a masked copy, its negation, ``argpartition``) took
1.1 ms, the taste scores' temporaries 1.2 ms against 0.4 ms for the scoring product itself,
and a pick's ``np.partition`` 0.7 ms. Here the best few are kept in a small sorted buffer while
the values stream by (a value that does not beat the buffer's least costs one comparison),
and the taste scores are two passes over the per-movie arrays. The product of the movies × k
factor rows with one vector is read row by row: OpenBLAS's sgemv for that layout took 1.1 ms
at 86k movies × 50 factors with the rows out of cache (as they are between requests), this
loop 0.6 ms.

Serial on purpose: the service's request threads call them at once, and a parallel kernel
launched from several threads is unsafe under numba's workqueue threading layer. They release
the GIL (``nogil``), as BLAS does, so a worker's event loop reads and writes sockets meanwhile.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def best_k(
    scores: np.ndarray, k: int, excluded: np.ndarray, allowed: np.ndarray, restrict: bool
) -> np.ndarray:  # pragma: no cover - numba
    """Indices of the ``k`` best finite scores, best first, ties to the lower index.

    Args:
        scores: float64, one per index.
        excluded: indices never picked (any order, repeats allowed).
        allowed: the only indices picked when ``restrict`` (any order, repeats allowed);
            ignored otherwise. Indices outside the scores are ignored in both.
    """
    n = len(scores)
    blocked = np.zeros(n, np.bool_)
    for j in range(len(excluded)):
        if 0 <= excluded[j] < n:
            blocked[excluded[j]] = True
    values = np.empty(max(k, 1), np.float64)
    index = np.empty(max(k, 1), np.int64)
    filled = 0
    m = len(allowed) if restrict else n
    for t in range(m):
        i = allowed[t] if restrict else t
        if i < 0 or i >= n or blocked[i]:
            continue
        if restrict:
            blocked[i] = True  # an index allowed twice is a candidate once
        v = scores[i]
        if not math.isfinite(v):
            continue
        if filled == k:  # full: it must beat the last (a lower index wins a tie)
            last = values[k - 1]
            if v < last or (v == last and i > index[k - 1]):
                continue
            at = k - 1
        else:
            at = filled
            filled += 1
        while at > 0 and (values[at - 1] < v or (values[at - 1] == v and index[at - 1] > i)):
            values[at] = values[at - 1]
            index[at] = index[at - 1]
            at -= 1
        values[at] = v
        index[at] = i
    return index[:filled].copy()


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def row_dots(rows: np.ndarray, vectors: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """``vectors @ rows.T`` in float32: one pass over ``rows`` (movies × k) for every vector.

    Reassociation lets the k-long sums use SIMD lanes, so they round as BLAS's do (float32,
    summed in an order of the compiler's), not as a left-to-right loop would.
    """
    n, k = rows.shape
    out = np.empty((vectors.shape[0], n), np.float32)
    for i in range(n):
        for v in range(vectors.shape[0]):
            total = np.float32(0.0)
            for j in range(k):
                total += rows[i, j] * vectors[v, j]
            out[v, i] = total
    return out


@njit(cache=True, nogil=True)
def taste_kernel(
    dots: np.ndarray,
    votes: np.ndarray,
    bias: np.ndarray,
    lengths: np.ndarray,
    prior_votes: float,
    weight: float,
    norm: float,
) -> np.ndarray:  # pragma: no cover - numba
    """``q_i + w·σ_q·p·q_i/(‖p‖·mean‖q‖)`` per movie (:meth:`FactorModel.taste_scores`).

    ``q_i = b_i·v_i/(v_i + m)`` (the item bias shrunk by its votes); σ_q the spread of the
    qualities of the rated movies and mean‖q‖ their mean factor length. The qualities alone
    when the user has no taste yet (``norm`` 0), or when they do not spread, or no rated
    movie has factors.
    """
    n = min(len(dots), len(votes), len(bias), len(lengths))  # equal, as a factor model keeps them
    out = np.empty(n, np.float64)
    total = 0.0
    length = 0.0
    rated = 0
    for i in range(n):
        v = float(votes[i])
        out[i] = v / (v + prior_votes) * float(bias[i]) if prior_votes > 0 else float(bias[i])
        if v > 0:
            total += out[i]
            length += float(lengths[i])
            rated += 1
    if rated < 2 or norm == 0.0 or length == 0.0:
        return out
    mean = total / rated
    spread = 0.0
    for i in range(n):
        if votes[i] > 0:
            spread += (out[i] - mean) ** 2
    spread = math.sqrt(spread / rated)
    if spread == 0.0:
        return out
    scale = weight * spread / (norm * (length / rated))
    for i in range(n):
        out[i] += scale * float(dots[i])
    return out


@njit(cache=True, nogil=True)
def order_statistics(row: np.ndarray, top: int) -> tuple[float, float]:  # pragma: no cover
    """The ``top``-th and ``top + 1``-th largest entries of ``row`` (``-inf`` included, as
    ``np.partition`` counts it), streamed through a sorted buffer of ``top + 1``: a value
    below the buffer's least costs one comparison. ``row`` must hold more than ``top``
    entries and no NaN."""
    size = top + 1
    buffer = np.empty(size, np.float64)  # descending
    for i in range(size):
        v = row[i]
        at = i
        while at > 0 and buffer[at - 1] < v:
            buffer[at] = buffer[at - 1]
            at -= 1
        buffer[at] = v
    for i in range(size, len(row)):
        v = row[i]
        if v <= buffer[size - 1]:
            continue
        at = size - 1
        while at > 0 and buffer[at - 1] < v:
            buffer[at] = buffer[at - 1]
            at -= 1
        buffer[at] = v
    return buffer[top - 1], buffer[top]
