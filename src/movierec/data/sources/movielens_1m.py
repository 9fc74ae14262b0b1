"""MovieLens 1M (also 10M's `.dat` files): `ratings.dat`, `movies.dat`, `users.dat`, `::`-separated.

pyarrow reads one-character separators only, so the bytes are read once with ``::`` rewritten
to a tab (no field of these files holds a tab) and parsed from memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import FIVE_STARS, Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import Table, note_skipped, read_table
from movierec.data.sources.common import add_unlisted_movies, split_list, titled_catalog

FORMAT = "ml-1m"
DESCRIPTION = "ratings.dat, movies.dat, users.dat with '::' separators (MovieLens 1M)"
AGE_BANDS = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)


def matches(files: FileSet) -> bool:
    return files.first("movies.dat", "ratings*.dat", "users.dat") is not None


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    movies = files.get("movies.dat")
    catalog = pd.DataFrame({"movie_id": np.empty(0, np.int64)})
    if movies is None:
        report.add("movies.dat is missing: movies have no titles or genres", file=str(files.root))
    else:
        catalog = read_movies(movies, report)
    ratings = empty_ratings()
    rating_file = files.first("ratings.dat", "ratings*.dat")
    if rating_file is None:
        report.add("ratings.dat is missing: no ratings", file=str(files.root))
    else:
        table = _read_dat(
            rating_file,
            ["user_id", "movie_id", "rating", "timestamp"],
            {
                "user_id": pa.int32(),
                "movie_id": pa.int32(),
                "rating": pa.float32(),
                "timestamp": pa.int64(),
            },
        )
        ratings = clean_ratings(table, FIVE_STARS, report)
        catalog = add_unlisted_movies(catalog, ratings, report, file=table.file)
    users = None
    user_file = files.get("users.dat")
    if user_file is not None:
        table = _read_dat(
            user_file,
            ["user_id", "gender", "age", "occupation", "zip"],
            {
                "user_id": pa.int32(),
                "gender": pa.string(),
                "age": pa.int16(),
                "occupation": pa.int16(),
                "zip": pa.string(),
            },
        )
        note_skipped(table, report)
        users = table.data.to_pandas()
        codes = users["occupation"].to_numpy()
        names = np.array(OCCUPATIONS, dtype=object)
        users["occupation"] = np.where(
            (codes >= 0) & (codes < len(names)), names[np.clip(codes, 0, len(names) - 1)], "other"
        )
        users = users[["user_id", "age", "gender", "occupation", "zip"]]
        report.add(
            "users.dat ages are band starts (1 = under 18, 18 = 18-24, 25 = 25-34, …)",
            file=user_file.display,
        )
    return Dataset(name, catalog, ratings, users, FIVE_STARS, FORMAT, report)


def read_movies(ref: FileRef, report: LoadReport) -> pd.DataFrame:
    """`movies.dat` as a catalog: "Toy Story (1995)" split into title and year, genres."""
    table = _read_dat(
        ref,
        ["movie_id", "raw_title", "genres"],
        {"movie_id": pa.int32(), "raw_title": pa.string(), "genres": pa.string()},
        encoding="latin-1",
    )
    note_skipped(table, report)
    frame = table.data.to_pandas()
    return titled_catalog(frame["movie_id"], frame["raw_title"], frame["genres"].map(split_list))


def _read_dat(
    ref: FileRef, names: list[str], types: dict[str, pa.DataType], encoding: str = "utf8"
) -> Table:
    data = ref.read_bytes().replace(b"::", b"\t")
    return read_table(
        ref,
        header=False,
        delimiter="\t",
        quoting=False,
        names=names,
        types=types,
        encoding=encoding,
        data=data,
    )
