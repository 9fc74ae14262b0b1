"""Small pieces the source loaders share: lists in cells, ids, years, IMDb numbers.

The TMDB-side files (TMDB 5000, TMDb 10k, IMDB 5000, The Movies Dataset) hold the same kinds of
cells — JSON or Python-literal lists, ids that are sometimes dates, ``tt`` numbers — so they
are parsed one way, here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import LoadReport
from movierec.data.files import FileRef
from movierec.data.readers import Table, read_table
from movierec.data.titles import split_title

TOP_CAST = 3
_INT32_MAX = np.iinfo(np.int32).max
_PARSE_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


def split_list(cell: object, sep: str = "|") -> list[str]:
    """ "Action|Comedy" → ["Action", "Comedy"]; empty or missing → []."""
    if not isinstance(cell, str):
        return []
    return [part.strip() for part in cell.split(sep) if part.strip()]


def titled_catalog(
    movie_ids: pd.Series, raw_titles: pd.Series, genres: list[list[str]] | pd.Series
) -> pd.DataFrame:
    """A MovieLens catalog: "Godfather, The (1972)" becomes title "The Godfather", year 1972."""
    split = raw_titles.map(split_title)
    return pd.DataFrame(
        {
            "movie_id": movie_ids,
            "title": [title for title, _ in split],
            "year": [year for _, year in split],
            "genres": list(genres),
        }
    )


def add_unlisted_movies(
    catalog: pd.DataFrame, ratings: pd.DataFrame, report: LoadReport, file: str | None = None
) -> pd.DataFrame:
    """Give rated movies missing from the catalog a row (no title), so every rating has a movie."""
    if not len(ratings):
        return catalog
    rated = np.unique(ratings["movie_id"].to_numpy())
    known = catalog["movie_id"].to_numpy()
    unlisted = rated[~np.isin(rated, known)]
    if not len(unlisted):
        return catalog
    report.add(
        f"{len(unlisted)} rated movie(s) are not in the catalog; added without a title",
        file=file,
        count=len(unlisted),
    )
    extra = pd.DataFrame({"movie_id": unlisted.astype(np.int64)})
    return pd.concat([catalog, extra], ignore_index=True)


def drop_duplicate_ids(
    frame: pd.DataFrame, column: str, report: LoadReport, what: str, file: str | None = None
) -> pd.DataFrame:
    """Keep the first row of each id, saying how many repeats there were."""
    dup = frame[column].duplicated(keep="first")
    count = int(dup.sum())
    if count:
        report.add(
            f"dropped {count} duplicate {what} row(s) (same {column}, kept the first)",
            file=file,
            count=count,
        )
        frame = frame[~dup.to_numpy()].reset_index(drop=True)
    return frame


def read_text(ref: FileRef) -> Table:
    """Read every column as text, so no stray value in a column we ignore can stop the load.

    pyarrow infers a column's type from the first block and fails on a later row that does not
    fit; Kaggle files have such rows (dates in numeric columns), so nothing is left to inference.
    """
    with ref.open() as handle:
        first = handle.readline()
    header = next(csv.reader([first.decode("utf-8-sig", errors="replace")]), [])
    return read_table(ref, types={column: pa.string() for column in header}, multiline=True)


def integer_ids(
    values: pd.Series, table: Table, report: LoadReport, column: str
) -> tuple[np.ndarray, np.ndarray]:
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
        report.add(
            f"skipped {len(bad)} row(s) whose {column} is not an integer id (e.g. {example!r})",
            file=table.file,
            count=len(bad),
            lines=table.line_numbers(bad[:5]).tolist(),
        )
    return numbers[keep], keep


def parse_cells(
    values: pd.Series,
    parse: Callable[[str], Any],
    table: Table,
    report: LoadReport,
    column: str,
    rows: np.ndarray | None = None,
) -> list[list[Any]]:
    """Each cell parsed into a list; a cell that does not parse becomes ``[]`` and is counted.

    Args:
        values: the cells, as text.
        parse: ``json.loads`` or ``ast.literal_eval`` (never ``eval``: files are untrusted).
        table: the table read, to name lines in the report.
        report: where emptied cells are counted.
        column: the column's name, for the report.
        rows: each value's row in ``table`` when some rows were already dropped.
    """
    parsed: list[list[Any]] = []
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


def note_bad_cells(
    bad: list[int], table: Table, report: LoadReport, column: str, rows: np.ndarray | None = None
) -> None:
    """Report cells that were emptied because they did not parse."""
    if not bad:
        return
    positions = np.asarray(bad[:5], dtype=np.int64)
    if rows is not None:
        positions = rows[positions]
    report.add(
        f"emptied {len(bad)} {column} cell(s) that are not a readable list",
        file=table.file,
        count=len(bad),
        lines=table.line_numbers(positions).tolist(),
    )


def names_of(records: list[Any], limit: int | None = None) -> list[str]:
    """The ``name`` of each record (a genre, keyword or cast member), in file order."""
    names = [
        r["name"].strip()
        for r in records
        if isinstance(r, dict) and isinstance(r.get("name"), str) and r["name"].strip()
    ]
    return names if limit is None else names[:limit]


def directors_of(crew: list[Any]) -> list[str]:
    """Names of the crew members whose job is Director (a film may have several)."""
    return [
        r["name"].strip()
        for r in crew
        if isinstance(r, dict)
        and r.get("job") == "Director"
        and isinstance(r.get("name"), str)
        and r["name"].strip()
    ]


def year_of(dates: pd.Series) -> pd.Series:
    """The year of ``YYYY-MM-DD`` dates; anything else becomes missing."""
    return pd.to_numeric(
        dates.astype(str).str.extract(r"^\s*(\d{4})", expand=False), errors="coerce"
    ).astype("Int16")


def imdb_numbers(values: pd.Series) -> pd.Series:
    """IMDb ids as integers: ``tt0114709``, ``0114709`` or a title URL all give 114709.

    Every source stores ``imdb_id`` this way, so enrichment can join MovieLens links (which
    drop the ``tt``) to TMDB and IMDb files (which keep it).
    """
    text = values.fillna("").astype(str)
    digits = text.str.extract(r"(?:^\s*|tt)(\d{1,9})(?!\d)", expand=False)
    return pd.to_numeric(digits, errors="coerce").astype("Int64")


def tmdb_movie_fields(
    frame: pd.DataFrame,
    table: Table,
    report: LoadReport,
    rows: np.ndarray,
    parse: Callable[[str], Any],
    lists: tuple[str, ...] = ("genres",),
) -> dict[str, Any]:
    """The movie columns both Kaggle TMDB dumps share: title, year, name lists, overview,
    language and votes (``parse`` reads a list cell: ``json.loads`` or ``ast.literal_eval``)."""
    fields: dict[str, Any] = {"title": frame["title"].str.strip()}
    if "release_date" in frame:
        fields["year"] = year_of(frame["release_date"])
    for column in lists:
        if column in frame:
            records = parse_cells(frame[column], parse, table, report, column, rows)
            fields[column] = [names_of(r) for r in records]
    if "overview" in frame:
        fields["overview"] = frame["overview"].str.strip()
    if "original_language" in frame:
        fields["language"] = frame["original_language"].str.strip()
    for column in ("vote_count", "vote_average"):
        if column in frame:
            fields[column] = pd.to_numeric(frame[column], errors="coerce")
    return fields
