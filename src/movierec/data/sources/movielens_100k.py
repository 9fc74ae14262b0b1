"""MovieLens 100k in GroupLens's original layout: `u.data`, `u.item`, `u.user`, `u.genre`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import FIVE_STARS, Dataset, LoadReport, empty_ratings
from movierec.data.files import FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import note_skipped, read_table
from movierec.data.sources.common import add_unlisted_movies, titled_catalog

FORMAT = "ml-100k"
DESCRIPTION = "u.data, u.item, u.user, u.genre (GroupLens MovieLens 100k)"
GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_ITEM_FIELDS = ["movie_id", "raw_title", "release_date", "video_date", "imdb_url", *GENRES]


def matches(files: FileSet) -> bool:
    return "u.data" in files or "u.item" in files


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    genres = _genre_names(files)
    catalog = pd.DataFrame({"movie_id": np.empty(0, np.int64)})
    item = files.get("u.item")
    if item is None:
        report.add("u.item is missing: movies have no titles or genres", file=str(files.root))
    else:
        catalog = _catalog(files, genres, report)
    ratings = empty_ratings()
    data = files.get("u.data")
    if data is None:
        report.add("u.data is missing: no ratings", file=str(files.root))
    else:
        table = read_table(
            data,
            header=False,
            delimiter="\t",
            quoting=False,
            names=["user_id", "movie_id", "rating", "timestamp"],
            types={
                "user_id": pa.int32(),
                "movie_id": pa.int32(),
                "rating": pa.float32(),
                "timestamp": pa.int64(),
            },
        )
        ratings = clean_ratings(table, FIVE_STARS, report)
        catalog = add_unlisted_movies(catalog, ratings, report, file=table.file)
    users = None
    if "u.user" in files:
        table = read_table(
            files.require("u.user"),
            header=False,
            delimiter="|",
            quoting=False,
            names=["user_id", "age", "gender", "occupation", "zip"],
            types={
                "user_id": pa.int32(),
                "age": pa.int16(),
                "gender": pa.string(),
                "occupation": pa.string(),
                "zip": pa.string(),
            },
        )
        note_skipped(table, report)
        users = table.data.to_pandas()
    return Dataset(name, catalog, ratings, users, FIVE_STARS, FORMAT, report)


def _genre_names(files: FileSet) -> tuple[str, ...]:
    """Genre names by flag position, from `u.genre` when present."""
    ref = files.get("u.genre")
    if ref is None:
        return GENRES
    table = read_table(
        ref,
        header=False,
        delimiter="|",
        quoting=False,
        names=["genre", "index"],
        types={"genre": pa.string(), "index": pa.int32()},
    )
    pairs = sorted(
        zip(
            table.data.column("index").to_pylist(),
            table.data.column("genre").to_pylist(),
            strict=True,
        )
    )
    return tuple(genre for _, genre in pairs) or GENRES


def _catalog(files: FileSet, genres: tuple[str, ...], report: LoadReport) -> pd.DataFrame:
    fields = [*_ITEM_FIELDS[:5], *genres]
    table = read_table(
        files.require("u.item"),
        header=False,
        delimiter="|",
        quoting=False,
        encoding="latin-1",
        names=fields,
        types={
            "movie_id": pa.int32(),
            "raw_title": pa.string(),
            "release_date": pa.string(),
            **{g: pa.int8() for g in genres},
        },
    )
    note_skipped(table, report)
    frame = table.data.to_pandas()
    flags = frame[list(genres)].to_numpy(dtype=bool)
    names = np.array(genres, dtype=object)
    catalog = titled_catalog(
        frame["movie_id"],
        frame["raw_title"],
        [[g for g in names[row] if g != "unknown"] for row in flags],
    )
    release_year = pd.to_datetime(frame["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    catalog["year"] = catalog["year"].fillna(release_year)
    return catalog
