"""The one SQL implementation of the store; SQLite and PostgreSQL differ only in small hooks.

Statements are written once with ``?`` placeholders in the SQL both engines share
(``INSERT … ON CONFLICT … DO UPDATE … WHERE``, ``UPDATE … RETURNING``); a backend supplies its
connection, transaction, bulk-load, id-list and error-translation hooks. Keeping one copy is
the point: a fix to upsert or sequence logic lands in both backends at once.

The tables are described in :mod:`movierec.store.schema`; connections, error translation and
migration are :mod:`movierec.store.connections`; this module holds the queries.
"""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod
from collections.abc import Iterable
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, RatingScale, empty_ratings
from movierec.errors import IdTakenError, StoreError, UnknownMovieError, UnknownUserError
from movierec.store import validate
from movierec.store.base import RatingRow, RatingStore
from movierec.store.connections import SqlConnections
from movierec.store.schema import base_rows

logger = logging.getLogger(__name__)

_CHUNK = 500_000  # rows per bulk-load and read chunk: bounds memory on 33M-rating datasets
_RECORD_FIELDS = (
    ("user_id", np.int32),
    ("movie_id", np.int32),
    ("rating", np.float32),
    ("timestamp", np.int64),
)
_RECORD = np.dtype(list(_RECORD_FIELDS))


_UPSERT = """INSERT INTO ratings (dataset, user_id, movie_id, rating, rated_at, seq)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (dataset, user_id, movie_id) DO UPDATE
    SET rating = excluded.rating, rated_at = excluded.rated_at, seq = excluded.seq
    WHERE excluded.rated_at >= ratings.rated_at"""
_NEW_USER = """INSERT INTO users (dataset, user_id, demographics, added_seq) VALUES (?, ?, ?, ?)
    ON CONFLICT (dataset, user_id) DO NOTHING"""


class SqlRatingStore(SqlConnections, RatingStore):
    """:class:`RatingStore` over a DB-API connection per thread; backends fill in the hooks
    (these, and those of :class:`~movierec.store.connections.SqlConnections`)."""

    def __init__(self, dataset: str, label: str):
        self.dataset = validate.check_dataset_name(dataset)
        self._scale: RatingScale | None = None
        super().__init__(label)

    # --- hooks ---------------------------------------------------------------------------------

    @abstractmethod
    def _bulk_insert(self, cur: Any, table: str, frame: pd.DataFrame) -> None:
        """Insert a frame holding the table's columns (native dtypes, None for NULL)."""

    @abstractmethod
    def _ids_clause(self, column: str) -> str:
        """A condition true when ``column`` is in the id list bound to its one placeholder."""

    @abstractmethod
    def _ids_param(self, ids: np.ndarray) -> Any: ...

    # --- dataset row ---------------------------------------------------------------------------

    def _not_initialised(self) -> StoreError:
        return StoreError(
            f"dataset {self.dataset!r} is not initialised in {self.label}; "
            f"load its base data with initialise() first"
        )

    def _lock_dataset(self, cur: Any, writes: int = 0) -> int:
        """Lock this dataset's row for the transaction and advance its sequence by ``writes``
        in one statement; returns the sequence number before the advance.

        The row lock (an UPDATE locks in both engines) is what serialises writers of one
        dataset until commit, keeping sequence numbers dense and in commit order.
        """
        cur.execute(
            self._q(
                "UPDATE datasets SET last_seq = last_seq + ? WHERE dataset = ? RETURNING last_seq"
            ),
            (writes, self.dataset),
        )
        row = cur.fetchone()
        if row is None:
            raise self._not_initialised()
        return int(row[0]) - writes

    # --- set-up --------------------------------------------------------------------------------

    def initialise(self, dataset: Dataset, *, scale: RatingScale | None = None) -> int:
        scale = scale or dataset.scale
        if scale is None:
            raise StoreError(f"dataset {dataset.name!r} has no rating scale; pass scale=")
        if dataset.name != self.dataset:
            logger.warning(
                "initialising store dataset %r from data named %r", self.dataset, dataset.name
            )
        if self.is_initialised():
            return 0
        ratings, movies, users = base_rows(dataset, scale, self.dataset)
        started = time.perf_counter()
        with self._writing() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO datasets VALUES (?, ?, ?, ?, 0, ?, ?) "
                    "ON CONFLICT (dataset) DO NOTHING"
                ),
                (self.dataset, scale.low, scale.high, scale.step, len(ratings), int(time.time())),
            )
            if cur.rowcount == 0:  # another process initialised it meanwhile
                return 0
            for table, frame in (("movies", movies), ("users", users), ("ratings", ratings)):
                self._bulk_load(cur, table, frame)
        self._scale = scale
        logger.info(
            "ratings store %s: dataset %r initialised with %d ratings in %.2f s",
            self.label,
            self.dataset,
            len(ratings),
            time.perf_counter() - started,
        )
        return len(ratings)

    def _bulk_load(self, cur: Any, table: str, frame: pd.DataFrame) -> None:
        """Insert a whole table's rows in chunks, inside the initialising transaction (a
        backend may prepare the table for a large load first)."""
        for start in range(0, len(frame), _CHUNK):
            self._bulk_insert(cur, table, frame.iloc[start : start + _CHUNK])

    def is_initialised(self) -> bool:
        return bool(self._rows("SELECT 1 FROM datasets WHERE dataset = ?", (self.dataset,)))

    def scale(self) -> RatingScale:
        if self._scale is None:  # immutable once initialised, so read once
            rows = self._rows(
                "SELECT scale_low, scale_high, scale_step FROM datasets WHERE dataset = ?",
                (self.dataset,),
            )
            if not rows:
                raise self._not_initialised()
            self._scale = RatingScale(*(float(v) for v in rows[0]))
        return self._scale

    # --- writes --------------------------------------------------------------------------------

    def add_rating(
        self, user_id: int, movie_id: int, rating: float, timestamp: int | None = None
    ) -> int:
        batch = validate.one_rating(
            user_id, movie_id, rating, timestamp, self.scale(), int(time.time())
        )
        return self._write_ratings(batch, in_batch=False)

    def add_ratings(self, rows: Iterable[RatingRow] | pd.DataFrame) -> int:
        batch = validate.rating_batch(rows, self.scale(), int(time.time()))
        return self._write_ratings(batch, in_batch=True)

    def _write_ratings(self, batch: validate.RatingColumns, *, in_batch: bool) -> int:
        n = len(batch)
        with self._writing() as cur:
            if n:  # before the lock, to hold it shorter: movies are never deleted
                self._check_movies(cur, batch.movie_ids, in_batch)
            last = self._lock_dataset(cur, n)
            if n == 0:
                return last
            users = np.unique(batch.user_ids).tolist()
            cur.executemany(
                self._q(_NEW_USER),
                zip(repeat(self.dataset), users, repeat(None), repeat(last + 1), strict=False),
            )
            seqs = np.arange(last + 1, last + n + 1, dtype=np.int64)
            cur.executemany(
                self._q(_UPSERT),
                zip(
                    repeat(self.dataset),
                    batch.user_ids.tolist(),
                    batch.movie_ids.tolist(),
                    batch.ratings.tolist(),
                    batch.timestamps.tolist(),
                    seqs.tolist(),
                    strict=False,
                ),
            )
        return last + n

    def _check_movies(self, cur: Any, movie_ids: np.ndarray, in_batch: bool) -> None:
        wanted = np.unique(movie_ids)
        cur.execute(
            self._q(
                f"SELECT movie_id FROM movies WHERE dataset = ? AND {self._ids_clause('movie_id')}"
            ),
            (self.dataset, self._ids_param(wanted)),
        )
        known = np.array([row[0] for row in cur.fetchall()], dtype=np.int64)
        unknown = ~np.isin(movie_ids, known)
        if unknown.any():
            row = int(np.argmax(unknown))
            error = UnknownMovieError(int(movie_ids[row]))
            if in_batch:
                error.args = (f"row {row}: {error.args[0]}",)
            error.row = row if in_batch else None
            raise error

    def add_user(self, user_id: int | None = None, **demographics: str | int | float | None) -> int:
        if user_id is not None:
            user_id = validate.check_id(user_id, "user_id")
        text = validate.check_demographics(demographics)
        return self._add_entity(
            "users",
            "user_id",
            user_id,
            (text,),
            "INSERT INTO users (dataset, user_id, demographics, added_seq) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (dataset, user_id) DO NOTHING",
        )

    def add_movie(
        self, movie_id: int | None, title: str, year: int | None = None, genres: Iterable[str] = ()
    ) -> int:
        if movie_id is not None:
            movie_id = validate.check_id(movie_id, "movie_id")
        values = validate.check_movie(title, year, genres)
        return self._add_entity(
            "movies",
            "movie_id",
            movie_id,
            values,
            "INSERT INTO movies (dataset, movie_id, title, year, genres, "
            "added_seq) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (dataset, movie_id) DO NOTHING",
        )

    def _add_entity(
        self, table: str, key: str, wanted: int | None, values: tuple[Any, ...], insert: str
    ) -> int:
        with self._writing() as cur:
            last = self._lock_dataset(cur)  # also serialises "next free id" between writers
            if wanted is None:
                cur.execute(
                    self._q(f"SELECT max({key}) FROM {table} WHERE dataset = ?"), (self.dataset,)
                )
                top = cur.fetchone()[0]
                wanted = 1 if top is None else int(top) + 1
                if wanted > validate.ID_MAX:
                    raise StoreError(f"no free {key} left in dataset {self.dataset!r}")
            cur.execute(self._q(insert), (self.dataset, wanted, *values, last))
            if cur.rowcount == 0:
                raise IdTakenError(f"{key} {wanted} already exists in dataset {self.dataset!r}")
        return wanted

    def set_user_token_hash(self, user_id: int, token_hash: str) -> None:
        user_id = validate.check_id(user_id, "user_id")
        token_hash = validate.check_token_hash(token_hash)
        with self._writing() as cur:
            cur.execute(
                self._q("UPDATE users SET token_hash = ? WHERE dataset = ? AND user_id = ?"),
                (token_hash, self.dataset, user_id),
            )
            if cur.rowcount == 0:
                raise UnknownUserError(user_id)

    # --- reads ---------------------------------------------------------------------------------

    def has_user(self, user_id: int) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM users WHERE dataset = ? AND user_id = ?",
                (self.dataset, validate.check_id(user_id, "user_id")),
            )
        )

    def has_movie(self, movie_id: int) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM movies WHERE dataset = ? AND movie_id = ?",
                (self.dataset, validate.check_id(movie_id, "movie_id")),
            )
        )

    def user_ratings(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(
            "SELECT movie_id, rating FROM ratings WHERE dataset = ? AND user_id = ? "
            "ORDER BY movie_id",
            (self.dataset, validate.check_id(user_id, "user_id")),
        )
        if not rows and not self.has_user(user_id):
            raise UnknownUserError(user_id)
        return _pairs(rows)

    def movie_ratings(self, movie_id: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(
            "SELECT user_id, rating FROM ratings WHERE dataset = ? AND movie_id = ? "
            "ORDER BY user_id",
            (self.dataset, validate.check_id(movie_id, "movie_id")),
        )
        if not rows and not self.has_movie(movie_id):
            raise UnknownMovieError(movie_id)
        return _pairs(rows)

    def all_ratings(self) -> pd.DataFrame:
        parts = []
        with self._guarded():
            cur = self._conn().cursor()
            try:
                cur.execute(
                    self._q(
                        "SELECT user_id, movie_id, rating, rated_at FROM ratings "
                        "WHERE dataset = ? ORDER BY user_id, movie_id"
                    ),
                    (self.dataset,),
                )
                while chunk := cur.fetchmany(_CHUNK):
                    parts.append(np.array(chunk, dtype=_RECORD))
            finally:
                cur.close()
        if not parts:
            return empty_ratings()
        records = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return pd.DataFrame({name: records[name] for name, _ in _RECORD_FIELDS})

    def new_movies(self) -> pd.DataFrame:
        rows = self._rows(
            "SELECT movie_id, title, year, genres FROM movies "
            "WHERE dataset = ? AND added_seq IS NOT NULL ORDER BY movie_id",
            (self.dataset,),
        )
        return pd.DataFrame(
            {
                "movie_id": np.array([r[0] for r in rows], dtype=np.int32),
                "title": [r[1] for r in rows],
                "year": pd.array([r[2] for r in rows], dtype="Int16"),
                "genres": [r[3].split("|") if r[3] else [] for r in rows],
            }
        )

    def changed_since(self, seq: int) -> pd.DataFrame:
        rows = self._rows(
            "SELECT user_id, movie_id, seq FROM ratings WHERE dataset = ? AND seq > ? ORDER BY seq",
            (self.dataset, int(seq)),
        )
        return pd.DataFrame(
            {
                "user_id": np.array([r[0] for r in rows], dtype=np.int32),
                "movie_id": np.array([r[1] for r in rows], dtype=np.int32),
                "seq": np.array([r[2] for r in rows], dtype=np.int64),
            }
        )

    def user_demographics(self, user_id: int) -> dict[str, Any]:
        rows = self._rows(
            "SELECT demographics FROM users WHERE dataset = ? AND user_id = ?",
            (self.dataset, validate.check_id(user_id, "user_id")),
        )
        if not rows:
            raise UnknownUserError(user_id)
        return json.loads(rows[0][0]) if rows[0][0] else {}

    def user_token_hash(self, user_id: int) -> str | None:
        rows = self._rows(
            "SELECT token_hash FROM users WHERE dataset = ? AND user_id = ?",
            (self.dataset, validate.check_id(user_id, "user_id")),
        )
        return rows[0][0] if rows else None

    def last_seq(self) -> int:
        rows = self._rows("SELECT last_seq FROM datasets WHERE dataset = ?", (self.dataset,))
        if not rows:
            raise self._not_initialised()
        return int(rows[0][0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, dataset={self.dataset!r})"


def _pairs(rows: list[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.empty(0, np.int32), np.empty(0, np.float32)
    ids, values = zip(*rows, strict=True)
    return np.array(ids, dtype=np.int32), np.array(values, dtype=np.float32)
