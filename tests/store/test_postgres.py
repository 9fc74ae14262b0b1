"""The PostgreSQL backend: the shared contract on a real throw-away server, plus server faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from movierec.data.dataset import Dataset
from movierec.errors import StoreUnavailableError
from movierec.store import RatingStore, open_store
from tests.store.contract import NAME, RatingStoreContract
from tests.store.pgserver import ThrowawayPostgres, free_port

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")


class TestPostgresStore(RatingStoreContract):
    @pytest.fixture
    def location(self, pg_server: ThrowawayPostgres) -> str:
        return pg_server.create_database()

    def raw(self, location: str, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(location, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    @contextmanager
    def hold_write_lock(self, location: str) -> Iterator[None]:
        with psycopg.connect(location) as conn:
            conn.execute("SELECT * FROM datasets FOR UPDATE")
            yield
            conn.rollback()

    def test_server_crash_keeps_every_acknowledged_rating(
        self, store: RatingStore, location: str, data: Dataset, pg_server: ThrowawayPostgres
    ) -> None:
        def crash(_proc: Any) -> None:
            pg_server.stop("immediate")  # no checkpoint: recovery replays the WAL
            pg_server.start()

        acks = self.stream_then(location, 60, crash)
        assert len(acks) >= 60
        self.check_acks(location, acks, data)

    def test_durability_settings(self, store: RatingStore) -> None:
        conn = store._conn()  # type: ignore[attr-defined]
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert conn.execute("SHOW fsync").fetchone()[0] == "on"


def test_server_down_is_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{port}/movies.*unavailable"):
        open_store(f"postgresql://someone:secret@127.0.0.1:{port}/movies", NAME, timeout=2)


@pytest.mark.bench
def test_bench_server_down_fails_within_5s() -> None:
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError):
        open_store(f"postgresql://someone:secret@127.0.0.1:{free_port()}/movies", NAME, timeout=2)
    assert time.perf_counter() - started < 5


def test_password_never_in_messages() -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        open_store(f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/movies", NAME, timeout=1)
    assert "hunter2" not in str(caught.value)
