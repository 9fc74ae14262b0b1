"""The server store: PostgreSQL by URL (``postgresql://user@host:5432/db``), through psycopg 3.

Durability: every session sets ``synchronous_commit = on``, so a commit returns only after the
server flushed its WAL; a server running with ``fsync = off`` is warned about (it can lose
acknowledged ratings in a power cut, and no client setting can fix that).

Concurrency: each thread gets its own connection (a psycopg connection runs one transaction at
a time). A writer locks its dataset's row in ``datasets`` (the UPDATE that advances its
sequence), so writers of one dataset take turns until they commit; ``lock_timeout`` makes a
writer stuck behind a lock give up with :class:`~movierec.errors.StoreUnavailableError` after
the timeout, as SQLite's busy timeout does. Writers of different datasets do not wait for each
other.

The base dataset is loaded with ``COPY … FROM STDIN`` (CSV built by pandas), new ratings with
``executemany`` (psycopg pipelines it: one round trip per batch, not per row).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import conninfo

from movierec.errors import MovieRecError, StoreError, StoreUnavailableError
from movierec.store.sql import SqlRatingStore

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
_MIGRATION_LOCK = 0x6D6F76696572  # pg_advisory_xact_lock key: "movier" in ASCII
_NOT_NULL_TEXT = ("title", "genres")  # CSV reads an empty field as NULL unless told otherwise


class PostgresRatingStore(SqlRatingStore):
    """The ratings store in a PostgreSQL database, tables created on first use."""

    float_type = "DOUBLE PRECISION"

    def __init__(self, url: str, dataset: str, *, timeout: float = DEFAULT_TIMEOUT_S):
        """Connect and migrate the schema.

        Args:
            url: a libpq URL or conninfo string; the password never appears in messages.
            dataset: the dataset name reads and writes are scoped to.
            timeout: seconds to wait for a connection, and for a lock held by another writer.

        Raises:
            StoreUnavailableError: the server cannot be reached.
            SchemaVersionError: the database was written by a newer movierec.
        """
        self.url = url
        self.timeout = float(timeout)
        self._fsync_checked = False
        super().__init__(dataset, _describe(url))

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(1, math.ceil(self.timeout))
        )
        try:
            conn.execute("SET synchronous_commit TO on")
            conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
            if not self._fsync_checked:
                self._fsync_checked = True
                row = conn.execute("SHOW fsync").fetchone()
                if row and row[0] != "on":
                    logger.warning(
                        "%s runs with fsync=%s: acknowledged ratings can be lost if "
                        "the machine crashes",
                        self.label,
                        row[0],
                    )
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.closed:  # broken by a server restart: reconnect
            self._local.conn = None
        return super()._conn()

    @contextmanager
    def _transaction(self, conn: psycopg.Connection[Any]) -> Iterator[psycopg.Cursor[Any]]:
        with conn.transaction(), conn.cursor() as cur:
            yield cur

    def _translate(self, exc: Exception) -> MovieRecError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        message = str(exc).strip() or type(exc).__name__
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StoreUnavailableError(
                f"{self.label}: another writer held the lock past the {self.timeout:g} s "
                f"timeout ({message})"
            )
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StoreUnavailableError(f"PostgreSQL at {self.label} is unavailable: {message}")
        return StoreError(f"{self.label}: {message}")

    def _q(self, sql: str) -> str:
        return _placeholders(sql)

    def _bulk_insert(self, cur: psycopg.Cursor[Any], table: str, frame: pd.DataFrame) -> None:
        columns = list(frame.columns)
        options = "FORMAT csv"
        not_null = [c for c in _NOT_NULL_TEXT if c in columns]
        if not_null:
            options += f", FORCE_NOT_NULL ({', '.join(not_null)})"
        text = frame.to_csv(index=False, header=False, na_rep="")
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})") as copy:
            copy.write(text)

    def _has_table(self, cur: psycopg.Cursor[Any], name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        row = cur.fetchone()
        return row is not None and bool(row[0])

    @contextmanager
    def _migration_lock(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        # A session lock taken before the transaction begins: a transaction that started first
        # and then waited could still hold stale catalog caches and miss the winner's tables.
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    def _ids_clause(self, column: str) -> str:
        return f"{column} = ANY(?)"

    def _ids_param(self, ids: np.ndarray) -> Any:
        return ids.tolist()


@functools.lru_cache(maxsize=128)
def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


def _describe(url: str) -> str:
    """``postgresql://user@host:port/db`` without the password, for messages and logs."""
    try:
        parts = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"not a valid PostgreSQL URL: {exc}") from exc
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', 'localhost')}{port}/{parts.get('dbname', '')}"
