"""Catalog filters: genres (as bit-sets), year ranges, vote counts, language.

Every model takes ``candidates`` (movie ids) to restrict its answer; these filters produce them.
Genres are one bit each in an int64 per movie, so "shares a genre with X" or "is a comedy" is a
vectorised AND over the catalog instead of a scan of lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.data.title_text import loose_key
from movierec.errors import InvalidValueError, NoMatchError

_DECADE = re.compile(r"^(\d{3})0s$")
_RANGE = re.compile(r"^(\d{4})?\s*(?:-|–|\.\.)\s*(\d{4})?$")
_YEAR = re.compile(r"^\d{4}$")


class GenreIndex:
    """Genre names ↔ bits, and one int64 bit-set per catalog row."""

    def __init__(self, genres: pd.Series):
        names = sorted({g for row in genres for g in row})
        if len(names) > 63:
            raise ValueError(f"at most 63 distinct genres fit a bit-set, found {len(names)}")
        self.names = names
        exact = {name: 1 << i for i, name in enumerate(names)}  # the catalog's own spelling
        self._bit = {loose_key(name): bit for name, bit in exact.items()}
        self.masks = np.array([sum(exact[g] for g in set(row)) for row in genres], dtype=np.int64)

    def mask_of(self, genres: list[str]) -> int:
        """The bit-set of genre names, each checked (unknown → error listing the valid ones)."""
        mask = 0
        for genre in genres:
            bit = self._bit.get(loose_key(genre))  # "scifi" finds Sci-Fi
            if bit is None:
                raise NoMatchError(
                    f"unknown genre {genre!r}; this dataset has: "
                    f"{', '.join(self.names) or 'no genres'}"
                )
            mask |= bit
        return mask

    def having_any(self, genres: list[str]) -> np.ndarray:
        """Rows with at least one of the genres."""
        return (self.masks & self.mask_of(genres)) != 0

    def overlapping(self, row: int) -> np.ndarray:
        """Rows sharing at least one genre with ``row`` (the fast pre-filter for similar)."""
        return (self.masks & self.masks[row]) != 0


def parse_years(text: str) -> tuple[int | None, int | None]:
    """ "1950-1959", "1950s", "1995", "-1970", "2000-" → inclusive (first, last), None = open."""
    cleaned = text.strip().lower()
    if match := _DECADE.match(cleaned):
        start = int(match.group(1)) * 10
        return start, start + 9
    if _YEAR.match(cleaned):
        return int(cleaned), int(cleaned)
    match = _RANGE.match(cleaned)
    if not match or not (match.group(1) or match.group(2)):
        raise InvalidValueError(
            "years", text, "a range such as 1950-1959, a decade such as 1950s, or a year"
        )
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(2)) if match.group(2) else None
    if first is not None and last is not None and first > last:
        raise InvalidValueError(
            "years", text, f"a range in order; this one is reversed, did you mean {last}-{first}?"
        )
    return first, last


@dataclass(frozen=True)
class CatalogFilter:
    """What a movie must be to be shown; fields left empty do not filter."""

    genres: tuple[str, ...] = ()
    years: tuple[int | None, int | None] | None = None
    min_votes: int = 0
    language: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        genres: str | list[str] | None = None,
        years: str | None = None,
        min_votes: int = 0,
        language: str | None = None,
    ) -> CatalogFilter:
        """From command-line or query-string text (genres comma-separated)."""
        if isinstance(genres, str):
            genres = [g for g in genres.split(",") if g.strip()]
        if min_votes < 0:
            raise ValueError(f"min_votes must be 0 or more, got {min_votes}")
        return cls(
            tuple(genres or ()),
            parse_years(years) if years else None,
            min_votes,
            language.strip().lower() if language else None,
        )

    def mask(
        self, catalog: pd.DataFrame, genre_index: GenreIndex, votes: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean mask over catalog rows."""
        keep = np.ones(len(catalog), dtype=bool)
        if self.genres:
            keep &= genre_index.having_any(list(self.genres))
        if self.years is not None:
            year = catalog["year"].to_numpy(dtype=np.float64, na_value=np.nan)
            first, last = self.years
            known = ~np.isnan(year)
            if first is not None:
                keep &= known & (year >= first)
            if last is not None:
                keep &= known & (year <= last)
        if self.min_votes and votes is not None:
            keep &= votes >= self.min_votes
        if self.language:
            if "language" not in catalog.columns:
                raise NoMatchError("this dataset has no language data; drop the language filter")
            keep &= catalog["language"].str.lower().to_numpy() == self.language
        return keep

    @property
    def active(self) -> bool:
        return bool(self.genres or self.years or self.min_votes or self.language)
