"""Joining TMDB-side metadata onto a MovieLens dataset, one source after another.

MovieLens has the ratings but only titles and genres; content-based models and charts need
overviews, cast, directors, keywords and vote counts, which TMDB-side datasets have. Movies
are matched through the ids MovieLens links give: the TMDB id first, the IMDb id when the TMDB
id is missing or unknown to the source (IMDB 5000 has no TMDB ids; a few links lack one); what
no id matches (ml-100k has no links at all) is matched by title and year
(:mod:`movierec.data.title_match`).

Sources are layered: each fills only the cells the earlier ones left empty, so keywords can
come from one source and overviews from another, and nothing the base already has is replaced.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import pandas as pd

from movierec.data.dataset import LIST_COLUMNS, Dataset, present_mask
from movierec.data.title_match import match_by_title
from movierec.errors import DataFormatError

KEYS = ("tmdb_id", "imdb_id")
# Filled cell by cell, in this order. title, year and genres are MovieLens's own and only
# filled where a movie lacks them; the two ids are filled so a later source can match on them.
COLUMNS = (
    "title",
    "year",
    "genres",
    "overview",
    "cast",
    "director",
    "keywords",
    "language",
    "vote_count",
    "vote_average",
    "tmdb_id",
    "imdb_id",
)
# Filled together from one source: a count from IMDb with an average from TMDB means nothing.
VOTES = ("vote_count", "vote_average")
_EMPTY = {
    "year": "Int16",
    "vote_count": "Int64",
    "vote_average": "float64",
    "tmdb_id": "Int64",
    "imdb_id": "Int64",
}
_UNMATCHED, _BY_TMDB, _BY_IMDB, _BY_TITLE = 0, 1, 2, 3
TITLE_KEYS = ("title", "year")


class _SourceFigures(TypedDict):
    """What one source gave: the ``sources`` entries of :func:`enrich`'s coverage."""

    name: str
    format: str
    movies: int
    matched: int
    by_tmdb: int
    by_imdb: int
    by_title: int
    filled: dict[str, int]


def enrich(dataset: Dataset, sources: list[Dataset]) -> tuple[Dataset, dict[str, Any]]:
    """Fill the catalog's empty metadata cells from ``sources``, earlier sources first.

    Args:
        dataset: the base (a MovieLens dataset, with ``tmdb_id`` and ``imdb_id`` when loaded
            with its links, and titles and years); its ratings and users are kept as they are.
        sources: TMDB-side datasets (The Movies Dataset, TMDB 5000, TMDb 10k, IMDB 5000),
            each with a ``tmdb_id`` and/or ``imdb_id`` column, or titles and years.

    Returns:
        The enriched dataset, with a report note per source, and the coverage: ``movies``;
        ``matched`` (movies by what first matched them: ``tmdb``, ``imdb``, ``title`` (and
        year), or ``unmatched``: in no source at all);
        ``sources`` (per source: movies matched by each id and cells filled per column);
        ``columns`` (per column: ``gained``, movies that had it empty and got it, and
        ``coverage``, the fraction of movies that have it now).

    Raises:
        DataFormatError: the base or a source has no id column and no titles with years to
            match on.
        ValueError: no sources were given.
    """
    if not sources:
        raise ValueError("enrich needs at least one source dataset")
    catalog = dataset.catalog.copy()
    if not _matchable(catalog):
        raise DataFormatError(
            f"dataset {dataset.name!r} has no tmdb_id or imdb_id column and no titles with "
            "years to match on; load it with its links.csv"
        )
    for source in sources:
        if not _matchable(source.catalog):
            raise DataFormatError(
                f"source {source.name!r} has no tmdb_id or imdb_id column and no titles with "
                "years to match on"
            )
    added = [column for column in COLUMNS if column not in catalog]
    for column in added:
        catalog[column] = _empty_column(column, len(catalog))
    before = {column: present_mask(catalog[column]) for column in COLUMNS}

    matched_by = np.full(len(catalog), _UNMATCHED, dtype=np.int8)
    per_source: list[_SourceFigures] = []
    for source in sources:
        rows, how = _match(catalog, source.catalog)
        filled = _fill(catalog, source.catalog, rows)
        first = matched_by == _UNMATCHED
        matched_by[first] = how[first]
        per_source.append(
            {
                "name": source.name,
                "format": source.source_format,
                "movies": len(source.catalog),
                "matched": int((how != _UNMATCHED).sum()),
                "by_tmdb": int((how == _BY_TMDB).sum()),
                "by_imdb": int((how == _BY_IMDB).sum()),
                "by_title": int((how == _BY_TITLE).sum()),
                "filled": filled,
            }
        )

    unused = [c for c in added if not present_mask(catalog[c]).any()]
    catalog = catalog.drop(columns=unused)
    columns = {}
    for column in COLUMNS:
        if column in catalog:
            now = present_mask(catalog[column])
            columns[column] = {
                "gained": int((now & ~before[column]).sum()),
                "coverage": round(float(now.mean()), 4) if len(now) else 0.0,
            }
    coverage = {
        "movies": len(catalog),
        "matched": {
            "tmdb": int((matched_by == _BY_TMDB).sum()),
            "imdb": int((matched_by == _BY_IMDB).sum()),
            "title": int((matched_by == _BY_TITLE).sum()),
            "unmatched": int((matched_by == _UNMATCHED).sum()),
        },
        "sources": per_source,
        "columns": columns,
    }
    enriched = dataset.with_catalog(catalog)
    for figures in per_source:
        gains = ", ".join(f"{c} {n}" for c, n in figures["filled"].items() if n) or "nothing new"
        enriched.report.add(
            f"enriched from {figures['name']} ({figures['format'] or 'unknown format'}): matched "
            f"{figures['matched']} of {len(catalog)} movies ({figures['by_tmdb']} by TMDB id, "
            f"{figures['by_imdb']} by IMDb id, {figures['by_title']} by title and year); "
            f"filled {gains}",
            count=figures["matched"],
        )
    return enriched, coverage


def _matchable(catalog: pd.DataFrame) -> bool:
    """Has an id column, or titles with years."""
    if any(key in catalog for key in KEYS):
        return True
    return all(key in catalog for key in TITLE_KEYS) and bool(catalog["year"].notna().any())


def _match(catalog: pd.DataFrame, source: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each base movie's row in ``source`` (-1 when none) and what matched it: an id, else
    the title and year."""
    rows = np.full(len(catalog), -1, dtype=np.int64)
    how = np.full(len(catalog), _UNMATCHED, dtype=np.int8)
    for key, label in zip(KEYS, (_BY_TMDB, _BY_IMDB), strict=True):
        if key not in catalog or key not in source:
            continue
        ids = pd.to_numeric(source[key], errors="coerce").astype("Int64")
        lookup = pd.Series(np.arange(len(ids)), index=ids).loc[lambda s: s.index.notna()]
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        found = catalog[key].astype("Int64").map(lookup)
        hit = found.notna().to_numpy(bool) & (rows < 0)
        rows[hit] = found.to_numpy(np.float64, na_value=np.nan)[hit].astype(np.int64)
        how[hit] = label
    # By title only where no id could decide: a film whose id the source does not know is
    # not in it, whatever shares its title ("Stargate: Continuum", "Puss in Boots" 2011)
    unchecked = rows < 0
    for key in KEYS:
        if key in catalog and key in source and source[key].notna().any():
            unchecked &= catalog[key].isna().to_numpy()
    if all(key in catalog and key in source for key in TITLE_KEYS) and unchecked.any():
        rows, by_title = match_by_title(catalog, source, matched=rows, only=unchecked)
        how[by_title != 0] = _BY_TITLE
    return rows, how


def _fill(catalog: pd.DataFrame, source: pd.DataFrame, rows: np.ndarray) -> dict[str, int]:
    """Copy the source's cells into the matched movies' empty cells; the count per column."""
    matched = rows >= 0
    filled: dict[str, int] = {}
    votes_done = False
    for column in COLUMNS:
        if column not in source:
            continue
        group: tuple[str, ...] = VOTES if column in VOTES else (column,)
        if column in VOTES:
            if votes_done:
                continue
            votes_done = True
            group = tuple(c for c in VOTES if c in source)
        empty = matched.copy()
        for name in group:
            empty &= ~present_mask(catalog[name])
        offered = present_mask(source[group[0]])
        take = np.flatnonzero(empty)
        take = take[offered[rows[take]]]
        for name in group:
            filled[name] = len(take)
            if len(take):
                catalog[name] = _with_cells(catalog[name], take, source[name], rows[take])
    return filled


def _with_cells(
    column: pd.Series, at: np.ndarray, source: pd.Series, source_rows: np.ndarray
) -> pd.Series:
    """``column`` with the cells at ``at`` replaced by ``source``'s cells at ``source_rows``."""
    if column.dtype == object:
        values = column.to_numpy(dtype=object, copy=True)
        incoming = source.to_numpy(dtype=object)[source_rows]
        for position, value in zip(at, incoming, strict=True):  # lists stay whole cells
            values[position] = value
        return pd.Series(values, index=column.index, name=column.name, dtype=object)
    result = column.copy()
    result.iloc[at] = source.iloc[source_rows].to_numpy()
    return result


def _empty_column(column: str, length: int) -> pd.Series | list[Any]:
    if column in LIST_COLUMNS:
        return [[] for _ in range(length)]
    if column in _EMPTY:
        return pd.Series([None] * length, dtype=_EMPTY[column])
    return [""] * length
