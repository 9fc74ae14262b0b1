"""The MovieLens CSV family: ml-latest-small, ml-25m, ml-32m, ml-latest (and ml-20m).

`ratings.csv` (userId,movieId,rating,timestamp) is the big one — 33.8M rows in ml-latest —
and goes through pyarrow's multi-threaded reader. `movies.csv` gives titles ("Toy Story (1995)"
split into title and year) and `|`-separated genres; `tags.csv` becomes per-movie text;
`links.csv` gives `imdb_id` and `tmdb_id` for joining TMDB-side metadata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import HALF_STARS, Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import note_skipped, read_table, require_columns
from movierec.data.sources.common import add_unlisted_movies, split_list, titled_catalog

FORMAT = "movielens-csv"
DESCRIPTION = "ratings.csv, movies.csv, tags.csv, links.csv (MovieLens latest/25m/32m)"
NO_GENRES = "(no genres listed)"


def matches(files: FileSet) -> bool:
    return "movies.csv" in files or "ratings.csv" in files


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    catalog = _movies(files, report)
    catalog = _add_links(catalog, files, report)
    catalog = _add_tags(catalog, files, report)
    ratings = empty_ratings()
    ref = files.get("ratings.csv")
    if ref is None:
        report.add("ratings.csv is missing: no ratings", file=str(files.root))
    else:
        ratings = read_movielens_ratings(ref, report)
        catalog = add_unlisted_movies(catalog, ratings, report, file=ref.display)
    return Dataset(name, catalog, ratings, None, HALF_STARS, FORMAT, report)


def read_movielens_ratings(ref: FileRef, report: LoadReport) -> pd.DataFrame:
    """A ratings file in MovieLens's CSV layout (userId,movieId,rating,timestamp; half stars),
    cleaned; The Movies Dataset ships its ratings in this layout too."""
    table = read_table(
        ref,
        types={
            "userId": pa.int32(),
            "movieId": pa.int32(),
            "rating": pa.float32(),
            "timestamp": pa.int64(),
        },
    )
    return clean_ratings(
        table,
        HALF_STARS,
        report,
        columns={
            "user_id": "userId",
            "movie_id": "movieId",
            "rating": "rating",
            "timestamp": "timestamp",
        },
    )


def _movies(files: FileSet, report: LoadReport) -> pd.DataFrame:
    ref = files.get("movies.csv")
    if ref is None:
        report.add("movies.csv is missing: movies have no titles or genres", file=str(files.root))
        return pd.DataFrame({"movie_id": np.empty(0, np.int64)})
    table = read_table(
        ref, types={"movieId": pa.int32(), "title": pa.string(), "genres": pa.string()}
    )
    require_columns(table, ["movieId", "title", "genres"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    genres = frame["genres"].map(lambda g: [x for x in split_list(g) if x != NO_GENRES])
    return titled_catalog(frame["movieId"], frame["title"], genres)


def _add_links(catalog: pd.DataFrame, files: FileSet, report: LoadReport) -> pd.DataFrame:
    ref = files.get("links.csv")
    if ref is None:
        report.add(
            "links.csv is missing: no IMDb/TMDB ids to join metadata on", file=str(files.root)
        )
        return catalog
    table = read_table(
        ref, types={"movieId": pa.int32(), "imdbId": pa.int64(), "tmdbId": pa.float64()}
    )
    require_columns(table, ["movieId", "imdbId", "tmdbId"])
    note_skipped(table, report)
    links = table.data.to_pandas().rename(
        columns={"movieId": "movie_id", "imdbId": "imdb_id", "tmdbId": "tmdb_id"}
    )
    links = links.drop_duplicates("movie_id")
    return catalog.merge(links[["movie_id", "imdb_id", "tmdb_id"]], on="movie_id", how="left")


def _add_tags(catalog: pd.DataFrame, files: FileSet, report: LoadReport) -> pd.DataFrame:
    """Each movie's distinct tags, lower-cased, joined by ", " in order of first use."""
    ref = files.get("tags.csv")
    if ref is None:
        return catalog
    table = read_table(
        ref,
        types={
            "userId": pa.int32(),
            "movieId": pa.int32(),
            "tag": pa.string(),
            "timestamp": pa.int64(),
        },
    )
    require_columns(table, ["movieId", "tag"])
    note_skipped(table, report)
    tags = table.data.select(["movieId", "tag"]).to_pandas()
    tags["tag"] = tags["tag"].str.strip().str.lower()
    tags = tags[tags["tag"] != ""].drop_duplicates()
    text = tags.groupby("movieId", sort=False)["tag"].agg(", ".join)
    catalog["tags"] = catalog["movie_id"].map(text).fillna("")
    return catalog
