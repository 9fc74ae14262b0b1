"""The typo-tolerant stage of title search: byte trigrams find candidates, rapidfuzz scores them.

One key per movie (its head title without article or alternative titles, from
:mod:`movierec.data.title_text`). Trigrams shared with the query pick ~100 candidates in well
under a millisecond whatever the catalog size, so rapidfuzz only scores those; scores are scaled
to at most :data:`FUZZY_WEIGHT` × 100, so a typo never outranks a real word match of
:class:`movierec.data.search.TitleIndex`.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

#: Fuzzy matches score at most FUZZY_WEIGHT * 100, below every word tier.
FUZZY_WEIGHT = 0.85
_FUZZY_POOL = 60  # candidates the trigram pass hands to rapidfuzz, per measure


class FuzzyTitles:
    """Trigram postings of one key per movie row; build once, score typed keys many times.

    Args:
        keys: one normalised key per row ("" for a row without a title).
        pop_rank: each row's rank by popularity, which breaks ties between candidates.
    """

    def __init__(self, keys: list[str], pop_rank: np.ndarray):
        self._keys, self._pop_rank = keys, pop_rank
        encoded = [f" {key} ".encode() for key in keys]
        lengths = np.array([len(b) for b in encoded], dtype=np.int64)
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        offset = np.arange(len(blob)) - np.repeat(starts, lengths)
        at = np.flatnonzero(offset <= np.repeat(lengths, lengths) - 3)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[at]
        pairs = np.sort((blob[at] << 16 | blob[at + 1] << 8 | blob[at + 2]) << 32 | rows)
        pairs = pairs[_run_starts(pairs)]  # each trigram once per key
        grams, self._gram_rows = pairs >> 32, pairs & 0xFFFFFFFF
        self._gram_count = np.bincount(self._gram_rows, minlength=len(lengths))
        first = np.flatnonzero(_run_starts(grams))
        self._grams, self._gram_ptr = grams[first], np.r_[first, len(grams)]

    def __len__(self) -> int:
        return len(self._keys)

    def scores(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Typo-tolerant scores: trigram overlap picks candidates, rapidfuzz scores them."""
        rows = self._candidates(key)
        if not len(rows):
            return rows, np.empty(0)
        keys = [self._keys[r] for r in rows]
        whole = process.cdist([key], keys, scorer=fuzz.ratio, processor=None)[0]
        reordered = process.cdist([key], keys, scorer=fuzz.token_sort_ratio, processor=None)[0]
        # A fragment of a longer title ("lord of the ringz"), never a title inside the query.
        partial = process.cdist([key], keys, scorer=fuzz.partial_ratio, processor=None)[0]
        longer = np.array([len(k) for k in keys]) >= 1.5 * len(key)
        best = np.maximum(np.maximum(whole, 0.95 * reordered), np.where(longer, 0.9 * partial, 0))
        return rows, FUZZY_WEIGHT * best

    def _candidates(self, key: str) -> np.ndarray:
        """Rows most alike by trigrams: whole-key likeness (Jaccard) finds typos, shared count
        finds fragments of long titles; a query sharing none falls back to a full ratio pass."""
        encoded = np.frombuffer(f" {key} ".encode(), dtype=np.uint8).astype(np.int64)
        grams = np.unique(encoded[:-2] << 16 | encoded[1:-1] << 8 | encoded[2:])
        slot = np.minimum(np.searchsorted(self._grams, grams), max(len(self._grams) - 1, 0))
        known = slot[self._grams[slot] == grams] if len(self._grams) else slot[:0]
        if not len(known):
            found = process.extract(
                key, self._keys, scorer=fuzz.ratio, processor=None, limit=_FUZZY_POOL
            )
            return np.array(sorted(row for _, _, row in found), dtype=np.int64)
        lo, hi = self._gram_ptr[known], self._gram_ptr[known + 1]
        hits = np.concatenate([self._gram_rows[a:b] for a, b in zip(lo, hi, strict=True)])
        shared = np.bincount(hits, minlength=len(self))
        rows = np.flatnonzero(shared)
        shared = shared[rows]
        tie = self._pop_rank[rows] / (len(self) + 1.0)
        jaccard = shared / (len(grams) + self._gram_count[rows] - shared)
        return np.unique(
            np.r_[
                rows[_top(jaccard * 1000 + tie, _FUZZY_POOL)],
                rows[_top(shared * 1000 + tie, _FUZZY_POOL)],
            ]
        )


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values in a sorted array."""
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    return starts


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values, unordered."""
    return np.arange(len(values)) if len(values) <= k else np.argpartition(-values, k)[:k]
