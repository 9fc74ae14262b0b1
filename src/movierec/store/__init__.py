"""The durable ratings store: SQLite by path (the embedded default), PostgreSQL by URL.

>>> with open_store(home.ratings_db, "ml-100k") as store:     # doctest: +SKIP
...     store.initialise(dataset)            # once; later calls return 0
...     seq = store.add_rating(42, 50, 4.5)  # on disk when it returns

See :class:`~movierec.store.base.RatingStore` for the contract both backends keep.
"""

from __future__ import annotations

from pathlib import Path

from movierec.errors import StoreError
from movierec.store.base import RatingRow, RatingStore

__all__ = ["RatingRow", "RatingStore", "open_store", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 5.0
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_SCHEME = "sqlite://"


def open_store(
    location: str | Path, dataset: str, *, timeout: float = DEFAULT_TIMEOUT_S
) -> RatingStore:
    """Open the store at ``location``, scoped to one dataset name.

    Args:
        location: a file path (or ``sqlite:///abs/path``) for SQLite; a ``postgresql://`` URL
            for PostgreSQL (needs the ``postgres`` extra: psycopg).
        dataset: the dataset name every read and write is scoped to; several datasets can
            share one database.
        timeout: seconds to wait for another writer's lock (and for a server connection).

    Raises:
        StoreError: PostgreSQL asked for but psycopg is not installed.
        StoreUnavailableError, StoreCorruptError, SchemaVersionError: see the backends.
    """
    text = str(location)
    if text.startswith(_POSTGRES_SCHEMES):
        try:
            from movierec.store.postgres import PostgresRatingStore
        except ImportError as exc:
            raise StoreError(
                "a PostgreSQL store needs psycopg 3: pip install 'movierec[postgres]'"
            ) from exc
        return PostgresRatingStore(text, dataset, timeout=timeout)
    from movierec.store.sqlite import SqliteRatingStore

    if text.startswith(_SQLITE_SCHEME):
        text = text[len(_SQLITE_SCHEME) :]
    return SqliteRatingStore(text, dataset, timeout=timeout)
