"""A model's answer, and the top-k selection every model's answer comes from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Movies best first, with their scores (why each was chosen is the engine's to say)."""

    movie_ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.movie_ids)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.movie_ids.tolist(), self.scores.tolist(), strict=True)

    def to_json(self) -> list[dict[str, Any]]:
        return [{"movie_id": m, "score": round(s, 6)} for m, s in self]


def padded(scores: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Scores of the movies a model was trained on, then ``fill`` for the movies appended
    since (a fold-in adds ids the trained arrays do not cover)."""
    if len(scores) >= n:
        return scores
    return np.concatenate([scores, np.full(n - len(scores), fill)])


def top_k(
    scores: np.ndarray,
    k: int,
    *,
    excluded: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` best finite scores, best first; ties broken by lower index."""
    if allowed is not None:
        pool = np.unique(allowed)
        if excluded is not None and len(excluded):
            pool = pool[~np.isin(pool, excluded)]
        values = scores[pool]
    else:
        values = scores.copy()
        if excluded is not None and len(excluded):
            values[excluded] = -np.inf
        pool = None
    finite = np.isfinite(values)
    if not finite.all():
        keep = np.flatnonzero(finite)
        pool = keep if pool is None else pool[keep]
        values = values[keep]
    k = min(k, len(values))
    if k == 0:
        return np.empty(0, np.int64)
    if k < len(values):
        part = np.argpartition(-values, k - 1)[:k]
    else:
        part = np.arange(len(values))
    order = part[np.lexsort((part, -values[part]))]
    return order if pool is None else pool[order]
