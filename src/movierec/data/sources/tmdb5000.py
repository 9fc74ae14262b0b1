"""Kaggle's TMDB 5000: `tmdb_5000_movies.csv` and, when present, `tmdb_5000_credits.csv`.

Movies are keyed by their TMDB id. There are no user ratings, only TMDB's own vote count and
average, which is what the charts need. List columns hold JSON (``[{"id": 28, "name":
"Action"}, …]``); a cell that does not parse is emptied and counted rather than failing the load.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.readers import note_skipped, require_columns
from movierec.data.sources.common import (
    TOP_CAST,
    directors_of,
    drop_duplicate_ids,
    integer_ids,
    names_of,
    parse_cells,
    read_text,
    tmdb_movie_fields,
)

FORMAT = "tmdb-5000"
DESCRIPTION = "tmdb_5000_movies.csv, optional tmdb_5000_credits.csv (Kaggle TMDB 5000)"
MOVIES = "tmdb_5000_movies.csv"
CREDITS = "tmdb_5000_credits.csv"


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
    catalog = pd.DataFrame(
        {
            "movie_id": ids,
            "tmdb_id": ids,
            **tmdb_movie_fields(
                frame, table, report, rows, json.loads, lists=("genres", "keywords")
            ),
        }
    )
    catalog = drop_duplicate_ids(catalog, "movie_id", report, "movie", file=table.file)
    credits = files.get(CREDITS)
    if credits is None:
        report.add(f"{CREDITS} is missing: movies have no cast or director", file=str(files.root))
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
    people = pd.DataFrame(
        {
            "movie_id": ids,
            "cast": [names_of(c, limit=TOP_CAST) for c in cast],
            "director": [directors_of(c) for c in crew],
        }
    )
    people = drop_duplicate_ids(people, "movie_id", report, "credits", file=table.file)
    return people.set_index("movie_id")
