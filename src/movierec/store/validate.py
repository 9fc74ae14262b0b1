"""Checks on what callers hand the store, run before any transaction opens.

Shared by every backend, so a value SQLite refuses is refused by PostgreSQL too. Batches are
checked column by column with numpy; only inputs of mixed Python types (an ``object`` column)
fall back to looking at each value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

import numpy as np
import pandas as pd

from movierec.data.dataset import RatingScale
from movierec.errors import InvalidRatingError, InvalidValueError

ID_MAX = int(np.iinfo(np.int32).max)
ID_RANGE = f"an integer from 0 to {ID_MAX}"
TIMESTAMP_MAX = 2**62
TIMESTAMP_RANGE = "seconds since the epoch, an integer >= 0 (or None for now)"
TOKEN_HASH_MAX = 512


@dataclass(frozen=True)
class RatingColumns:
    """A validated batch: parallel arrays, in the caller's row order."""

    user_ids: np.ndarray  # int64
    movie_ids: np.ndarray  # int64
    ratings: np.ndarray  # float64
    timestamps: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.user_ids)


def check_id(value: Any, field: str) -> int:
    """One id: a non-negative 32-bit integer (a bool is not an id)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not 0 <= int(value) <= ID_MAX
    ):
        raise InvalidValueError(field, value, ID_RANGE)
    return int(value)


def one_rating(
    user_id: Any, movie_id: Any, rating: Any, timestamp: Any, scale: RatingScale, now: int
) -> RatingColumns:
    """The single-rating path: the batch checks on a one-row batch, errors without a row."""
    return _checked(
        {
            "user_id": _one(user_id),
            "movie_id": _one(movie_id),
            "rating": _one(rating),
            "timestamp": _one(timestamp),
        },
        scale,
        now,
        batch=False,
    )


def rating_batch(rows: Iterable[Any] | pd.DataFrame, scale: RatingScale, now: int) -> RatingColumns:
    """A batch from a frame or from (user_id, movie_id, rating[, timestamp]) tuples."""
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in ("user_id", "movie_id", "rating") if c not in rows.columns]
        if missing:
            raise InvalidValueError(
                "columns", list(rows.columns), "user_id, movie_id, rating and optionally timestamp"
            )
        n = len(rows)
        stamps = (
            rows["timestamp"].to_numpy()
            if "timestamp" in rows.columns
            else np.full(n, None, dtype=object)
        )
        columns = {
            "user_id": rows["user_id"].to_numpy(),
            "movie_id": rows["movie_id"].to_numpy(),
            "rating": rows["rating"].to_numpy(),
            "timestamp": stamps,
        }
        return _checked(columns, scale, now, batch=True)
    try:  # transpose without a Python loop; a short row gets None, which the checks name
        transposed = list(zip_longest(*rows, fillvalue=None))
    except TypeError as exc:
        raise InvalidValueError(
            "rows", type(rows).__name__, "(user_id, movie_id, rating[, timestamp]) tuples"
        ) from exc
    if not transposed:
        transposed = [(), (), (), ()]
    if len(transposed) not in (3, 4):
        raise InvalidValueError(
            "row",
            f"a tuple of {len(transposed)} values",
            "(user_id, movie_id, rating[, timestamp])",
        )
    if len(transposed) == 3:
        transposed.append((None,) * len(transposed[0]))
    columns = {
        name: _column(values)
        for name, values in zip(
            ("user_id", "movie_id", "rating", "timestamp"), transposed, strict=True
        )
    }
    return _checked(columns, scale, now, batch=True)


def check_demographics(demographics: Mapping[str, Any]) -> str | None:
    """Demographics as JSON text (None when there are none); values must be JSON scalars."""
    for key, value in demographics.items():
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, str | int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            raise InvalidValueError(key, value, "a string, a number or None")
    return json.dumps(dict(demographics), sort_keys=True) if demographics else None


def check_movie(title: Any, year: Any, genres: Iterable[str]) -> tuple[str, int | None, str]:
    """(title, year, genres joined by ``|``) of a movie to add."""
    if not isinstance(title, str) or not title.strip():
        raise InvalidValueError("title", title, "a non-empty string")
    if year is not None and (
        isinstance(year, bool)
        or not isinstance(year, int | np.integer)
        or not 1800 <= int(year) <= 2200
    ):
        raise InvalidValueError("year", year, "an integer from 1800 to 2200, or None")
    if isinstance(genres, str):
        raise InvalidValueError("genres", genres, "a list of genre names, not one string")
    names = list(genres)
    for name in names:
        if not isinstance(name, str) or not name.strip() or "|" in name:
            raise InvalidValueError("genres", name, "non-empty names without '|'")
    return title.strip(), None if year is None else int(year), "|".join(names)


def check_token_hash(token_hash: Any) -> str:
    """A token hash: non-empty text without whitespace, at most 512 characters."""
    if (
        not isinstance(token_hash, str)
        or not token_hash
        or len(token_hash) > TOKEN_HASH_MAX
        or any(c.isspace() for c in token_hash)
    ):
        raise InvalidValueError(
            "token_hash", token_hash, f"a hash: 1 to {TOKEN_HASH_MAX} characters, no whitespace"
        )
    return token_hash


def check_dataset_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidValueError("dataset", name, "a non-empty name of at most 200 characters")
    return name


# --- internals ----------------------------------------------------------------------------------


def _column(values: tuple[Any, ...]) -> np.ndarray:
    """int64 or float64 when every value is a plain int or float, else an object array (so a
    bool or a string among numbers is seen, not silently converted)."""
    types = set(map(type, values))
    if types and types <= {int, float}:
        return np.array(values, dtype=np.int64 if types == {int} else np.float64)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _one(value: Any) -> np.ndarray:
    column = np.empty(1, dtype=object)
    column[0] = value
    return column


def _checked(
    columns: dict[str, np.ndarray], scale: RatingScale, now: int, *, batch: bool
) -> RatingColumns:
    def fail(field: str, values: np.ndarray, bad: np.ndarray, allowed: str) -> None:
        row = int(np.argmax(bad))
        value = values[row]
        value = value.item() if isinstance(value, np.generic) else value
        raise InvalidRatingError(field, value, allowed, row=row if batch else None)

    ids = {}
    for field in ("user_id", "movie_id"):
        values = columns[field]
        ints, bad = _as_int(values)
        bad |= ~bad & ((ints < 0) | (ints > ID_MAX))
        if bad.any():
            fail(field, values, bad, ID_RANGE)
        ids[field] = ints

    values = columns["rating"]
    ratings, bad = _as_float(values)
    bad |= ~np.isfinite(ratings)
    bad[~bad] = ~scale.valid(ratings[~bad])
    if bad.any():
        fail("rating", values, bad, scale.describe())

    values = columns["timestamp"]
    missing = pd.isna(values) if values.dtype.kind in "fO" else np.zeros(len(values), bool)
    present = values.copy()
    present[missing] = 0
    stamps, bad = _as_int(present)
    bad |= (stamps < 0) | (stamps > TIMESTAMP_MAX)
    if bad.any():
        fail("timestamp", values, bad, TIMESTAMP_RANGE)
    stamps[missing] = now
    return RatingColumns(ids["user_id"], ids["movie_id"], ratings, stamps)


def _as_int(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 values, mask of entries that are not integers); bools and text are not."""
    kind = values.dtype.kind
    if kind in "iu":
        clipped = np.clip(values, -1, TIMESTAMP_MAX + 1) if kind == "u" else values
        return clipped.astype(np.int64), np.zeros(len(values), bool)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2**62)
        return np.where(bad, 0, values).astype(np.int64), bad
    if kind == "O":
        return _objects_as(values, np.int64, 0, _not_an_int)
    return np.zeros(len(values), np.int64), np.ones(len(values), bool)


def _not_an_int(v: object) -> bool:
    return (
        isinstance(v, bool) or not isinstance(v, int | np.integer) or not -(2**63) <= int(v) < 2**63
    )


def _not_a_number(v: object) -> bool:
    return isinstance(v, bool) or not isinstance(v, int | float | np.number)


def _objects_as(
    values: np.ndarray, dtype: type, fill: float, refused: Callable[[object], bool]
) -> tuple[np.ndarray, np.ndarray]:
    """An object column as ``dtype`` (``fill`` where ``refused``) and the refused mask."""
    bad = np.fromiter((refused(v) for v in values), bool, len(values))
    out: np.ndarray = np.full(len(values), fill, dtype)
    out[~bad] = values[~bad].astype(dtype)
    return out, bad


def _as_float(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of entries that are not numbers); bools and text are not."""
    kind = values.dtype.kind
    if kind in "iuf":
        return values.astype(np.float64), np.zeros(len(values), bool)
    if kind == "O":
        return _objects_as(values, np.float64, np.nan, _not_a_number)
    return np.full(len(values), np.nan), np.ones(len(values), bool)
