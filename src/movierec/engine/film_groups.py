"""Groups of films for a newcomer to choose among instead of rating film by film (Chang,
Harper & Konstan, "Using Groups of Items for Preference Elicitation", CSCW 2015): k-means
clusters of the elicitation pool's item vectors, each named by its most telling genres."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from movierec.engine.onboarding import ElicitationPool, unit_rows
from movierec.errors import InvalidValueError
from movierec.validate import int_in


@dataclass(frozen=True)
class FilmGroup:
    """Well-known films from one region of the item space, named by its telling genres."""

    group_id: int
    name: str
    movie_ids: np.ndarray
    centroid: np.ndarray


@dataclass(frozen=True)
class FilmGroups:
    """6–10 groups of 3–5 films for a newcomer to choose among (Chang et al., CSCW 2015)."""

    groups: list[FilmGroup]

    @classmethod
    def build(
        cls, pool: ElicitationPool, n_groups: int = 10, per_group: int = 4, seed: int = 0
    ) -> FilmGroups:
        int_in(n_groups, "n_groups", 2, 20)
        int_in(per_group, "per_group", 1, 10)
        labels, centroids = _kmeans(pool.vectors, n_groups, seed)
        all_genres = _genre_shares(pool.genres, np.ones(len(pool), bool))
        groups: list[FilmGroup] = []
        for g in range(n_groups):
            members = np.flatnonzero(labels == g)
            if not len(members):
                continue
            closeness = pool.vectors[members] @ centroids[g]
            typical = members[np.lexsort((-pool.votes[members], -closeness))][: per_group * 3]
            films = typical[np.argsort(-pool.votes[typical], kind="stable")][:per_group]
            shares = _genre_shares(pool.genres, labels == g)
            groups.append(
                FilmGroup(
                    group_id=len(groups),
                    name=_group_name(shares, all_genres),
                    movie_ids=pool.movie_ids[films],
                    centroid=centroids[g],
                )
            )
        return cls(groups)

    def films_of(self, group_ids: Collection[int]) -> np.ndarray:
        """The films of the chosen groups, in group order; an unknown id is a 422-class error."""
        known = {g.group_id: g for g in self.groups}
        missing = [g for g in group_ids if g not in known]
        if missing:
            raise InvalidValueError("groups", missing, f"group ids among {sorted(known)}")
        chosen = [known[g].movie_ids for g in group_ids]
        return np.concatenate(chosen) if chosen else np.empty(0, np.int64)


def _kmeans(vectors: np.ndarray, k: int, seed: int, steps: int = 50) -> tuple[np.ndarray, ...]:
    """Spherical k-means (cosine), k-means++ start; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    k = min(k, len(vectors))
    centroids = [vectors[rng.integers(len(vectors))]]
    for _ in range(1, k):
        distance = 1.0 - (vectors @ np.array(centroids).T).max(axis=1)
        weights = np.clip(distance, 0, None) ** 2
        total = weights.sum()
        pick = rng.choice(len(vectors), p=weights / total) if total > 0 else rng.integers(k)
        centroids.append(vectors[pick])
    centers = np.array(centroids)
    labels = np.full(len(vectors), -1)
    for _ in range(steps):
        new = np.argmax(vectors @ centers.T, axis=1)
        if (new == labels).all():
            break
        labels = new
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                centers[c] = unit_rows(members.sum(axis=0, keepdims=True))[0]
    return labels, centers


def _genre_shares(genres: list[list[str]], mask: np.ndarray) -> dict[str, float]:
    counts: dict[str, float] = {}
    chosen = [genres[i] for i in np.flatnonzero(mask)]
    for names in chosen:
        for name in set(names):
            counts[name] = counts.get(name, 0.0) + 1.0
    return {name: count / max(len(chosen), 1) for name, count in counts.items()}


def _group_name(shares: dict[str, float], overall: dict[str, float]) -> str:
    """The two genres most over-represented in the group (share × lift), joined."""
    if not shares:
        return "Mixed"
    telling = sorted(shares, key=lambda g: (-shares[g] * shares[g] / overall[g], g))
    return " & ".join(telling[:2])
