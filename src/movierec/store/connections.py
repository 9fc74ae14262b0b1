"""The plumbing under the SQL store: a connection per thread, driver errors translated, the
schema migrated on open, every connection closed together.

Kept apart from the queries (:mod:`movierec.store.sql`) because it is what the two backends
differ in: each fills in the hooks here (how to connect, run a write transaction, translate an
error, find a table) and nothing else about connections.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from movierec.errors import MovieRecError, SchemaVersionError, StoreError
from movierec.store.schema import SCHEMA_VERSION, migrations

logger = logging.getLogger(__name__)


class SqlConnections(ABC):
    """DB-API connections, one per thread, to a database holding movierec's schema.

    Opening migrates the schema (closing every connection if that fails); a forked child
    opens its own connections rather than use its parent's.
    """

    #: Column type of ratings and scale bounds.
    float_type = "REAL"
    #: Appended to CREATE TABLE (SQLite: ``WITHOUT ROWID``, clustering rows by their key).
    table_options = ""

    def __init__(self, label: str):
        self.label = label
        self._local = threading.local()
        self._guard = threading.Lock()
        self._connections: list[Any] = []
        self._closed = False
        self._pid = os.getpid()
        self._inherited: list[Any] = []
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # --- hooks ---------------------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any:
        """A new connection in autocommit mode, durability settings applied."""

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[Any]:
        """A write transaction yielding a cursor; commits on exit, rolls back on error."""

    @abstractmethod
    def _translate(self, exc: Exception) -> MovieRecError | None:
        """The domain error for a driver exception, or None to let it through."""

    @abstractmethod
    def _has_table(self, cur: Any, name: str) -> bool: ...

    def _q(self, sql: str) -> str:
        """SQL in the driver's placeholder style (written with ``?``)."""
        return sql

    def _migration_lock(self, conn: Any) -> AbstractContextManager[None]:
        """Held around the migration transaction, so concurrent openers migrate one at a time
        (SQLite's ``BEGIN IMMEDIATE`` already serialises them)."""
        return nullcontext()

    def _check_fresh(self, cur: Any) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Refuse a database that belongs to something else before creating tables in it."""

    # --- plumbing ------------------------------------------------------------------------------

    def _conn(self) -> Any:
        """This thread's connection, opened on first use."""
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            self._inherited = self._connections  # kept, never used or closed from here
            self._local, self._connections, self._pid = threading.local(), [], os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._guard:
                if self._closed:
                    raise StoreError(f"the ratings store {self.label} is closed")
            conn = self._connect()
            with self._guard:
                self._connections.append(conn)
            self._local.conn = conn
        elif self._closed:
            raise StoreError(f"the ratings store {self.label} is closed")
        return conn

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            yield
        except MovieRecError:
            raise
        except Exception as exc:
            translated = self._translate(exc)
            if translated is None:
                raise
            raise translated from exc

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        with self._guarded(), self._transaction(self._conn()) as cur:
            yield cur

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._guarded():
            cur = self._conn().cursor()
            try:
                cur.execute(self._q(sql), params)
                return cur.fetchall()
            finally:
                cur.close()

    def _migrate(self) -> None:
        with self._guarded():
            cur = self._conn().cursor()
            found = 0
            if self._has_table(cur, "schema_version"):
                cur.execute("SELECT max(version) FROM schema_version")
                found = int(cur.fetchone()[0] or 0)
            cur.close()
            self._check_version(found)
            if found == SCHEMA_VERSION:
                return
        with self._guarded(), self._migration_lock(self._conn()), self._writing() as cur:
            if not self._has_table(cur, "schema_version"):
                self._check_fresh(cur)
                cur.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "applied_at BIGINT NOT NULL)"
                )
            cur.execute("SELECT max(version) FROM schema_version")
            found = int(cur.fetchone()[0] or 0)
            self._check_version(found)
            steps = migrations(self.float_type, self.table_options)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in steps[version - 1]:
                    cur.execute(statement)
                cur.execute(
                    self._q("INSERT INTO schema_version VALUES (?, ?)"), (version, int(time.time()))
                )
                logger.info("ratings store %s: schema migrated to version %d", self.label, version)

    def _check_version(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(self.label, found, SCHEMA_VERSION)

    def close(self) -> None:
        with self._guard:
            connections, self._connections = self._connections, []
            self._closed = True
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing must not fail; a dead connection is closed enough
                logger.debug("closing a connection of %s failed", self.label, exc_info=True)
