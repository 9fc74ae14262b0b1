"""Request and response models: the API's contract, and what ``/docs`` shows.

Requests are strict (``false`` is not a number, unknown fields are refused) so a client's
mistake gets a 422 naming the field instead of a silent conversion. Responses describe what the
engine's ``to_json`` documents produce; handlers return those documents directly (no second
validation pass on the hot path), and the schema-driven tests check they conform.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Strict = ConfigDict(strict=True, extra="forbid")
Score = float | None


# --- requests ---------------------------------------------------------------------------------


class RatingIn(BaseModel):
    """One rating on the dataset's scale (e.g. 1–5; the store refuses off-scale values)."""

    model_config = Strict

    movie_id: int = Field(ge=0, le=2**31 - 1)
    rating: float = Field(allow_inf_nan=False)


class RatingBatchIn(BaseModel):
    """Several ratings, stored all together or not at all."""

    model_config = Strict

    ratings: list[RatingIn] = Field(min_length=1, max_length=1_000)


class GroupsIn(BaseModel):
    """Film groups a newcomer chose (ids from ``GET /onboarding/groups``)."""

    model_config = Strict

    groups: list[int] = Field(min_length=1, max_length=20)


class NewUserIn(BaseModel):
    """A new user: optional first ratings and demographics (used by the segment charts)."""

    model_config = Strict

    ratings: list[RatingIn] = Field(default_factory=list, max_length=1_000)
    gender: Literal["M", "F"] | None = None
    age: int | None = Field(default=None, ge=1, le=120)
    occupation: str | None = Field(default=None, min_length=1, max_length=64)


# --- responses --------------------------------------------------------------------------------


class Movie(BaseModel):
    """A movie as shown to people, with the figures behind "well rated"."""

    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    score: Score = None
    votes: int = 0
    mean_rating: float | None = None


class Recommended(Movie):
    reason: str | None = Field(
        default=None,
        description='why it is listed: a pick\'s reason ("because you rated …"), or what a '
        "similar film has in common with the one asked about (null: nothing to say)",
    )


class Health(BaseModel):
    status: Literal["ok"]
    dataset: str
    serving_model: str | None = Field(
        description="the model ratings fold into (null: a dataset without ratings)"
    )
    ratings_pending: int
    retraining: bool
    last_retrain_error: str | None
    answers_kept: int = Field(description="recommendation answers this worker keeps now")
    answer_hits: int = Field(description="requests this worker answered from a kept answer")
    answer_misses: int = Field(description="requests whose answer was computed (since start)")
    worker: int = Field(description="the process id of the worker that answered")


class Match(BaseModel):
    movie_id: int
    title: str
    year: int | None
    score: float = Field(description="0–100")
    popularity: float


class SearchOut(BaseModel):
    query: str
    matches: list[Match]


class Details(Movie):
    """Every catalog field the dataset has (overview, cast, director…), plus the movie row."""

    model_config = ConfigDict(extra="allow")


class SimilarOut(BaseModel):
    movie: Movie
    by: str
    features: str
    notes: list[str]
    movies: list[Recommended]  # each with what it has in common with `movie` (or null)


class FindOut(BaseModel):
    query: str
    backend: Literal["sentence", "tfidf"]
    model: str
    notes: list[str]
    movies: list[Movie]


class ChartEntry(BaseModel):
    movie_id: int
    title: str
    year: int | None
    votes: int
    mean: float
    score: float


class ChartOut(BaseModel):
    C: float
    m: float
    quantile: float
    votes_from: str
    qualified: int
    segment: str | None
    notes: list[str]
    movies: list[ChartEntry]


class GenresOut(BaseModel):
    genres: list[str]


class RatedMovie(Movie):
    rating: float


class UserRatingsOut(BaseModel):
    user_id: int
    count: int
    movies: list[RatedMovie]


class RecommendOut(BaseModel):
    user_id: int | None = Field(description="None for picks by liked genres alone.")
    model: str
    movies: list[Recommended]


class NewUserOut(BaseModel):
    user_id: int
    token: str = Field(description="Shown once; send as `Authorization: Bearer <token>`.")
    ratings: int


class NextFilmsOut(BaseModel):
    strategy: str
    rated: int = Field(description="The user's stored ratings the strategy took into account.")
    skipped: int = Field(description="Films answered 'haven't seen it'.")
    movies: list[Movie]


class FilmGroup(BaseModel):
    group_id: int
    name: str = Field(description="Its most characteristic genres.")
    movies: list[Movie]


class GroupsOut(BaseModel):
    groups: list[FilmGroup]


class RateOut(BaseModel):
    user_id: int
    stored: int
    last_seq: int
    folded_in: bool
    fold_in_ms: float
    retrain: str
    notes: list[str]


_SCALARS = (str, int, bool, type(None))


def plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays to Python, NaN to None (JSON has no NaN)."""
    kind = type(value)
    if kind in _SCALARS:  # the common case first: most of an answer is strings and ints
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
