"""The in-memory dataset every source produces and every model reads.

Three tables, one shape whatever the source:

* ``catalog``: one row per movie: ``movie_id``, ``title``, ``year``, ``genres`` and whatever
  metadata the source has (see :data:`METADATA_COLUMNS`);
* ``ratings``: ``user_id``, ``movie_id``, ``rating``, ``timestamp`` (seconds; 0 when unknown);
* ``users`` (optional): ``user_id`` and demographics (``age``, ``gender``, ``occupation``, ``zip``).

Ids are the source's own integers (MovieLens ``movieId``, TMDB ``id``, the number of an IMDb
``tt`` id), stored as int32 so a 33.8M-rating table stays near 540 MB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.data.idmap import IdMap
from movierec.errors import DataFormatError

RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
CATALOG_COLUMNS = ("movie_id", "title", "year", "genres")
LIST_COLUMNS = ("genres", "cast", "director", "keywords", "kg_tokens")
TEXT_COLUMNS = ("overview", "tags", "language")
METADATA_COLUMNS = (
    "overview",
    "tags",
    "cast",
    "director",
    "keywords",
    "kg_tokens",
    "language",
    "tmdb_id",
    "imdb_id",
    "vote_count",
    "vote_average",
)
_BLOCK = 1 << 20
_NULLABLE_INT = {"year": "Int16", "tmdb_id": "Int64", "imdb_id": "Int64", "vote_count": "Int64"}


@dataclass(frozen=True)
class RatingScale:
    """The ratings a source allows: ``low..high`` in steps of ``step``."""

    low: float
    high: float
    step: float

    def __post_init__(self) -> None:
        if not (self.low < self.high and self.step > 0):
            raise ValueError(f"invalid rating scale {self.low}..{self.high} step {self.step}")

    def valid(self, values: np.ndarray) -> np.ndarray:
        """Mask of values inside the scale and on its step (NaN is invalid).

        Works in blocks so that checking 33.8M ratings needs a few MB, not several copies.
        """
        values = np.asarray(values)
        mask = np.empty(values.shape, dtype=bool)
        for start in range(0, len(values), _BLOCK):
            block = values[start : start + _BLOCK].astype(np.float64)
            steps = (block - self.low) / self.step
            with np.errstate(invalid="ignore"):
                mask[start : start + _BLOCK] = (
                    (block >= self.low - 1e-6)
                    & (block <= self.high + 1e-6)
                    & (np.abs(steps - np.round(steps)) < 1e-4)
                )
        return mask

    def describe(self) -> str:
        return f"{self.low:g}–{self.high:g} in steps of {self.step:g}"

    def to_json(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high, "step": self.step}


FIVE_STARS = RatingScale(1.0, 5.0, 1.0)
HALF_STARS = RatingScale(0.5, 5.0, 0.5)


@dataclass(frozen=True)
class Note:
    """One thing a loader noticed: rows skipped, cells emptied, files missing."""

    message: str
    file: str | None = None
    count: int = 0
    lines: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        at = ""
        if self.lines:
            shown = ", ".join(str(n) for n in self.lines[:5])
            more = "…" if self.count > len(self.lines[:5]) else ""
            at = f" (line{'s' if len(self.lines) > 1 else ''} {shown}{more})"
        return f"{where}{self.message}{at}"

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "file": self.file,
            "count": self.count,
            "lines": list(self.lines),
        }


@dataclass
class LoadReport:
    """What a load skipped or could not find; shown to the user, never silently dropped."""

    notes: list[Note] = field(default_factory=list)

    def add(
        self,
        message: str,
        *,
        file: str | None = None,
        count: int = 0,
        lines: tuple[int, ...] | list[int] = (),
    ) -> None:
        self.notes.append(Note(message, file, int(count), tuple(int(n) for n in lines)))

    def extend(self, other: LoadReport) -> None:
        self.notes.extend(other.notes)

    def __iter__(self) -> Iterator[Note]:
        return iter(self.notes)

    def __len__(self) -> int:
        return len(self.notes)


@dataclass
class Dataset:
    """Catalog + ratings (+ users) of one source, normalised to the shared schema."""

    name: str
    catalog: pd.DataFrame
    ratings: pd.DataFrame
    users: pd.DataFrame | None = None
    scale: RatingScale | None = None
    source_format: str = ""
    report: LoadReport = field(default_factory=LoadReport)

    def __post_init__(self) -> None:
        self.catalog = normalise_catalog(self.catalog)
        self.ratings = normalise_ratings(self.ratings)
        if self.users is not None:
            self.users = self.users.reset_index(drop=True)
            self.users["user_id"] = self.users["user_id"].astype(np.int32)

    @property
    def metadata_columns(self) -> list[str]:
        return [c for c in METADATA_COLUMNS if c in self.catalog.columns]

    def with_catalog(self, catalog: pd.DataFrame) -> Dataset:
        """A copy with another catalog (enrichment adds columns this way)."""
        return replace(self, catalog=catalog, report=LoadReport(list(self.report.notes)))

    def rating_matrix(self) -> tuple[sp.csr_matrix, IdMap, IdMap]:
        """Users × movies CSR (float32) with the id maps that index it."""
        users = IdMap(np.unique(self.ratings["user_id"].to_numpy()))
        movies = IdMap(self.catalog["movie_id"].to_numpy())
        rows = users.indices(self.ratings["user_id"].to_numpy())
        try:
            cols = movies.indices(self.ratings["movie_id"].to_numpy())
        except KeyError as exc:
            raise DataFormatError(f"movie {exc.args[0]} is rated but not in the catalog") from exc
        matrix = sp.csr_matrix(
            (self.ratings["rating"].to_numpy(np.float32), (rows, cols)),
            shape=(len(users), len(movies)),
        )
        return matrix, users, movies

    def fingerprint(self) -> str:
        """A short content hash, so a model can tell which data it was trained on."""
        digest = hashlib.sha256()
        for column in RATING_COLUMNS:
            digest.update(np.ascontiguousarray(self.ratings[column].to_numpy()).tobytes())
        for column in self.catalog.columns:  # metadata too: content models depend on it
            digest.update(column.encode())
            text = self.catalog[column].astype(str).to_numpy(dtype=object)
            digest.update(pd.util.hash_array(text).tobytes())
        return digest.hexdigest()[:16]

    def info(self) -> dict[str, Any]:
        """Size, scale, dates and metadata coverage: what `movierec data info` prints."""
        ratings = self.ratings
        n_users = int(ratings["user_id"].nunique()) if len(ratings) else 0
        n_rated = int(ratings["movie_id"].nunique()) if len(ratings) else 0
        stamps = ratings["timestamp"].to_numpy()
        stamps = stamps[stamps > 0]
        dates = None
        if len(stamps):
            first, last = pd.to_datetime([stamps.min(), stamps.max()], unit="s")
            dates = [first.date().isoformat(), last.date().isoformat()]
        coverage = {}
        for column in ("title", "year", "genres", *self.metadata_columns):
            coverage[column] = (
                round(float(present_mask(self.catalog[column]).mean()), 4)
                if len(self.catalog)
                else 0.0
            )
        return {
            "name": self.name,
            "format": self.source_format,
            "users": n_users,
            "movies": len(self.catalog),
            "movies_rated": n_rated,
            "ratings": len(ratings),
            "density": round(len(ratings) / (n_users * n_rated), 6) if n_users and n_rated else 0.0,
            "rating_scale": self.scale.to_json() if self.scale else None,
            "rating_range": [float(ratings["rating"].min()), float(ratings["rating"].max())]
            if len(ratings)
            else None,
            "date_range": dates,
            "demographics": [c for c in self.users.columns if c != "user_id"]
            if self.users is not None
            else [],
            "coverage": coverage,
        }


def present_mask(column: pd.Series) -> np.ndarray:
    """True where a catalog cell holds something: a non-empty list or string, a number."""
    if column.name in LIST_COLUMNS:
        return column.map(lambda v: v is not None and len(v) > 0).to_numpy(bool)
    if column.dtype == object or pd.api.types.is_string_dtype(column):
        return column.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy(bool)
    return column.notna().to_numpy(bool)


def empty_ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": np.empty(0, np.int32),
            "movie_id": np.empty(0, np.int32),
            "rating": np.empty(0, np.float32),
            "timestamp": np.empty(0, np.int64),
        }
    )


def normalise_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise DataFormatError(f"ratings table lacks column(s) {', '.join(missing)}")
    return pd.DataFrame(
        {
            "user_id": _as_int32(ratings["user_id"], "user_id"),
            "movie_id": _as_int32(ratings["movie_id"], "movie_id"),
            "rating": ratings["rating"].to_numpy(np.float32, copy=False),
            "timestamp": ratings["timestamp"].to_numpy(np.int64, copy=False),
        },
        copy=False,
    )  # 33.8M ratings: no second copy of 540 MB


def normalise_catalog(catalog: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes, lists as Python lists, missing required columns added empty."""
    catalog = catalog.reset_index(drop=True).copy()
    if "movie_id" not in catalog.columns:
        raise DataFormatError("catalog lacks column movie_id")
    catalog["movie_id"] = _as_int32(catalog["movie_id"], "movie_id")
    if "title" not in catalog.columns:
        catalog["title"] = ""
    catalog["title"] = catalog["title"].fillna("").astype(str)
    if "year" not in catalog.columns:
        catalog["year"] = pd.NA
    if "genres" not in catalog.columns:
        catalog["genres"] = [[] for _ in range(len(catalog))]
    for column, dtype in _NULLABLE_INT.items():
        if column in catalog.columns:
            catalog[column] = pd.to_numeric(catalog[column], errors="coerce").round().astype(dtype)
    if "vote_average" in catalog.columns:
        catalog["vote_average"] = pd.to_numeric(catalog["vote_average"], errors="coerce")
    for column in LIST_COLUMNS:
        if column in catalog.columns:
            catalog[column] = catalog[column].map(_as_list).astype(object)
    for column in TEXT_COLUMNS:
        if column in catalog.columns:
            catalog[column] = catalog[column].map(lambda v: v if isinstance(v, str) else "")
    ordered = [*CATALOG_COLUMNS, *[c for c in METADATA_COLUMNS if c in catalog.columns]]
    return catalog[ordered + [c for c in catalog.columns if c not in ordered]]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _as_int32(column: pd.Series, name: str) -> np.ndarray:
    values = column.to_numpy()
    if values.dtype == np.int32:
        return values
    if not np.issubdtype(values.dtype, np.integer):
        raise DataFormatError(f"column {name} must hold integers, got {values.dtype}")
    bounds = np.iinfo(np.int32)
    if len(values) and (values.min() < bounds.min or values.max() > bounds.max):
        raise DataFormatError(f"column {name} holds ids beyond the 32-bit range")
    return values.astype(np.int32)
