"""The numba half of the co-rater reason ("popular with people who rated X and Y highly").

At 33.8M ratings the users who liked two of a person's pooled films, and the raters of each
pick, run to tens of thousands; numpy needed a users × pool block, a gather per film and a
product per pick (6–9 ms a request). Here each user is one 32-bit mask of the pooled films they
liked (the pool holds at most 32), and a pair count is a loop over set bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def pool_masks(
    indptr: np.ndarray, indices: np.ndarray, pool: np.ndarray, n_users: int
) -> np.ndarray:
    """Per user, bit ``p`` set when they are in column ``pool[p]`` (who liked that film)."""
    masks = np.zeros(n_users, np.uint32)
    for p in range(len(pool)):
        bit = np.uint32(1) << np.uint32(p)
        column = pool[p]
        for t in range(indptr[column], indptr[column + 1]):
            masks[indices[t]] |= bit
    return masks


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
def pair_counts(
    chosen: np.ndarray,
    masks: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    picks: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Co-rater counts over the ``chosen`` users (a mask over all users).

    Returns ``pairs`` (size × size, upper triangle: chosen users who liked both films),
    ``also`` (picks × size × size: those of them who also rated the pick, from the pick's
    column of ``indptr``/``indices``), and per pick how many chosen users rated it.
    """
    pairs = np.zeros((size, size), np.float32)
    for u in np.flatnonzero(chosen):
        _count_pairs(masks[u], pairs)
    also = np.zeros((len(picks), size, size), np.float32)
    raters = np.zeros(len(picks), np.int64)
    for j in range(len(picks)):
        column = picks[j]
        for t in range(indptr[column], indptr[column + 1]):
            u = indices[t]
            if chosen[u]:
                raters[j] += 1
                _count_pairs(masks[u], also[j])
    return pairs, also, raters
