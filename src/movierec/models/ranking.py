"""A model's answer, and the top-k selection every model's answer comes from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from movierec.models._rankkernels import best_k


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


#: up to this many picks, :func:`top_k` streams the scores through a sorted buffer
#: (:func:`~movierec.models._rankkernels.best_k`); beyond it a buffer insert could cost more
#: than the partition it saves
STREAMED_K = 128


def masked_scores(
    scores: np.ndarray,
    *,
    excluded: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """A float64 copy of ``scores``, −inf where a movie may not be listed: outside ``allowed``
    (when given), in ``excluded``, or not finite (NaN and ±inf are never picked); indices
    outside the scores are ignored, as :func:`top_k`'s streamed path does."""
    n = len(scores)
    if allowed is None:
        values = np.array(scores, dtype=np.float64, copy=True)
    else:
        allowed = np.asarray(allowed)
        allowed = allowed[(allowed >= 0) & (allowed < n)]
        values = np.full(n, -np.inf)
        values[allowed] = scores[allowed]
    if excluded is not None and len(excluded):
        excluded = np.asarray(excluded)
        values[excluded[(excluded >= 0) & (excluded < n)]] = -np.inf
    values[~np.isfinite(values)] = -np.inf
    return values


def top_k(
    scores: np.ndarray,
    k: int,
    *,
    excluded: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` best finite scores, best first; ties broken by lower index.

    No sort or set operation over the catalogue, which at 86k movies cost more than the
    scoring itself: a served answer's ``k`` in one numba pass, a larger ``k`` by a masked copy
    and an ``argpartition``.
    """
    if k <= 0 or not len(scores):
        return np.empty(0, np.int64)
    if k <= STREAMED_K:
        none = np.empty(0, np.int64)
        return best_k(
            np.asarray(scores, dtype=np.float64),
            int(k),
            none if excluded is None else np.asarray(excluded, dtype=np.int64),
            none if allowed is None else np.asarray(allowed, dtype=np.int64),
            allowed is not None,
        )
    values = masked_scores(scores, excluded=excluded, allowed=allowed)
    k = min(k, int(np.count_nonzero(values > -np.inf)))
    if k == 0:
        return np.empty(0, np.int64)
    if k < len(values):
        cut = values[np.argpartition(-values, k - 1)[k - 1]]  # the k-th best score
        above = np.flatnonzero(values > cut)
        part = np.concatenate([above, np.flatnonzero(values == cut)[: k - len(above)]])
    else:
        part = np.arange(len(values))
    return part[np.lexsort((part, -values[part]))].astype(np.int64)
