"""Charts ("demographic filtering"): the IMDB weighted rating.

``WR = v/(v+m)·R + m/(v+m)·C``: ``v`` a movie's votes, ``R`` its mean, ``C`` the mean over the
movies in the chart, ``m`` the vote count at a quantile (0.90 by default) — only movies with at
least ``m`` votes qualify, and the few votes they have are shrunk toward ``C``. Votes come from
the ratings, or from TMDB's ``vote_count``/``vote_average`` when the catalog has them; a chart
says which. ``C`` and ``m`` are computed over the movies that pass the filters, as the classic
per-genre charts do, and over a demographic segment's ratings when one is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset
from movierec.data.filters import CatalogFilter, GenreIndex
from movierec.errors import InvalidValueError, MovieRecError, NoMatchError
from movierec.validate import check_k, number_in

VoteSource = Literal["auto", "ratings", "tmdb"]
_SEGMENT_KEYS = ("gender", "age", "occupation")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$|^(\d+)\+$|^(\d+)$")


class SegmentTooSmallError(MovieRecError):
    """A demographic segment with too few users or ratings to rank anything honestly."""

    status = 422


def _bad_segment(text: str, reason: str) -> InvalidValueError:
    return InvalidValueError(
        "segment", text, f"key=value pairs such as gender=F,age=25-34 ({reason})"
    )


@dataclass(frozen=True)
class Segment:
    """Users selected by demographics, e.g. ``gender=F,age=25-34,occupation=engineer``."""

    conditions: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> Segment:
        conditions = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise _bad_segment(text, f"got {part!r}")
            if key not in _SEGMENT_KEYS:
                raise _bad_segment(text, f"unknown key {key!r}; use {', '.join(_SEGMENT_KEYS)}")
            if key == "age" and not _RANGE.match(value):
                raise _bad_segment(text, f"age must be like 25-34, 56+ or 30, got {value!r}")
            conditions.append((key, value))
        if not conditions:
            raise _bad_segment(text, "empty")
        return cls(tuple(conditions))

    def users(self, users: pd.DataFrame | None, dataset_name: str) -> np.ndarray:
        """Ids of the users in the segment."""
        if users is None:
            raise NoMatchError(
                f"{dataset_name} has no user demographics; segments need a "
                "dataset such as ml-100k or ml-1m"
            )
        keep = np.ones(len(users), dtype=bool)
        for key, value in self.conditions:
            if key not in users.columns:
                raise NoMatchError(
                    f"{dataset_name} has no {key!r} for its users; it has "
                    f"{', '.join(c for c in users.columns if c != 'user_id')}"
                )
            column = users[key]
            if key == "age":
                keep &= _age_mask(column.to_numpy(dtype=np.float64), value)
            elif key == "gender":
                keep &= column.str.upper().str[0].to_numpy() == value.upper()[0]
            else:
                keep &= _occupation_mask(column, value)
        return users["user_id"].to_numpy()[keep]

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.conditions)


def _age_mask(ages: np.ndarray, value: str) -> np.ndarray:
    match = _RANGE.match(value)
    assert match is not None
    if match.group(1):
        low, high = int(match.group(1)), int(match.group(2))
    elif match.group(3):
        low, high = int(match.group(3)), 200
    else:
        low = high = int(match.group(4))
    if low > high:
        raise InvalidValueError("segment", value, "an age range low-high, not reversed")
    return (ages >= low) & (ages <= high)


def _occupation_mask(column: pd.Series, value: str) -> np.ndarray:
    """Exact name, or one part of a combined one ("engineer" in "technician/engineer")."""
    wanted = value.lower()
    names = column.astype(str).str.lower()
    exact = names.to_numpy() == wanted
    if exact.any():
        return exact
    parts = names.str.split("/").map(lambda p: wanted in p).to_numpy(bool)
    if not parts.any():
        raise NoMatchError(
            f"no user has occupation {value!r}; occupations: "
            f"{', '.join(sorted(column.astype(str).unique()))}"
        )
    return parts


@dataclass(frozen=True)
class ChartEntry:
    movie_id: int
    title: str
    year: int | None
    votes: int
    mean: float
    score: float


@dataclass
class Chart:
    """A ranked chart with the constants it used, so a reader can check the arithmetic."""

    entries: list[ChartEntry]
    C: float
    m: float
    quantile: float
    source: str
    qualified: int
    segment: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "C": round(self.C, 6),
            "m": round(self.m, 3),
            "quantile": self.quantile,
            "votes_from": self.source,
            "qualified": self.qualified,
            "segment": self.segment,
            "notes": self.notes,
            "movies": [entry.__dict__ for entry in self.entries],
        }


def movie_votes(
    dataset: Dataset, source: VoteSource = "auto", users: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Per catalog row: votes and mean rating, and which source gave them.

    Args:
        dataset: the dataset.
        source: ``ratings`` (count and mean of the ratings), ``tmdb`` (the catalog's
            vote_count/vote_average) or ``auto`` (ratings when there are any).
        users: restrict the ratings to these users (a segment).
    """
    has_tmdb = {"vote_count", "vote_average"} <= set(dataset.catalog.columns)
    if source == "auto":
        source = "ratings" if len(dataset.ratings) else "tmdb"
    if source == "tmdb":
        if not has_tmdb:
            raise NoMatchError(
                f"{dataset.name} has no TMDB vote counts; use votes from ratings "
                "(or enrich it: movierec data enrich)"
            )
        if users is not None:
            raise ValueError("segments need votes from ratings, not TMDB vote counts")
        votes = dataset.catalog["vote_count"].to_numpy(dtype=np.float64, na_value=0.0)
        means = dataset.catalog["vote_average"].to_numpy(dtype=np.float64, na_value=np.nan)
        return votes, means, "tmdb vote_count/vote_average"
    if not len(dataset.ratings):
        raise NoMatchError(f"{dataset.name} has no ratings; use TMDB votes instead")
    ratings = dataset.ratings
    if users is not None:
        ratings = ratings[np.isin(ratings["user_id"].to_numpy(), users)]
    rows = pd.Index(dataset.catalog["movie_id"].to_numpy()).get_indexer(
        ratings["movie_id"].to_numpy()
    )
    n = len(dataset.catalog)
    votes = np.bincount(rows, minlength=n).astype(np.float64)
    sums = np.bincount(rows, weights=ratings["rating"].to_numpy(np.float64), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(votes > 0, sums / votes, np.nan)
    return votes, means, "ratings" if users is None else "ratings of the segment"


def weighted_chart(
    dataset: Dataset,
    *,
    k: int = 10,
    quantile: float = 0.90,
    filters: CatalogFilter | None = None,
    segment: Segment | None = None,
    source: VoteSource = "auto",
    genre_index: GenreIndex | None = None,
    min_segment_users: int = 20,
    stats: tuple[np.ndarray, np.ndarray, str] | None = None,
) -> Chart:
    """The top ``k`` movies by weighted rating among those passing ``filters``.

    ``stats`` (votes, means, source label per catalog row) replaces :func:`movie_votes` when
    the caller keeps them up to date itself (the engine, as new ratings arrive).
    """
    check_k(k)
    number_in(quantile, "quantile", 0, 1, high_open=True)
    filters = filters or CatalogFilter()
    notes: list[str] = []
    users = None
    if segment is not None:
        users = segment.users(dataset.users, dataset.name)
        rated = np.isin(users, dataset.ratings["user_id"].to_numpy())
        if rated.sum() < min_segment_users:
            raise SegmentTooSmallError(
                f"segment {segment} has {int(rated.sum())} users with ratings; at least "
                f"{min_segment_users} are needed to rank movies instead of printing noise"
            )
    if stats is not None and users is None:
        votes, means, used = stats
    else:
        votes, means, used = movie_votes(dataset, source, users)
    genre_index = genre_index or GenreIndex(dataset.catalog["genres"])
    keep = filters.mask(dataset.catalog, genre_index, votes) & ~np.isnan(means)
    if not keep.any():
        raise NoMatchError("no movie with votes passes the filters")
    C = float(np.mean(means[keep]))
    m = float(np.quantile(votes[keep], quantile))
    qualified = keep & (votes >= m)
    rows = np.flatnonzero(qualified)
    v, r = votes[rows], means[rows]
    score = weighted_rating(v, r, m, C)
    order = rows[np.lexsort((-v, -score))][:k]
    score_of = dict(zip(rows.tolist(), score.tolist(), strict=True))
    if len(order) < k:
        notes.append(f"only {len(order)} movies qualify (at least {m:g} votes)")
    catalog = dataset.catalog
    entries = [
        ChartEntry(
            int(catalog["movie_id"].iat[i]),
            str(catalog["title"].iat[i]),
            None if pd.isna(catalog["year"].iat[i]) else int(catalog["year"].iat[i]),
            int(votes[i]),
            round(float(means[i]), 4),
            round(score_of[i], 4),
        )
        for i in order
    ]
    return Chart(
        entries,
        C,
        m,
        quantile,
        used,
        int(qualified.sum()),
        str(segment) if segment else None,
        notes,
    )


def weighted_rating(votes: np.ndarray, means: np.ndarray, m: float, C: float) -> np.ndarray:
    """IMDB's ``WR = v/(v+m)·R + m/(v+m)·C`` per movie (``R`` itself when ``m`` is 0).

    The one vote-count shrinkage: charts, "well rated" filters, and the models' item biases
    (toward 0) and predicted scores (toward the global mean) all use it.
    """
    if m <= 0:
        return means
    return votes / (votes + m) * means + m / (votes + m) * C


def shrunk_ratings(votes: np.ndarray, means: np.ndarray, m: float | None = None) -> np.ndarray:
    """Mean ratings shrunk toward the global mean by ``m`` votes (default: the median count).

    What "well rated" means for filters: a movie with two 5-star votes is not well rated yet.
    """
    rated = votes > 0
    if not rated.any():
        return np.full(len(votes), np.nan)
    C = float(np.average(means[rated], weights=votes[rated]))
    m = float(np.median(votes[rated])) if m is None else m
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = weighted_rating(votes, np.nan_to_num(means), m, C)
    return np.where(rated, shrunk, np.nan)
