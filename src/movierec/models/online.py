"""The online capability: absorb a new user, movie or rating without a retrain.

A model declares it with ``supports_online = True`` by deriving from
:class:`OnlineRecommender`, which states the contract once; the factor models implement it in
:mod:`movierec.models.foldin`. The input checks every implementation runs at its entry point
live here too, so each model rejects the same mistakes with the same messages.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from movierec.data.idmap import IdMap
from movierec.errors import UnknownMovieError, UnknownUserError
from movierec.models.base import Recommender
from movierec.validate import is_int, require


class OnlineRecommender(Recommender):
    """A recommender that absorbs new users, movies and ratings without a retrain.

    After each stored rating the engine reads the *complete* current history of the user
    (or movie) from the ratings store and hands it over; the model re-solves only that row
    with everything else fixed (Rendle & Schmidt-Thieme, RecSys 2008). Passing the whole
    history rather than the one new rating makes a fold-in idempotent and lets a changed or
    deleted rating take effect the same way a new one does.

    Threads: the engine serialises writes (fold-ins, and saves of an online model, which
    read its arrays); readers (``recommend``, ``predict``, ``similar_movies``) may run
    concurrently with a fold-in of another user or movie. Growing arrays are built aside and
    published by replacing references, and a new id is added to the id map only after its
    rows are in place, so a reader never sees a half-built row or arrays of mixed lengths.
    """

    supports_online: ClassVar[bool] = True
    # Folding a trained user back in with their training ratings returns the very row
    # training stored (ALS: a fold-in is one more user step); else only close to it.
    fold_in_matches_training: ClassVar[bool] = False

    @abstractmethod
    def fold_in_user(
        self, user_id: int, movie_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        """Re-solve one user's taste from their complete history, movies held fixed.

        A user id the model has never seen is appended. The user's seen movies become
        ``movie_ids``, and each movie's vote count follows the change.

        Args:
            user_id: a raw user id, known or new.
            movie_ids: every movie the user has rated, raw ids, no repeats (may be empty).
            ratings: their ratings, one per movie, finite.

        Raises:
            UnknownMovieError: a movie the model does not know (fold it in first).
            ValueError: lengths differ, a rating is not finite, or a movie repeats.
            NotFittedError: before ``fit`` or ``load``.
        """

    @abstractmethod
    def fold_in_movie(
        self, movie_id: int, user_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        """Re-solve one movie's factors from its complete history, users held fixed.

        A movie id the model has never seen is appended, which makes it recommendable and
        findable by ``similar_movies``; it joins each listed user's seen movies and its vote
        count is theirs. A known movie's seen lists and votes follow ``fold_in_user`` (which
        the engine runs for every rating), so re-solving a popular movie costs its solve only.

        Args:
            movie_id: a raw movie id, known or new.
            user_ids: every user who has rated it, raw ids, no repeats (may be empty).
            ratings: their ratings, one per user, finite.

        Raises:
            UnknownUserError: a user the model does not know (fold them in first).
            ValueError: lengths differ, a rating is not finite, or a user repeats.
            NotFittedError: before ``fit`` or ``load``.
        """

    def _user_input(
        self, user_id: object, movie_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> tuple[int, int | None, np.ndarray, np.ndarray]:
        """Checked ``fold_in_user`` input: (raw id, index or None when new, sorted movie
        indices, their ratings); raises as the contract says before anything changes."""
        self._check_fitted()
        user_id = check_id(user_id, "user_id")
        ids, values = check_history(movie_ids, ratings, "movie_ids")
        movies = self.movies.indices(ids, missing="mask")
        if (movies < 0).any():
            raise UnknownMovieError(int(ids[movies < 0][0]))
        movies, values = sorted_unique(movies, values, ids, "movie_ids")
        return user_id, _known(self.users, user_id), movies, values

    def _movie_input(
        self, movie_id: object, user_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> tuple[int, int | None, np.ndarray, np.ndarray]:
        """Checked ``fold_in_movie`` input: (raw id, index or None when new, sorted user
        indices, their ratings)."""
        self._check_fitted()
        movie_id = check_id(movie_id, "movie_id")
        ids, values = check_history(user_ids, ratings, "user_ids")
        users = self.users.indices(ids, missing="mask")
        if (users < 0).any():
            raise UnknownUserError(int(ids[users < 0][0]))
        users, values = sorted_unique(users, values, ids, "user_ids")
        return movie_id, _known(self.movies, movie_id), users, values


def _known(ids: IdMap, raw: int) -> int | None:
    try:
        return ids.index(raw)
    except KeyError:
        return None


def check_id(value: object, name: str) -> int:
    """A raw id must be an integer (not a bool); returns it as an ``int``."""
    require(is_int(value), name, "an integer id", value)
    return int(value)


def check_history(
    ids: np.ndarray | list[int], ratings: np.ndarray | list[float], ids_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a fold-in's (ids, ratings) pair; returns them as int64 and float64 arrays."""
    ids = np.asarray(ids)
    values = np.asarray(ratings)
    if ids.ndim != 1 or values.ndim != 1 or len(ids) != len(values):
        raise ValueError(
            f"{ids_name} and ratings must be 1-d and of one length, got shapes "
            f"{ids.shape} and {values.shape}"
        )
    if len(ids) and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{ids_name} must be integer ids, got dtype {ids.dtype}")
    if len(values) and not (
        np.issubdtype(values.dtype, np.number)
        and not np.issubdtype(values.dtype, np.complexfloating)
    ):
        raise ValueError(f"ratings must be real numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise ValueError(
            f"ratings must be finite, got {bad!r} for {ids_name[:-1]} "
            f"{ids[~np.isfinite(values)][0]!r}"
        )
    return ids.astype(np.int64), values


def sorted_unique(
    idx: np.ndarray, values: np.ndarray, ids: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices in ascending order with their ratings; a repeated id is a ValueError.

    Sorting makes a fold-in independent of the order the store returns a history in (and is
    the order training visits a row's ratings in).
    """
    order = np.argsort(idx, kind="stable")
    idx, values = idx[order], values[order]
    repeats = np.flatnonzero(idx[1:] == idx[:-1])
    if len(repeats):
        raise ValueError(
            f"{name} must not repeat an id; {int(ids[order][repeats[0]])} appears more than once"
        )
    return idx, values
