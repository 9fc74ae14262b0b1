"""The numba half of the co-rater reason ("popular with people who rated X and Y highly").

At 33.8M ratings the users who liked two of a person's pooled films, and the raters of each
pick, run to tens of thousands; numpy needed a users × pool block, a gather per film and a
product per pick (6–9 ms a request). Here each user is one 32-bit mask of the pooled films they
liked (the pool holds at most 32), and a pair count is a loop over set bits.

Users are read in a fixed order, a chunk at a time, until enough of them liked two pooled films
(:func:`co_rater_counts`): the columns are user-sorted, so the rest of every column is never
touched. The caller numbers the users in a fixed pseudo-random order, so that a prefix is a
fair sample of everyone rather than MovieLens's earliest sign-ups.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: De Bruijn table: the index of a 32-bit word's only set bit (Leiserson et al. 1998)
_BIT_INDEX = np.array(
    [0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
     31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9],
    dtype=np.int64,
)  # fmt: skip


@njit(cache=True, inline="always")
def _lowest_bit(word: np.uint32) -> int:
    """The index of the lowest set bit of a non-zero word."""
    low = word & (~word + np.uint32(1))
    return _BIT_INDEX[((low * np.uint32(0x077CB531)) & np.uint32(0xFFFFFFFF)) >> np.uint32(27)]


@njit(cache=True, nogil=True)
def _count_pairs(mask: np.uint32, counts: np.ndarray) -> None:
    """Add one to ``counts[x, y]`` for every pair x < y of bits set in ``mask``: k²/2 steps
    for k bits, whatever their places."""
    rest = mask
    while rest:
        x = _lowest_bit(rest)
        rest &= rest - np.uint32(1)
        others = rest
        while others:
            counts[x, _lowest_bit(others)] += 1.0
            others &= others - np.uint32(1)


@njit(cache=True, nogil=True)
def co_rater_counts(
    liked_indptr: np.ndarray,
    liked_indices: np.ndarray,
    pool: np.ndarray,
    rated_indptr: np.ndarray,
    rated_indices: np.ndarray,
    picks: np.ndarray,
    n_users: int,
    most: int,
    skip: int,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:  # pragma: no cover - numba
    """Co-rater counts over the first users (by row) who liked two of the ``pool``'s films.

    Users are read ``chunk`` rows at a time until at least ``most`` of them liked two pooled
    films, or none are left; user ``skip`` is never counted (-1: none). ``liked_*`` and
    ``rated_*`` are CSC structures (users × films) with sorted indices.

    Returns ``pairs`` (pool × pool, upper triangle: the counted users who liked both films),
    ``also`` (picks × pool × pool: those of them who also rated the pick), per pick how many
    counted users rated it, and how many user rows were read.
    """
    size = len(pool)
    masks = np.zeros(n_users, np.uint32)
    at = np.empty(size, np.int64)
    for p in range(size):
        at[p] = liked_indptr[pool[p]]
    pairs = np.zeros((size, size), np.float32)
    found = 0
    read = 0
    while read < n_users and found < most:
        end = min(read + chunk, n_users)
        for p in range(size):
            bit = np.uint32(1) << np.uint32(p)
            stop = liked_indptr[pool[p] + 1]
            t = at[p]
            while t < stop and liked_indices[t] < end:
                masks[liked_indices[t]] |= bit
                t += 1
            at[p] = t
        for u in range(read, end):
            if u == skip:
                masks[u] = 0
            elif masks[u] & (masks[u] - np.uint32(1)):  # two bits or more
                found += 1
                _count_pairs(masks[u], pairs)
            else:
                masks[u] = 0  # a single like says nothing about a pair
        read = end
    also = np.zeros((len(picks), size, size), np.float32)
    raters = np.zeros(len(picks), np.int64)
    for j in range(len(picks)):
        column = picks[j]
        for t in range(rated_indptr[column], rated_indptr[column + 1]):
            u = rated_indices[t]
            if u >= read:
                break
            if masks[u]:
                raters[j] += 1
                _count_pairs(masks[u], also[j])
    return pairs, also, raters, read


@njit(cache=True, nogil=True)
def column_structure(
    rows: np.ndarray, columns: np.ndarray, keep: np.ndarray, n_rows: int, n_columns: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """A CSC structure (``indptr``, ``indices``) of the (row, column) pairs where ``keep``
    holds, each column's rows sorted and unique, by two counting sorts (by row, then stably
    by column). Nothing is gathered first: a 33.8M-long copy costs more than the test.

    scipy's conversion keeps the input order within a column and then sorts every column: at
    33.8M ratings with shuffled rows that sort took 2.3 s of a service worker's start.
    """
    start = np.zeros(n_rows + 1, np.int64)
    indptr = np.zeros(n_columns + 1, np.int64)
    nnz = 0
    for t in range(len(rows)):
        if keep[t]:
            start[rows[t] + 1] += 1
            indptr[columns[t] + 1] += 1
            nnz += 1
    for r in range(n_rows):
        start[r + 1] += start[r]
    for c in range(n_columns):
        indptr[c + 1] += indptr[c]
    by_row = np.empty(nnz, np.int64)
    for t in range(len(rows)):
        if keep[t]:
            by_row[start[rows[t]]] = t
            start[rows[t]] += 1
    fill = indptr[:-1].copy()
    indices = np.empty(nnz, np.int32)
    for s in range(nnz):
        t = by_row[s]
        c = columns[t]
        indices[fill[c]] = rows[t]
        fill[c] += 1
    kept = 0  # drop repeats: within a column they are now neighbours
    for c in range(n_columns):
        last = -1
        begin = indptr[c]
        indptr[c] = kept
        for t in range(begin, fill[c]):
            if indices[t] != last:
                last = indices[t]
                indices[kept] = last
                kept += 1
    indptr[n_columns] = kept
    return indptr, indices[:kept].copy()


@njit(cache=True, nogil=True)
def common_counts(
    indptr: np.ndarray,
    indices: np.ndarray,
    column: int,
    others: np.ndarray,
    n_users: int,
    most: int,
) -> np.ndarray:  # pragma: no cover - numba
    """For each of ``others``, how many users its column shares with ``column``, counted up
    to ``most``: ``column``'s users are marked once, then each other column is read until its
    count reaches ``most`` (two popular films share thousands: their first ``most`` are read,
    not the whole column)."""
    marks = np.zeros(n_users, np.uint8)
    for t in range(indptr[column], indptr[column + 1]):
        marks[indices[t]] = 1
    out = np.zeros(len(others), np.int64)
    for j in range(len(others)):
        n = 0
        for t in range(indptr[others[j]], indptr[others[j] + 1]):
            n += marks[indices[t]]
            if n >= most:
                break
        out[j] = n
    return out
