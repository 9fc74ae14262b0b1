"""Kaggle's "The Movies Dataset": MovieLens ratings and links plus TMDB metadata, credits, keywords.

The catalog is keyed by MovieLens ``movieId`` (the ids the ratings use), taken from `links.csv`
(all 45k movies) or else `links_small.csv`; TMDB-side metadata is joined through each movie's
TMDB id. List columns hold Python literals (``[{'id': 931, 'name': 'jealousy'}]``), parsed
with :func:`ast.literal_eval`, never ``eval``: a cell that does not parse is emptied and counted.

Copies of the dataset are often partial (`credits.csv` alone is 190 MB), so every file is
optional: what is present is loaded and the report says what is missing and what that costs.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np
import pandas as pd

from movierec.data.dataset import HALF_STARS, Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.readers import Table, note_skipped, require_columns
from movierec.data.sources.common import (
    TOP_CAST,
    add_unlisted_movies,
    drop_duplicate_ids,
    imdb_numbers,
    integer_ids,
    names_of,
    note_bad_cells,
    parse_cells,
    read_text,
    tmdb_movie_fields,
)
from movierec.data.sources.movielens_csv import read_movielens_ratings

FORMAT = "the-movies-dataset"
DESCRIPTION = (
    "movies_metadata.csv, credits.csv, keywords.csv, ratings_small.csv, links.csv "
    "(Kaggle The Movies Dataset; any subset)"
)
_SIGNATURE = (
    "movies_metadata.csv",
    "credits.csv",
    "keywords.csv",
    "ratings_small.csv",
    "links_small.csv",
)
_LOSSES = {
    "movies_metadata.csv": "titles, years, genres, overviews, languages, vote counts",
    "credits.csv": "cast, directors",
    "keywords.csv": "keywords",
}
# One record of a credits list (records never nest), and what marks a director's record.
_RECORD = re.compile(r"\{[^{}]*\}")
_DIRECTOR = "'job': 'Director'"


def matches(files: FileSet) -> bool:
    return any(name in files for name in _SIGNATURE)


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    parts = [
        part
        for part in (_metadata(files, report), _credits(files, report), _keywords(files, report))
        if part is not None
    ]
    missing = [f"{file} ({lost})" for file, lost in _LOSSES.items() if file not in files]
    if missing:
        report.add(
            f"not in this copy, so movies lack what they hold: {'; '.join(missing)}",
            file=str(files.root),
            count=len(missing),
        )

    ratings_ref = files.get("ratings.csv") or files.get("ratings_small.csv")
    catalog = _links(files, report)
    if catalog is None:
        if ratings_ref is not None or not parts:
            report.add(
                "links.csv and links_small.csv are missing: TMDB metadata cannot be "
                "joined to the MovieLens ids the ratings use",
                file=str(files.root),
            )
            catalog = pd.DataFrame({"movie_id": np.empty(0, np.int64)})
        else:
            report.add(
                "links.csv and links_small.csv are missing: movies are keyed by TMDB id",
                file=str(files.root),
            )
            ids = np.unique(np.concatenate([part.index.to_numpy(np.int64) for part in parts]))
            catalog = pd.DataFrame(
                {"movie_id": ids, "tmdb_id": ids, "imdb_id": pd.array([pd.NA] * len(ids), "Int64")}
            )
    if "tmdb_id" in catalog:
        for part in parts:
            catalog = catalog.merge(part, left_on="tmdb_id", right_index=True, how="left")
        if "meta_imdb_id" in catalog:
            catalog["imdb_id"] = catalog["imdb_id"].fillna(catalog.pop("meta_imdb_id"))

    ratings = empty_ratings()
    if ratings_ref is None:
        report.add(
            "ratings.csv and ratings_small.csv are missing: no ratings", file=str(files.root)
        )
    else:
        if ratings_ref.name == "ratings.csv" and "ratings_small.csv" in files:
            report.add(
                "read the full ratings.csv; ratings_small.csv was not used", file=str(files.root)
            )
        ratings = read_movielens_ratings(ratings_ref, report)
        catalog = add_unlisted_movies(catalog, ratings, report, file=ratings_ref.display)
    return Dataset(name, catalog, ratings, None, HALF_STARS, FORMAT, report)


def _links(files: FileSet, report: LoadReport) -> pd.DataFrame | None:
    """MovieLens id → TMDB and IMDb ids, from links.csv with links_small.csv filling its gaps.

    links.csv (2017) lacks a few older movies links_small.csv (2016) has, TV series mostly,
    which ratings_small.csv rates; taking them from links_small.csv keeps their TMDB ids.
    """
    full, small = files.get("links.csv"), files.get("links_small.csv")
    if full is None or small is None:
        ref = full or small
        return None if ref is None else _read_links(ref, report)
    links = _read_links(full, report)
    extra = _read_links(small, report)
    extra = extra[~extra["movie_id"].isin(links["movie_id"])]
    if len(extra):
        report.add(
            f"added {len(extra)} movie(s) found only in links_small.csv",
            file=small.display,
            count=len(extra),
        )
        links = pd.concat([links, extra], ignore_index=True)
    return links


def _read_links(ref: FileRef, report: LoadReport) -> pd.DataFrame:
    table = read_text(ref)
    require_columns(table, ["movieId", "imdbId", "tmdbId"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    ids, keep = integer_ids(frame["movieId"], table, report, "movieId")
    frame = frame[keep].reset_index(drop=True)
    links = pd.DataFrame(
        {
            "movie_id": ids,
            "tmdb_id": pd.to_numeric(frame["tmdbId"], errors="coerce").astype("Int64"),
            "imdb_id": imdb_numbers(frame["imdbId"]),
        }
    )
    return drop_duplicate_ids(links, "movie_id", report, "link", file=table.file)


def _metadata(files: FileSet, report: LoadReport) -> pd.DataFrame | None:
    """Title, year, genres, overview, language and votes by TMDB id, from movies_metadata.csv."""
    ref = files.get("movies_metadata.csv")
    if ref is None:
        return None
    table = read_text(ref)
    require_columns(table, ["id", "title"])
    note_skipped(table, report)
    frame, ids, rows = _rows_with_ids(table, "id", report)
    meta = pd.DataFrame(
        {"tmdb_id": ids, **tmdb_movie_fields(frame, table, report, rows, ast.literal_eval)}
    )
    if "imdb_id" in frame:
        meta["meta_imdb_id"] = imdb_numbers(frame["imdb_id"])
    return _by_tmdb_id(meta, report, "movie", table.file)


def _keywords(files: FileSet, report: LoadReport) -> pd.DataFrame | None:
    ref = files.get("keywords.csv")
    if ref is None:
        return None
    table = read_text(ref)
    require_columns(table, ["id", "keywords"])
    note_skipped(table, report)
    frame, ids, rows = _rows_with_ids(table, "id", report)
    keywords = parse_cells(frame["keywords"], ast.literal_eval, table, report, "keywords", rows)
    part = pd.DataFrame({"tmdb_id": ids, "keywords": [names_of(k) for k in keywords]})
    return _by_tmdb_id(part, report, "keywords", table.file)


def _credits(files: FileSet, report: LoadReport) -> pd.DataFrame | None:
    """Top-3 cast and the directors by TMDB id.

    credits.csv is 190 MB of literals, and parsing every cell whole is about five times slower
    (half a minute), so only the records needed are parsed (the first three cast members, the
    crew whose job is Director); a cell falls back to a whole parse when that shortcut does
    not apply.
    """
    ref = files.get("credits.csv")
    if ref is None:
        return None
    table = read_text(ref)
    require_columns(table, ["id", "cast", "crew"])
    note_skipped(table, report)
    frame, ids, rows = _rows_with_ids(table, "id", report)
    cast = _records(frame["cast"], None, TOP_CAST, table, report, "cast", rows)
    crew = _records(frame["crew"], _DIRECTOR, None, table, report, "crew", rows)
    part = pd.DataFrame(
        {
            "tmdb_id": ids,
            "cast": [names_of(c, limit=TOP_CAST) for c in cast],
            "director": [
                [
                    r["name"].strip()
                    for r in c
                    if isinstance(r, dict)
                    and r.get("job") == "Director"
                    and isinstance(r.get("name"), str)
                ]
                for c in crew
            ],
        }
    )
    return _by_tmdb_id(part, report, "credits", table.file)


def _records(
    values: pd.Series,
    marker: str | None,
    limit: int | None,
    table: Table,
    report: LoadReport,
    column: str,
    rows: np.ndarray,
) -> list[list[Any]]:
    """The records holding ``marker`` (all when None) in each list cell, at most ``limit``."""
    out: list[list[Any]] = []
    bad: list[int] = []
    for position, cell in enumerate(values.tolist()):
        text = cell.strip() if isinstance(cell, str) else ""
        if not text or text == "[]":
            out.append([])
            continue
        records = _some_records(text, marker, limit)
        if records is None:
            records = _whole(text)
        if records is None:
            bad.append(position)
            records = []
        out.append(records)
    note_bad_cells(bad, table, report, column, rows)
    return out


def _some_records(text: str, marker: str | None, limit: int | None) -> list[Any] | None:
    """Parse only the records holding ``marker``; None when the cell needs a whole parse.

    The shortcut holds when every brace in the cell delimits a record (``[{…}, {…}]``): a
    brace inside a string, or anything that is not a flat list of records, breaks the counts.
    """
    if not (text.startswith("[{") and text.endswith("}]")):
        return None
    count = text.count("}, {") + 1
    if text.count("{") != count or text.count("}") != count:
        return None
    found: list[Any] = []
    for match in _RECORD.finditer(text):
        piece = match.group()
        if marker is not None and marker not in piece:
            continue
        try:
            record = ast.literal_eval(piece)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        found.append(record)
        if limit is not None and len(found) >= limit:
            break
    return found


def _whole(text: str) -> list[Any] | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def _rows_with_ids(
    table: Table, column: str, report: LoadReport
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows whose id is an integer (shifted rows carry dates there), their ids and rows."""
    frame = table.data.to_pandas()
    ids, keep = integer_ids(frame[column], table, report, column)
    return frame[keep].reset_index(drop=True), ids, np.flatnonzero(keep)


def _by_tmdb_id(part: pd.DataFrame, report: LoadReport, what: str, file: str) -> pd.DataFrame:
    part = drop_duplicate_ids(part, "tmdb_id", report, what, file=file)
    return part.set_index("tmdb_id")
