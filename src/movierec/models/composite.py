"""What a model made of other online models does the same way, whatever it does with them.

The hybrid (a blend of ranking scores) and the rating blend (a blend of predicted ratings)
both fold a user or a movie in by folding it into every part, let the parts count the votes,
and save each part in a folder of its own beside their own arrays. That is written once here;
a composite says which classes its parts may be (:meth:`Composite._part_class`).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from movierec.models.online import FoldIn, OnlineRecommender


class Composite(OnlineRecommender):
    """An online model whose ``parts`` (fitted online models) do the learning of fold-ins."""

    parts: list[Any]  # the fitted parts, in the order the config names them

    @abstractmethod
    def _part_names(self) -> list[str]:
        """The registry names of the parts, in ``parts`` order."""

    @abstractmethod
    def _part_class(self, name: str) -> type[OnlineRecommender]:
        """The class of the part called ``name`` (refusing a class the composite cannot use)."""

    @property
    def movie_votes(self) -> np.ndarray | None:
        """Ratings per movie, as the parts count them (the first part that does)."""
        for part in self.parts:
            votes = part.movie_votes
            if votes is not None:
                return votes
        return None

    @movie_votes.setter
    def movie_votes(self, votes: np.ndarray | None) -> None:
        raise AttributeError(f"a {self.kind}'s votes are its parts': fold the ratings into them")

    def _learn_user(self, row: FoldIn) -> None:
        ids = self.movies.ids[row.idx]
        for part in self.parts:  # input checked: none of them can fail half-way
            part.fold_in_user(row.raw_id, ids, row.ratings)

    def _learn_movie(self, row: FoldIn) -> None:
        ids = self.users.ids[row.idx]
        for part in self.parts:
            part.fold_in_movie(row.raw_id, ids, row.ratings)

    def _move_votes(
        self,
        old: tuple[np.ndarray, np.ndarray | None],
        new: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """The parts count the votes (``movie_votes`` is theirs)."""

    def _save_parts(self, folder: Path) -> None:
        for name, part in zip(self._part_names(), self.parts, strict=True):
            part.save(folder / "parts" / name)

    def _load_parts(self, folder: Path) -> None:
        self.parts = [
            self._part_class(name).load(folder / "parts" / name) for name in self._part_names()
        ]
