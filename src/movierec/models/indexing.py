"""What every fitted model is indexed by: its id maps, its seen lists, its training data.

Raw ids live at a model's public methods and dense indices inside: one
:class:`~movierec.data.IdMap` per axis turns one into the other, and
:class:`~movierec.models.seen.SeenLists` holds what each user rated. ``fit`` builds them first
(:meth:`Indexed._index_dataset`) and ``load`` restores them first (:meth:`Indexed._set_index`);
until then the model is not fitted, and reading them raises
:class:`~movierec.errors.NotFittedError`.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.data.idmap import IdMap
from movierec.errors import NotFittedError, UnknownMovieError, UnknownUserError
from movierec.models.seen import SeenLists

_T = TypeVar("_T")


class Indexed:
    """The id maps, seen lists and training fingerprint of a model (the base of
    :class:`~movierec.models.base.Recommender`)."""

    #: the seen lists keep each seen movie's rating, for models that read ratings after fit
    keeps_ratings: ClassVar[bool] = False

    def __init__(self) -> None:
        self._index_users: IdMap | None = None
        self._index_movies: IdMap | None = None
        self._index_seen: SeenLists | None = None  # what each user rated (and, kept, how)
        self._fingerprint: str | None = None
        self._fitted_on: Dataset | None = None

    @property
    def users(self) -> IdMap:
        """The users' raw ids; a user's dense index is their position here.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        return self._fitted(self._index_users)

    @property
    def movies(self) -> IdMap:
        """The movies' raw ids; a movie's dense index is its position here (the order of
        :meth:`~movierec.models.base.Recommender.scores`).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        return self._fitted(self._index_movies)

    @property
    def _seen_lists(self) -> SeenLists:
        """Each user's seen movies (and their ratings where ``keeps_ratings``)."""
        return self._fitted(self._index_seen)

    @_seen_lists.setter
    def _seen_lists(self, seen: SeenLists) -> None:
        self._index_seen = seen

    @property
    def fingerprint(self) -> str | None:
        """Content hash of the training data; computed on first use, not on every fit."""
        if self._fingerprint is None and self._fitted_on is not None:
            self._fingerprint, self._fitted_on = self._fitted_on.fingerprint(), None
        return self._fingerprint

    @fingerprint.setter
    def fingerprint(self, value: str | None) -> None:
        self._fingerprint, self._fitted_on = value, None

    def _index_dataset(self, data: Dataset, *, require_ratings: bool = True) -> sp.csr_matrix:
        """Build the id maps and seen lists from ``data``; returns ratings' CSR (users × movies).

        Args:
            data: the training data.
            require_ratings: refuse a dataset without ratings (every model but content-based
                similarity needs them).
        """
        if not isinstance(data, Dataset):
            raise ValueError(f"fit needs a Dataset, got {type(data).__name__}")
        matrix, users, movies = data.rating_matrix()
        if require_ratings and matrix.nnz == 0:
            raise ValueError(f"fit needs ratings; dataset {data.name!r} has none")
        self._set_index(
            users, movies, SeenLists.from_matrix(matrix, keep_ratings=self.keeps_ratings)
        )
        self._fingerprint, self._fitted_on = None, data
        return matrix

    def _set_index(self, users: IdMap, movies: IdMap, seen: SeenLists) -> None:
        """Install the id maps and seen lists (``fit`` builds them, ``load`` reads them)."""
        self._index_users, self._index_movies, self._index_seen = users, movies, seen

    def _user_index(self, user_id: int) -> int:
        try:
            return self.users.index(user_id)
        except (KeyError, TypeError):
            raise UnknownUserError(user_id) from None

    def _movie_index(self, movie_id: int) -> int:
        try:
            return self.movies.index(movie_id)
        except (KeyError, TypeError):
            raise UnknownMovieError(movie_id) from None

    def _check_fitted(self) -> None:
        if self._index_movies is None:
            raise self._not_fitted()

    def _fitted(self, state: _T | None) -> _T:
        """``state``, learned by ``fit`` or restored by ``load``; NotFittedError while unset."""
        if state is None:
            raise self._not_fitted()
        return state

    def _not_fitted(self) -> NotFittedError:
        return NotFittedError(f"{type(self).__name__} is not fitted: call fit() or load()")
