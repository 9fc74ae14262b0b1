"""The embedded store: one SQLite file (``<home>/ratings.db`` by default).

Durability: WAL journal with ``synchronous=FULL``, so each commit fsyncs the log before the
write method returns; a process killed at any point leaves every acknowledged rating and no
half-written one (the WAL replays whole transactions only).

Concurrency: each thread that uses a store gets its own connection (SQLite connections must not
run statements from two threads at once), so readers never wait for one another and, under WAL,
never wait for the writer either. Writers, in any thread or process, take the database's write
lock with ``BEGIN IMMEDIATE`` and wait for it up to the busy timeout; past that they get a
:class:`~movierec.errors.StoreUnavailableError` instead of hanging.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, RatingScale
from movierec.errors import MovieRecError, StoreCorruptError, StoreError, StoreUnavailableError
from movierec.store.schema import RATING_INDEXES
from movierec.store.sql import SqlRatingStore

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
#: ratings from which a bulk load rebuilds the secondary indexes instead of updating them
REINDEX_ROWS = 200_000
_BULK_CACHE_KB = 1 << 20  # 1 GiB of page cache while a dataset is copied in (freed after)


class SqliteRatingStore(SqlRatingStore):
    """The ratings store in a SQLite file, created (with its folder) when missing."""

    float_type = "REAL"
    table_options = " WITHOUT ROWID"  # rows clustered by (dataset, user, …): one seek per user

    def __init__(self, path: str | Path, dataset: str, *, timeout: float = DEFAULT_TIMEOUT_S):
        """Open (or create) the store.

        Args:
            path: the database file; its folder is created when missing.
            dataset: the dataset name reads and writes are scoped to.
            timeout: seconds a write waits for another writer's lock before giving up.

        Raises:
            StoreCorruptError: the file is not a SQLite database, or is damaged.
            SchemaVersionError: the file was written by a newer movierec.
        """
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of {self.path}: {exc}") from exc
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a ratings database file")
        super().__init__(dataset, str(self.path))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )  # only close() crosses threads
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning(
                    "%s: journal mode is %s, not WAL; readers may wait for writers", self.path, mode
                )
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        conn.execute("BEGIN IMMEDIATE")  # the write lock now, so no deadlock on upgrading later
        cur = conn.cursor()
        try:
            yield cur
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    def _translate(self, exc: Exception) -> MovieRecError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        message = str(exc)
        lowered = message.lower()
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return StoreCorruptError(
                f"{self.path} is not a valid ratings database ({message}); "
                f"it was left untouched: move it away or restore a backup"
            )
        if "locked" in lowered or "busy" in lowered:
            return StoreUnavailableError(
                f"{self.path} is locked by another connection; gave up after the "
                f"{self.timeout:g} s busy timeout ({message})"
            )
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return StoreUnavailableError(f"cannot write {self.path}: {message}")
        return StoreError(f"{self.path}: {message}")

    def initialise(self, dataset: Dataset, *, scale: RatingScale | None = None) -> int:
        """As the base class, one process at a time: the copy of a large dataset holds the
        write lock longer than any busy timeout, so another process opening the store meanwhile
        (a second service worker) waits on a lock file beside it, then finds it initialised."""
        with open(self.path.with_name(self.path.name + ".init-lock"), "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            conn = self._conn()
            # A large page cache for the copy and the index rebuild's sort only (SQLite's
            # default is 2 MB).
            conn.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KB}")
            try:
                return super().initialise(dataset, scale=scale)
            finally:
                conn.execute("PRAGMA cache_size = -2000")  # SQLite's default again
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _bulk_load(self, cur: sqlite3.Cursor, table: str, frame: pd.DataFrame) -> None:
        """Many ratings: drop the secondary indexes, append the rows in key order (they come
        sorted by user and movie, the table's clustering), then build the indexes again by
        sorting, inside the same transaction (a crash rolls the drop back too). Inserting into
        the indexes row by row missed the cache on every row once they outgrew it: 33.8M
        ratings took over 10 minutes."""
        if table != "ratings" or len(frame) < REINDEX_ROWS:
            super()._bulk_load(cur, table, frame)
            return
        for name in RATING_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
        super()._bulk_load(cur, table, frame)
        for create in RATING_INDEXES.values():
            cur.execute(create)

    def _bulk_insert(self, cur: sqlite3.Cursor, table: str, frame: pd.DataFrame) -> None:
        columns = list(frame.columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cur.executemany(sql, zip(*(frame[c].tolist() for c in columns), strict=True))

    def _has_table(self, cur: sqlite3.Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    def _check_fresh(self, cur: sqlite3.Cursor) -> None:
        cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        tables = [row[0] for row in cur.fetchall()]
        if tables:
            raise StoreError(
                f"{self.path} is a SQLite database of something else (tables "
                f"{', '.join(tables[:5])}); refusing to add movierec's tables"
            )

    def _ids_clause(self, column: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(?))"

    def _ids_param(self, ids: np.ndarray) -> Any:
        return "[" + ",".join(map(str, ids.tolist())) + "]"
