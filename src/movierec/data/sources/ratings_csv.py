"""One CSV file of ratings, as a site exports them: ``movierec data import ratings.csv``.

The header names the columns, in whichever spelling the export used (case, ``_`` and spaces
aside): the user (``user_id``, ``userId``, ``user``), the movie (``movie_id``, ``movieId``,
``item_id``, ``item``, ``movie``), the rating (``rating``, ``score``, ``stars``) and, optionally,
when it was given (``timestamp``, ``time``, ``ts``: Unix seconds). Ids are integers. The file
says nothing about its scale, so it is read from the ratings: whole or half steps; from 1 (0.5
in half steps) unless a lower rating is used; up to 5, 10 or 100, the first the highest rating
fits under (1–5 and 0.5–5 for MovieLens's exports). The movies have no titles: they are shown
by id (a MovieLens-style folder brings titles and genres).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import Dataset, LoadReport, RatingScale
from movierec.data.files import FileRef, FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import Table, read_table
from movierec.data.title_text import loose_key
from movierec.errors import DataFormatError

FORMAT = "ratings-csv"
DESCRIPTION = "one .csv file of ratings: user, movie and rating columns, optionally a timestamp"
SPELLINGS = {  # a column's accepted names, as loose_key writes them
    "user_id": ("userid", "user"),
    "movie_id": ("movieid", "movie", "itemid", "item"),
    "rating": ("rating", "score", "stars"),
    "timestamp": ("timestamp", "time", "ts"),
}


def matches(files: FileSet) -> bool:
    """A lone ``.csv`` file given by itself (a folder goes to the MovieLens CSV format)."""
    names = list(files)
    return files.root.is_file() and len(names) == 1 and names[0].endswith(".csv")


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    ref = next(iter(files.files.values()))
    columns = _columns(ref)
    types = {columns["user_id"]: pa.int32(), columns["movie_id"]: pa.int32()}
    types[columns["rating"]] = pa.float64()
    if "timestamp" in columns:
        types[columns["timestamp"]] = pa.int64()
    table = read_table(ref, types=types)
    scale = infer_scale(table, columns["rating"])
    report.add(f"rating scale read from the ratings: {scale.describe()}", file=ref.display)
    ratings = clean_ratings(table, scale, report, columns=columns)
    catalog = pd.DataFrame({"movie_id": np.unique(ratings["movie_id"].to_numpy()).astype(np.int64)})
    report.add("a ratings file has no titles: movies are shown by id", file=ref.display)
    return Dataset(name, catalog, ratings, None, scale, FORMAT, report)


def _columns(ref: FileRef) -> dict[str, str]:
    """Each shared column's name in this file's header (the timestamp only when present)."""
    with ref.open() as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace")
    header = [cell.strip().strip('"') for cell in first.rstrip("\r\n").split(",")]
    by_key = {loose_key(cell): cell for cell in header if cell}
    found: dict[str, str] = {}
    for column, spellings in SPELLINGS.items():
        spelled = next((by_key[s] for s in spellings if s in by_key), None)
        if spelled is not None:
            found[column] = spelled
        elif column != "timestamp":
            raise DataFormatError(
                f"no {column.split('_')[0]} column: expected one named "
                f"{' or '.join(spellings)} (case and '_' aside); found {', '.join(header)}",
                file=ref.display,
                line=1,
            )
    return found


def infer_scale(table: Table, column: str) -> RatingScale:
    """The scale the ratings are on (module docstring); NaN and missing ones are left to the
    cleaning, which drops them with a note."""
    values = table.data.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    finite = np.isfinite(values)  # a missing rating reads as NaN
    ratings = values[finite]
    if not len(ratings):
        raise DataFormatError("no ratings in the file", file=table.file)
    halves = np.abs(values * 2 - np.round(values * 2)) < 1e-6
    if not halves[finite].all():
        odd = np.flatnonzero(finite & ~halves)[:1]
        raise DataFormatError(
            f"ratings must be whole or half numbers (a rating scale), found {values[odd[0]]:g}",
            file=table.file,
            line=int(table.line_numbers(odd)[0]),
        )
    step = 1.0 if np.all(ratings == np.round(ratings)) else 0.5
    lowest, highest = float(ratings.min()), float(ratings.max())
    low = step if lowest >= step else lowest  # 1 (0.5 in half stars) unless lower is used
    high = next((top for top in (5.0, 10.0, 100.0) if highest <= top), highest)
    return RatingScale(low, max(high, low + step), step)
