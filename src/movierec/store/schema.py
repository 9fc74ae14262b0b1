"""The store's tables, their migrations, and the rows a base dataset becomes.

Tables (every key starts with the dataset name, so datasets share one database):

* ``schema_version(version, applied_at)``: one row per applied migration;
* ``datasets(dataset, scale_low, scale_high, scale_step, last_seq, base_ratings,
  initialised_at)``: ``last_seq`` is the per-dataset sequence counter; every write locks this
  row (by advancing it), which serialises writers of one dataset and keeps sequence numbers
  dense and in commit order;
* ``movies(dataset, movie_id, title, year, genres, added_seq)``: ``added_seq`` is NULL for the
  base catalog, so added movies are those with a value;
* ``users(dataset, user_id, demographics, token_hash, added_seq)``: demographics as JSON;
* ``ratings(dataset, user_id, movie_id, rating, rated_at, seq)``: ``seq`` of the last write
  that changed the row (0 for base ratings).

A migration is a list of DDL statements; ``schema_version`` records each one applied, so a
database opened by an older movierec is refused rather than misread (see
:class:`~movierec.errors.SchemaVersionError`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, RatingScale
from movierec.errors import InvalidRatingError, UnknownMovieError

SCHEMA_VERSION = 2

#: the secondary indexes of the ratings table (a bulk load may drop and rebuild them)
RATING_INDEXES = {
    "ratings_by_movie": "CREATE INDEX ratings_by_movie ON ratings (dataset, movie_id)",
    "ratings_by_seq": "CREATE INDEX ratings_by_seq ON ratings (dataset, seq)",
}


def migrations(float_type: str, table_options: str) -> list[list[str]]:
    """DDL per schema version: ``migrations(...)[v - 1]`` takes a database from v - 1 to v."""
    return [
        [
            f"""CREATE TABLE datasets (dataset TEXT PRIMARY KEY, scale_low {float_type} NOT NULL,
            scale_high {float_type} NOT NULL, scale_step {float_type} NOT NULL,
            last_seq BIGINT NOT NULL, base_ratings BIGINT NOT NULL,
            initialised_at BIGINT NOT NULL)""",
            f"""CREATE TABLE movies (dataset TEXT NOT NULL, movie_id INTEGER NOT NULL,
            title TEXT NOT NULL, year INTEGER, genres TEXT NOT NULL, added_seq BIGINT,
            PRIMARY KEY (dataset, movie_id)){table_options}""",
            f"""CREATE TABLE users (dataset TEXT NOT NULL, user_id INTEGER NOT NULL,
            demographics TEXT, token_hash TEXT, added_seq BIGINT,
            PRIMARY KEY (dataset, user_id)){table_options}""",
            f"""CREATE TABLE ratings (dataset TEXT NOT NULL, user_id INTEGER NOT NULL,
            movie_id INTEGER NOT NULL, rating {float_type} NOT NULL, rated_at BIGINT NOT NULL,
            seq BIGINT NOT NULL, PRIMARY KEY (dataset, user_id, movie_id)){table_options}""",
            RATING_INDEXES["ratings_by_movie"],
        ],
        [
            # v2: changed_since(seq) runs on every read of a multi-worker service
            RATING_INDEXES["ratings_by_seq"],
        ],
    ]


def base_rows(
    dataset: Dataset, scale: RatingScale, name: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(ratings, movies, users) rows for the bulk load, checked as new ratings would be."""
    ratings = dataset.ratings
    bad = ~scale.valid(ratings["rating"].to_numpy())
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidRatingError(
            "rating", float(ratings["rating"].iat[row]), scale.describe(), row=row
        )
    catalog = dataset.catalog
    unknown = ~np.isin(ratings["movie_id"].to_numpy(), catalog["movie_id"].to_numpy())
    if unknown.any():
        row = int(np.argmax(unknown))
        error = UnknownMovieError(int(ratings["movie_id"].iat[row]))
        error.args = (f"ratings row {row}: {error.args[0]} (not in the catalog)",)
        raise error
    # Keep the newest rating of a (user, movie) pair, as a later add_rating would.
    order = np.lexsort(
        (
            ratings["timestamp"].to_numpy(),
            ratings["movie_id"].to_numpy(),
            ratings["user_id"].to_numpy(),
        )
    )
    ratings = ratings.iloc[order]
    ratings = ratings[~ratings.duplicated(["user_id", "movie_id"], keep="last")]
    n = len(ratings)
    rating_rows = pd.DataFrame(
        {
            "dataset": np.full(n, name, dtype=object),
            "user_id": ratings["user_id"].to_numpy(),
            "movie_id": ratings["movie_id"].to_numpy(),
            "rating": ratings["rating"].to_numpy(np.float64),
            "rated_at": ratings["timestamp"].to_numpy(),
            "seq": np.zeros(n, np.int64),
        }
    )
    years = catalog["year"]
    movie_rows = pd.DataFrame(
        {
            "dataset": name,
            "movie_id": catalog["movie_id"].to_numpy(),
            "title": catalog["title"].to_numpy(object),
            "year": np.where(
                years.isna(),
                None,
                years.astype("Float64").fillna(0).to_numpy(np.int64).astype(object),
            ),
            "genres": catalog["genres"].map("|".join).to_numpy(object),
            "added_seq": None,
        }
    )
    user_ids = np.unique(ratings["user_id"].to_numpy())
    demographics = np.full(len(user_ids), None, dtype=object)
    if dataset.users is not None and len(dataset.users):
        known = dataset.users.drop_duplicates("user_id")
        user_ids = np.union1d(user_ids, known["user_id"].to_numpy())
        extra = known.drop(columns="user_id")
        demographics = np.full(len(user_ids), None, dtype=object)
        if len(extra.columns):
            texts = extra.to_json(orient="records", lines=True).rstrip("\n").split("\n")
            demographics[np.searchsorted(user_ids, known["user_id"].to_numpy())] = texts
    user_rows = pd.DataFrame(
        {
            "dataset": name,
            "user_id": user_ids,
            "demographics": demographics,
            "token_hash": None,
            "added_seq": None,
        }
    )
    return rating_rows, movie_rows, user_rows
