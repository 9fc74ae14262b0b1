"""Fixtures of the store tests: a throw-away PostgreSQL server for the whole session."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from tests.store.pgserver import PostgresUnavailable, ThrowawayPostgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    """A real server on 127.0.0.1 with fsync on; skips (saying why) when it cannot start."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _skip("psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        server = ThrowawayPostgres(fsync=True).init()
    except PostgresUnavailable as exc:
        _skip(str(exc))
    try:
        yield server
    finally:
        server.destroy()


def _skip(reason: str) -> None:
    message = f"PostgreSQL store tests skipped: {reason}"
    warnings.warn(message, stacklevel=2)  # shown in the summary even without -rs
    pytest.skip(message)
