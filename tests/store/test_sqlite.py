"""The SQLite backend: the shared contract plus what only a file can do (corruption, WAL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from movierec.errors import StoreCorruptError, StoreError
from movierec.store import open_store
from movierec.store.sqlite import SqliteRatingStore
from tests.store.contract import NAME, RatingStoreContract
from tests.store.sample import sample_dataset


class TestSqliteStore(RatingStoreContract):
    @pytest.fixture
    def location(self, tmp_path: Path) -> str:
        return str(tmp_path / "nested" / "ratings.db")  # the folder is created on open

    def raw(self, location: str, sql: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(location)) as conn, conn:
            return conn.execute(sql).fetchall()

    @contextmanager
    def hold_write_lock(self, location: str) -> Iterator[None]:
        conn = sqlite3.connect(location, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def check_integrity(self, location: str) -> None:
        assert self.raw(location, "PRAGMA integrity_check") == [("ok",)]


def test_wal_and_full_sync(tmp_path: Path) -> None:
    with open_store(tmp_path / "r.db", NAME) as store:
        assert isinstance(store, SqliteRatingStore)
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_sqlite_url(tmp_path: Path) -> None:
    with open_store(f"sqlite://{tmp_path}/r.db", NAME) as store:
        store.initialise(sample_dataset(NAME))
    assert (tmp_path / "r.db").exists()


def test_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ratings.db"
    content = b"these are my notes, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError, match=str(path)):
        open_store(path, NAME)
    assert path.read_bytes() == content


def test_damaged_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ratings.db"
    with open_store(path, NAME) as store:
        store.initialise(sample_dataset(NAME))
    raw = bytearray(path.read_bytes())
    raw[100:] = b"\xff" * (len(raw) - 100)  # keep the header, ruin every page
    path.write_bytes(bytes(raw))
    with (
        pytest.raises(StoreCorruptError, match=f"{path}.*malformed"),
        open_store(path, NAME) as store,
    ):
        store.all_ratings()
    assert path.read_bytes() == bytes(raw)


def test_other_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(StoreError, match="tables notes"):
        open_store(path, NAME)
    with closing(sqlite3.connect(path)) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == [("notes",)]


def test_folder_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        open_store(tmp_path, NAME)


def test_a_second_process_waits_for_a_long_initialisation(tmp_path: Path) -> None:
    """Two service workers start on a fresh store: the copy of the dataset outlasts the busy
    timeout, so the second waits on the lock file, then finds the store initialised."""
    import threading

    location = tmp_path / "ratings.db"
    SqliteRatingStore(location, NAME).close()  # the file and its tables exist: only the copy races
    data = sample_dataset(NAME, n_users=400, n_movies=500, n_ratings=100_000)
    results: list[object] = []

    def start() -> None:
        try:
            with SqliteRatingStore(location, NAME, timeout=0.001) as store:
                results.append(store.initialise(data))
        except StoreError as exc:
            results.append(exc)

    workers = [threading.Thread(target=start) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results, key=str) == [0, len(data.ratings)]  # type: ignore[arg-type]


def test_a_large_load_rebuilds_the_indexes_it_dropped(tmp_path: Path, monkeypatch) -> None:
    """Many ratings are appended without their secondary indexes, which are then rebuilt in
    the same transaction: afterwards the indexes exist and answer for both datasets."""
    import movierec.store.sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "REINDEX_ROWS", 50)
    location = tmp_path / "ratings.db"
    first, second = sample_dataset("first"), sample_dataset("second", seed=1)
    for data in (first, second):
        with SqliteRatingStore(location, data.name) as store:
            assert store.initialise(data) == len(data.ratings)
    with closing(sqlite3.connect(location)) as conn:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        names = {row[0] for row in found}
        assert {"ratings_by_movie", "ratings_by_seq"} <= names
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for data in (first, second):
        with SqliteRatingStore(location, data.name) as store:
            stored = store.all_ratings()
            assert len(stored) == len(data.ratings)
