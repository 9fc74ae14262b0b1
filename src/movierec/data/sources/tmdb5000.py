"""Kaggle's TMDB 5000: `tmdb_5000_movies.csv` and, when present, `tmdb_5000_credits.csv`.

Movies are keyed by their TMDB id. There are no user ratings, only TMDB's own vote count and
average, which is what the charts need. List columns hold JSON (``[{"id": 28, "name":
"Action"}, …]``); a cell that does not parse is emptied and counted rather than failing the load.

This module also holds the helpers the other TMDB-side loaders share (reading every column as
text, integer ids, list cells, IMDb ``tt`` numbers), since they read the same kind of cells.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.readers import Table, note_skipped, read_table, require_columns
from movierec.data.sources.common import drop_duplicate_ids

FORMAT = "tmdb-5000"
DESCRIPTION = "tmdb_5000_movies.csv, optional tmdb_5000_credits.csv (Kaggle TMDB 5000)"
MOVIES = "tmdb_5000_movies.csv"
CREDITS = "tmdb_5000_credits.csv"
TOP_CAST = 3
_INT32_MAX = np.iinfo(np.int32).max
_PARSE_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


def matches(files: FileSet) -> bool:
    return MOVIES in files


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    table = read_text(files.require(MOVIES))
    require_columns(table, ["id", "title"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    ids, keep = integer_ids(frame["id"], table, report, "id")
    frame = frame[keep].reset_index(drop=True)
    rows = np.flatnonzero(keep)
    catalog = pd.DataFrame({"movie_id": ids, "tmdb_id": ids,
                            "title": frame["title"].str.strip()})
    if "release_date" in frame:
        catalog["year"] = year_of(frame["release_date"])
    for column in ("genres", "keywords"):
        if column in frame:
            records = parse_cells(frame[column], json.loads, table, report, column, rows)
            catalog[column] = [names_of(r) for r in records]
    if "overview" in frame:
        catalog["overview"] = frame["overview"].str.strip()
    if "original_language" in frame:
        catalog["language"] = frame["original_language"].str.strip()
    for column in ("vote_count", "vote_average"):
        if column in frame:
            catalog[column] = pd.to_numeric(frame[column], errors="coerce")
    catalog = drop_duplicate_ids(catalog, "movie_id", report, "movie", file=table.file)
    credits = files.get(CREDITS)
    if credits is None:
        report.add(f"{CREDITS} is missing: movies have no cast or director",
                   file=str(files.root))
    else:
        people = _credits(credits, report)
        catalog = catalog.merge(people, left_on="movie_id", right_index=True, how="left")
    return Dataset(name, catalog, empty_ratings(), None, None, FORMAT, report)


def _credits(ref: FileRef, report: LoadReport) -> pd.DataFrame:
    """Top-billed cast and directors by TMDB id (json.loads is fast enough for all 40 MB)."""
    table = read_text(ref)
    require_columns(table, ["movie_id", "cast", "crew"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    ids, keep = integer_ids(frame["movie_id"], table, report, "movie_id")
    rows = np.flatnonzero(keep)
    frame = frame[keep].reset_index(drop=True)
    cast = parse_cells(frame["cast"], json.loads, table, report, "cast", rows)
    crew = parse_cells(frame["crew"], json.loads, table, report, "crew", rows)
    people = pd.DataFrame({"movie_id": ids, "cast": [names_of(c, limit=TOP_CAST) for c in cast],
                           "director": [directors_of(c) for c in crew]})
    people = drop_duplicate_ids(people, "movie_id", report, "credits", file=table.file)
    return people.set_index("movie_id")


def read_text(ref: FileRef) -> Table:
    """Read every column as text, so no stray value in a column we ignore can stop the load.

    pyarrow infers a column's type from the first block and fails on a later row that does not
    fit; Kaggle files have such rows (dates in numeric columns), so nothing is left to inference.
    """
    with ref.open() as handle:
        first = handle.readline()
    header = next(csv.reader([first.decode("utf-8-sig", errors="replace")]), [])
    return read_table(ref, types={column: pa.string() for column in header})


def integer_ids(values: pd.Series, table: Table, report: LoadReport,
                column: str) -> tuple[np.ndarray, np.ndarray]:
    """The ids that are whole numbers, and the mask of rows that have one.

    Rows without one (a shifted row with a date in the id column, an empty cell) are skipped
    and reported with their lines, since a movie without an id cannot be joined or rated.
    """
    text = values.fillna("").astype(str).str.strip()
    digits = text.str.fullmatch(r"\d{1,10}").to_numpy(bool)
    numbers = pd.to_numeric(text.where(digits, "0")).to_numpy(np.int64)
    keep = digits & (numbers <= _INT32_MAX)
    if not keep.all():
        bad = np.flatnonzero(~keep)
        example = text.iloc[bad[0]]
        report.add(f"skipped {len(bad)} row(s) whose {column} is not an integer id "
                   f"(e.g. {example!r})", file=table.file, count=len(bad),
                   lines=table.line_numbers(bad[:5]).tolist())
    return numbers[keep], keep


def parse_cells(values: pd.Series, parse: Callable[[str], Any], table: Table,
                report: LoadReport, column: str, rows: np.ndarray | None = None) -> list[list]:
    """Each cell parsed into a list; a cell that does not parse becomes ``[]`` and is counted.

    Args:
        values: the cells, as text.
        parse: ``json.loads`` or ``ast.literal_eval`` (never ``eval``: files are untrusted).
        table: the table read, to name lines in the report.
        report: where emptied cells are counted.
        column: the column's name, for the report.
        rows: each value's row in ``table`` when some rows were already dropped.
    """
    parsed: list[list] = []
    bad: list[int] = []
    for position, cell in enumerate(values.tolist()):
        text = cell.strip() if isinstance(cell, str) else ""
        if not text or text == "[]":
            parsed.append([])
            continue
        try:
            value = parse(text)
        except _PARSE_ERRORS:
            value = None
        if not isinstance(value, list):
            bad.append(position)
            value = []
        parsed.append(value)
    note_bad_cells(bad, table, report, column, rows)
    return parsed


def note_bad_cells(bad: list[int], table: Table, report: LoadReport, column: str,
                   rows: np.ndarray | None = None) -> None:
    """Report cells that were emptied because they did not parse."""
    if not bad:
        return
    positions = np.asarray(bad[:5], dtype=np.int64)
    if rows is not None:
        positions = rows[positions]
    report.add(f"emptied {len(bad)} {column} cell(s) that are not a readable list",
               file=table.file, count=len(bad), lines=table.line_numbers(positions).tolist())


def names_of(records: list, limit: int | None = None) -> list[str]:
    """The ``name`` of each record (a genre, keyword or cast member), in file order."""
    names = [r["name"].strip() for r in records
             if isinstance(r, dict) and isinstance(r.get("name"), str) and r["name"].strip()]
    return names if limit is None else names[:limit]


def directors_of(crew: list) -> list[str]:
    """Names of the crew members whose job is Director (a film may have several)."""
    return [r["name"].strip() for r in crew if isinstance(r, dict) and r.get("job") == "Director"
            and isinstance(r.get("name"), str) and r["name"].strip()]


def year_of(dates: pd.Series) -> pd.Series:
    """The year of ``YYYY-MM-DD`` dates; anything else becomes missing."""
    return pd.to_numeric(dates.astype(str).str.extract(r"^\s*(\d{4})", expand=False),
                         errors="coerce").astype("Int16")


def imdb_numbers(values: pd.Series) -> pd.Series:
    """IMDb ids as integers: ``tt0114709``, ``0114709`` or a title URL all give 114709.

    Every source stores ``imdb_id`` this way, so enrichment can join MovieLens links (which
    drop the ``tt``) to TMDB and IMDb files (which keep it).
    """
    text = values.fillna("").astype(str)
    digits = text.str.extract(r"(?:^\s*|tt)(\d{1,9})(?!\d)", expand=False)
    return pd.to_numeric(digits, errors="coerce").astype("Int64")
