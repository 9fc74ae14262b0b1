"""Getting to know a newcomer: the films to ask about next, and groups of films to choose from.

The strategies are in :mod:`movierec.engine.onboarding`; this part feeds them what the engine
knows — the dataset's ratings, the serving model's movie vectors when it has them, and what the
user has rated in the store — and turns their answers into catalog rows. "Haven't seen it" is
not stored: the caller (the web page, the terminal loop) keeps the films skipped and sends them
with each request, so a skip counts without writing a fake rating.

Choosing a group says "I like films like these": its films are stored as
:data:`GROUP_STARS` ratings the person can change, and folded in as their first signal (films
they rated already keep their rating).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from movierec.engine.answers import MovieRow
from movierec.engine.catalog import Catalog
from movierec.engine.film_groups import FilmGroups
from movierec.engine.hub import ModelHub
from movierec.engine.onboarding import (
    DEFAULT_STRATEGY,
    Answers,
    ElicitationPool,
    elicitor,
)
from movierec.engine.users import Users, WriteResult
from movierec.models import registry
from movierec.validate import check_k

GROUP_STARS = 4.0


@dataclass(frozen=True)
class NextFilms:
    strategy: str
    movies: list[MovieRow]
    rated: int
    skipped: int

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "rated": self.rated,
            "skipped": self.skipped,
            "movies": [m.to_json() for m in self.movies],
        }


class Newcomers:
    """Elicitation over one catalog: the pool and the groups are built once, on first use."""

    def __init__(self, catalog: Catalog, hub: ModelHub, users: Callable[[], Users]):
        self.catalog = catalog
        self.hub = hub
        self._users = users
        self._pool: ElicitationPool | None = None
        self._groups: FilmGroups | None = None
        self._lock = threading.Lock()

    def pool(self) -> ElicitationPool:
        """The films strategies choose from, in the serving model's item space if it has one
        already trained (an SVD of the ratings otherwise: no model is fitted for this)."""
        with self._lock:
            if self._pool is None:
                name = self.hub.serving_model()
                vectors = None
                if registry.resolve(name)[0].embeds_movies and self.hub.is_stored(name):
                    vectors = self.hub.model(name).movie_vectors()
                self._pool = ElicitationPool.build(self.catalog.dataset, vectors)
            return self._pool

    def groups(self) -> FilmGroups:
        pool = self.pool()
        with self._lock:
            if self._groups is None:
                self._groups = FilmGroups.build(pool)
            return self._groups

    def next_films(
        self,
        user_id: int | None = None,
        n: int = 10,
        *,
        strategy: str | None = None,
        skipped: Collection[int] = (),
    ) -> NextFilms:
        """The next ``n`` films to ask ``user_id`` about (their stored ratings and ``skipped``
        count as answers); without a user, a visitor who has rated nothing yet. ``strategy``
        defaults to :data:`~movierec.engine.onboarding.DEFAULT_STRATEGY`."""
        check_k(n)
        strategy = strategy or DEFAULT_STRATEGY
        for movie_id in skipped:
            self.catalog.row(movie_id)  # an unknown id is a 404 naming it
        rated: dict[int, float] = {}
        if user_id is not None:
            rated = {row["movie_id"]: row["rating"] for row in self._users().ratings(user_id)}
        answers = Answers(rated, frozenset(skipped))
        films = elicitor(strategy, self.pool()).next_films(answers, n)
        movies = [self.catalog.movie(int(m)) for m in films]
        return NextFilms(strategy, movies, len(rated), len(answers.skipped))

    def group_rows(self) -> list[dict[str, Any]]:
        """Each group: id, name and its films as catalog rows."""
        return [
            {
                "group_id": group.group_id,
                "name": group.name,
                "movies": [self.catalog.movie(int(m)).to_json() for m in group.movie_ids],
            }
            for group in self.groups().groups
        ]

    def choose_groups(self, user_id: int, group_ids: Collection[int]) -> WriteResult:
        """Store the chosen groups' films as :data:`GROUP_STARS` ratings (all or none), except
        films the user has rated already, and fold them in."""
        films = self.groups().films_of(list(group_ids))
        users = self._users()
        known = {row["movie_id"] for row in users.ratings(user_id)}
        rows = [(int(m), GROUP_STARS) for m in dict.fromkeys(films.tolist()) if m not in known]
        if not rows:
            return WriteResult(user_id, 0, 0, False, 0.0, notes=["every film already rated"])
        return users.rate(user_id, rows)
