"""What the engine answers with: movies as people see them, and ranked lists fused by rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from movierec.models.base import Ranking


@dataclass
class MovieRow:
    """A movie as shown to people: identity, a score, and the figures behind "well rated"."""

    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    score: float | None = None
    votes: int = 0
    mean_rating: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SimilarAnswer:
    movie: MovieRow
    by: str
    features: str
    movies: list[MovieRow]
    notes: list[str] = field(default_factory=list)
    #: per movie, what it has in common with ``movie`` (:mod:`movierec.engine.likeness`)
    reasons: list[str | None] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        rows = [m.to_json() for m in self.movies]
        for row, reason in zip(rows, self.reasons, strict=False):
            row["reason"] = reason
        return {
            "movie": self.movie.to_json(),
            "by": self.by,
            "features": self.features,
            "notes": self.notes,
            "movies": rows,
        }


@dataclass
class RecommendAnswer:
    user_id: int | None  # None: someone who has not rated anything (genre picks)
    model: str
    movies: list[MovieRow]
    reasons: list[str]

    def to_json(self) -> dict[str, Any]:
        rows = [m.to_json() for m in self.movies]
        for row, reason in zip(rows, self.reasons, strict=False):
            row["reason"] = reason
        return {"user_id": self.user_id, "model": self.model, "movies": rows}


@dataclass
class RateResult:
    """What storing a rating did: its sequence number, whether the serving model folded it in
    (and how long that took), and whether a retrain started."""

    seq: int
    user_id: int
    movie_id: int
    rating: float
    folded_in: bool
    fold_in_ms: float
    count: int = 1  # ratings stored by the call
    retrain: str = ""  # "", "started" or "ran"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


FUSION_DEPTH = 100  # neighbours taken from each list before fusing
FUSION_K = 60  # reciprocal-rank-fusion constant (Cormack et al. 2009)


def fuse_rankings(rankings: list[Ranking], k: int) -> Ranking:
    """Reciprocal rank fusion: score = Σ 1/(60 + rank) over the lists a movie appears in.

    Content cosines and factor cosines live on different scales; ranks do not, so fusing ranks
    needs no weights to tune and rewards movies both lists agree on.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, movie_id in enumerate(ranking.movie_ids.tolist(), 1):
            scores[movie_id] = scores.get(movie_id, 0.0) + 1.0 / (FUSION_K + rank)
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
    return Ranking(
        np.array([m for m, _ in best], dtype=np.int64),
        np.array([s for _, s in best], dtype=np.float64),
    )
