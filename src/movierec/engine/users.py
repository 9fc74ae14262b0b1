"""The users side of the engine: a user's ratings joined to the catalog, new users with their
token, rating writes checked before anything is written.

The facade (:class:`~movierec.engine.core.Engine`) calls this rather than the interfaces
reaching into the ratings store. Tokens are random
(``secrets.token_urlsafe``) and only their SHA-256 reaches the store, so a leaked database holds
no usable token. A single rating goes through the online updater's ``rate``; a batch goes to the
store's all-or-nothing ``add_ratings`` and is then folded in once for the user, which is cheaper
than one fold-in per rating and keeps "nothing half-written" true for the whole request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from movierec.engine.catalog import Catalog
from movierec.engine.online import OnlineUpdater
from movierec.errors import UnknownMovieError
from movierec.store import validate
from movierec.store.base import RatingStore


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class WriteResult:
    user_id: int
    stored: int
    last_seq: int
    folded_in: bool
    fold_in_ms: float
    retrain: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NewUser:
    user_id: int
    token: str  # shown once; only its hash is stored
    ratings: int


class Users:
    """Users and their ratings over one catalog and its live ratings store."""

    def __init__(self, catalog: Catalog, live: OnlineUpdater):
        self.catalog = catalog
        self.live = live

    @property
    def _store(self) -> RatingStore:
        return self.live.store

    def ratings(self, user_id: int) -> list[dict[str, Any]]:
        """The user's rated movies as catalog rows with their ``rating``, best first (ties: the
        more voted first). Movies added to the store after this engine started are left out:
        the catalog does not know them yet."""
        movies, ratings = self._store.user_ratings(user_id)
        rows = []
        for movie_id, rating in zip(movies.tolist(), ratings.tolist(), strict=True):
            try:
                row = self.catalog.movie(movie_id).to_json()
            except UnknownMovieError:
                continue
            row["rating"] = float(rating)
            rows.append(row)
        rows.sort(key=lambda r: (-r["rating"], -r["votes"], r["movie_id"]))
        return rows

    def check(self, user_id: int, rows: list[tuple[int, float]]) -> None:
        """Refuse bad rows before anything is written (unknown movie 404, bad value 422)."""
        for movie_id, _ in rows:
            self.catalog.row(movie_id)
        validate.rating_batch(
            [(user_id, m, r) for m, r in rows], self._store.scale(), int(time.time())
        )

    def rate(self, user_id: int, rows: list[tuple[int, float]]) -> WriteResult:
        """Store ``rows`` for ``user_id`` (all or none) and fold them in."""
        self.check(user_id, rows)
        live = self.live
        if len(rows) == 1:
            done = live.rate(user_id, rows[0][0], rows[0][1], background=True)
        else:
            done = live.rate_batch(user_id, rows, background=True)
        return WriteResult(
            user_id, done.count, done.seq, done.folded_in, done.fold_in_ms, done.retrain, done.notes
        )

    def create(self, rows: list[tuple[int, float]], **demographics: Any) -> NewUser:
        """A new user with a token and, optionally, first ratings; nothing is written when a
        rating is refused."""
        self.check(0, rows)
        store = self._store
        user_id = store.add_user(None, **demographics)
        token, token_hash = new_token()
        store.set_user_token_hash(user_id, token_hash)
        if rows:
            self.rate(user_id, rows)
        return NewUser(user_id, token, len(rows))

    def token_hash(self, user_id: int) -> str | None:
        """The stored hash of the user's token (None: no such user, or no token)."""
        return self._store.user_token_hash(user_id)

    def token_matches(self, user_id: int, token: str) -> bool:
        """Whether ``token`` is the user's (compared in constant time); False for a user
        without a token."""
        stored = self.token_hash(user_id)
        return stored is not None and hmac.compare_digest(hash_token(token), stored)
