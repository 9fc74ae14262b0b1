"""The numba kernels of the content model (:mod:`movierec.models.content`).

Buffers (scores, marks) are preallocated per model and left all-zero after every call. Each
query is a single kernel call that holds the GIL, so threads sharing a model cannot interleave
on the buffers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TOUCHED, _EXCLUDED = np.uint8(1), np.uint8(2)


@njit(cache=True)
def profile_kernel(
    rows: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    acc: np.ndarray,
    marks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Sum of the given feature rows, scaled to unit length, as (terms, weights)."""
    size = 0
    for r in rows:
        size += indptr[r + 1] - indptr[r]
    terms = np.empty(size, np.int32)
    n = 0
    for r in rows:
        for p in range(indptr[r], indptr[r + 1]):
            t = indices[p]
            if marks[t] == 0:
                marks[t] = 1
                terms[n] = t
                n += 1
            acc[t] += data[p]
    weights = np.empty(n, np.float64)
    norm = 0.0
    for i in range(n):
        weights[i] = acc[terms[i]]
        norm += weights[i] * weights[i]
        acc[terms[i]] = 0.0
        marks[terms[i]] = 0
    if norm > 0.0:
        weights /= math.sqrt(norm)
    return terms[:n].copy(), weights


@njit(cache=True)
def _worse(va: float, ia: int, vb: float, ib: int) -> bool:  # pragma: no cover - numba
    """Whether (score va, movie ia) ranks below (vb, ib): lower score, or tie and higher index."""
    return va < vb or (va == vb and ia > ib)


@njit(cache=True)
def _offer(
    heap_v: np.ndarray, heap_i: np.ndarray, size: int, v: float, i: int
) -> int:  # pragma: no cover - numba
    """Offer a movie to a min-heap (worst at the root) of capacity len(heap_v); new size."""
    cap = heap_v.shape[0]
    if size < cap:
        c = size
        size += 1
        while c > 0:  # sift up
            parent = (c - 1) // 2
            if not _worse(v, i, heap_v[parent], heap_i[parent]):
                break
            heap_v[c], heap_i[c] = heap_v[parent], heap_i[parent]
            c = parent
        heap_v[c], heap_i[c] = v, i
        return size
    if not _worse(heap_v[0], heap_i[0], v, i):
        return size
    _sift_down(heap_v, heap_i, size, v, i)
    return size


@njit(cache=True)
def _sift_down(
    heap_v: np.ndarray, heap_i: np.ndarray, size: int, v: float, i: int
) -> None:  # pragma: no cover - numba
    """Put (v, i) at the root and sift it down to its place among the first ``size`` items."""
    c = 0
    while True:
        child = 2 * c + 1
        if child >= size:
            break
        if child + 1 < size and _worse(
            heap_v[child + 1], heap_i[child + 1], heap_v[child], heap_i[child]
        ):
            child += 1
        if not _worse(heap_v[child], heap_i[child], v, i):
            break
        heap_v[c], heap_i[c] = heap_v[child], heap_i[child]
        c = child
    heap_v[c], heap_i[c] = v, i


@njit(cache=True)
def top_k_kernel(
    terms: np.ndarray,
    weights: np.ndarray,
    t_indptr: np.ndarray,
    t_indices: np.ndarray,
    t_data: np.ndarray,
    excluded: np.ndarray,
    pool: np.ndarray,
    use_pool: bool,
    k: int,
    scores: np.ndarray,
    marks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Top k movies by dot product with a sparse query, best first, ties by lower index.

    Adds up the posting lists of the query's terms, then picks the best of the touched movies
    (or of ``pool`` when ``use_pool``), never one in ``excluded``. When fewer than k movies were
    touched, untouched ones follow with score 0, in index order: the same answer as a dense
    top-k over all scores.
    """
    n = scores.shape[0]
    size = 0
    for a in range(terms.shape[0]):
        size += t_indptr[terms[a] + 1] - t_indptr[terms[a]]
    touched = np.empty(min(size, n), np.int32)
    n_touched = 0
    for a in range(terms.shape[0]):
        t, w = terms[a], weights[a]
        for p in range(t_indptr[t], t_indptr[t + 1]):
            j = t_indices[p]
            if marks[j] == 0:
                marks[j] = _TOUCHED
                touched[n_touched] = j
                n_touched += 1
            scores[j] += w * t_data[p]
    for e in excluded:
        marks[e] |= _EXCLUDED
    heap_v = np.empty(min(k, n), np.float64)
    heap_i = np.empty(min(k, n), np.int64)
    found = 0
    if use_pool:
        for j in pool:
            if not marks[j] & _EXCLUDED:
                found = _offer(heap_v, heap_i, found, scores[j], j)
    else:
        for a in range(n_touched):
            j = touched[a]
            if not marks[j] & _EXCLUDED:
                found = _offer(heap_v, heap_i, found, scores[j], j)
    # Heap-sort: pop the worst to the back until the array is ordered best first.
    for last in range(found - 1, 0, -1):
        v, i = heap_v[last], heap_i[last]
        heap_v[last], heap_i[last] = heap_v[0], heap_i[0]
        _sift_down(heap_v, heap_i, last, v, i)
    out_i = np.empty(min(k, n), np.int64)
    out_v = np.zeros(min(k, n), np.float64)
    out_i[:found] = heap_i[:found]
    out_v[:found] = heap_v[:found]
    if not use_pool:
        j = 0
        while found < out_i.shape[0] and j < n:
            if marks[j] == 0:
                out_i[found] = j
                found += 1
            j += 1
    for a in range(n_touched):
        scores[touched[a]] = 0.0
        marks[touched[a]] = 0
    for e in excluded:
        marks[e] = 0
    return out_i[:found].copy(), out_v[:found].copy()
