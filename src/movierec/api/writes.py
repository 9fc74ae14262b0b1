"""Rating writes from the service: validated up front, stored durably, folded in at once.

A single rating goes through :meth:`Engine.rate`. A batch goes to the store's all-or-nothing
``add_ratings`` and is then folded in once for the user, which is cheaper than one fold-in per
rating and keeps "nothing half-written" true for the whole request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from movierec.engine.core import Engine
from movierec.store import validate


@dataclass
class WriteResult:
    user_id: int
    stored: int
    last_seq: int
    folded_in: bool
    fold_in_ms: float
    retrain: str = ""
    notes: list[str] = field(default_factory=list)


class Writer:
    """The service's rating writes: checked before anything is written, then handed to the
    engine's online updater, which serialises storing, vote counting and fold-in itself."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def check(self, user_id: int, rows: list[tuple[int, float]]) -> None:
        """Refuse bad rows before anything is written (unknown movie 404, bad value 422)."""
        for movie_id, _ in rows:
            self.engine.row(movie_id)
        live = self.engine.online()
        validate.rating_batch([(user_id, m, r) for m, r in rows], live.store.scale(),
                              int(time.time()))

    def rate(self, user_id: int, rows: list[tuple[int, float]]) -> WriteResult:
        """Store ``rows`` for ``user_id`` (all or none) and fold them in."""
        self.check(user_id, rows)
        live = self.engine.online()
        if len(rows) == 1:
            done = live.rate(user_id, rows[0][0], rows[0][1], background=True)
        else:
            done = live.rate_batch(user_id, rows, background=True)
        return WriteResult(user_id, done.count, done.seq, done.folded_in, done.fold_in_ms,
                           done.retrain, done.notes)
