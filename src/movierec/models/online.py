"""The online capability: absorb a new user, movie or rating without a retrain.

A model declares it by deriving from :class:`OnlineRecommender`, which states the contract
once and does what every online model does the same way: it checks the input, and it keeps
the books a fold-in leaves — vote counts, seen lists, new ids published last. A model writes
only what it learns from a row (:meth:`OnlineRecommender._learn_user`,
:meth:`OnlineRecommender._learn_movie`); the factor models do it in
:mod:`movierec.models.foldin`.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import ClassVar, cast

import numpy as np

from movierec.data.idmap import IdMap
from movierec.errors import UnknownMovieError, UnknownUserError
from movierec.models.base import Recommender
from movierec.validate import is_int, require


@dataclasses.dataclass(frozen=True)
class FoldIn:
    """One checked fold-in: whose row, and its complete history.

    Attributes:
        raw_id: the user's (or movie's) raw id.
        index: its dense index; for a new one, the next free index (the row to append).
        new: the id is not in the model yet.
        idx: dense indices of the other side (the movies a user rated, the users who rated a
            movie), ascending, without repeats.
        ratings: their ratings, float64, parallel to ``idx``.
    """

    raw_id: int
    index: int
    new: bool
    idx: np.ndarray
    ratings: np.ndarray


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

    Input, checked before anything changes: ids are raw ids; the other side's ids come
    without repeats (the list may be empty), with one finite rating each. Otherwise a fold-in
    raises ``ValueError`` naming what is wrong (lengths differ, a rating is not finite, an id
    repeats or is not an integer), an unknown id of the other side raises
    :class:`UnknownUserError` / :class:`UnknownMovieError`, and use before ``fit`` or ``load``
    raises :class:`NotFittedError`.

    Subclasses write :meth:`_learn_user` and :meth:`_learn_movie`, keep ``movie_votes`` (one
    count per movie index), and declare how their fold-ins behave in the flags below.
    """

    #: Folding a trained user back in with their training ratings returns the very scores
    #: training gave them (ALS: a fold-in is one more user step); else only close to them.
    fold_in_matches_training: ClassVar[bool] = False
    #: A movie folded in from its ratings is placed by them: recommended to the users who
    #: like what its raters liked, similar to the movies they rated alike. False: until a
    #: refit it is known, seen by its raters and counted, but its ratings place it nowhere.
    places_new_movies: ClassVar[bool] = False
    #: Every rating, however low, reads as interest in the movie (implicit feedback), so a
    #: folded-in user's dislikes pull up what resembles them. A model whose config decides
    #: it sets it per instance.
    low_ratings_count_as_interest: bool = False
    movie_votes: np.ndarray | None = None

    # --- the public contract ------------------------------------------------------------------

    def fold_in_user(
        self, user_id: int, movie_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        """Re-solve one user's taste from their complete history, movies held fixed.

        A user id the model has never seen is appended. The user's seen movies become
        ``movie_ids``, and each movie's vote count follows the change.

        Args:
            user_id: a raw user id, known or new.
            movie_ids: every movie the user has rated (unknown ones raise
                :class:`UnknownMovieError`: fold them in first).
            ratings: their ratings, one per movie.
        """
        row = self._checked(user_id, movie_ids, ratings, movie=False)
        self._learn_user(row)
        self._record_history(row)

    def fold_in_movie(
        self, movie_id: int, user_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        """Re-solve one movie's factors from its complete history, users held fixed.

        A movie id the model has never seen is appended, which makes it recommendable and
        findable by ``similar_movies``; it joins each listed user's seen movies and its vote
        count is theirs. A known movie's seen lists and votes follow ``fold_in_user`` (which
        the engine runs for every rating), so re-solving a popular movie costs its solve only.
        The arguments are ``movie_id`` (known or new), ``user_ids`` (every user who has rated
        it; unknown ones raise :class:`UnknownUserError`: fold them in first) and their
        ``ratings``.
        """
        row = self._checked(movie_id, user_ids, ratings, movie=True)
        self._learn_movie(row)
        if row.new:
            self._record_new_movie(row)

    # --- what a subclass writes ---------------------------------------------------------------

    def _learn_user(self, row: FoldIn) -> None:  # noqa: B027 - a hook, empty by default
        """Write what the model learns from a user's history into its per-user arrays (a new
        user's row appended beyond the published ones). Models whose scores follow from the
        history alone learn nothing here: the seen lists hold it."""

    @abstractmethod
    def _learn_movie(self, row: FoldIn) -> None:
        """Write what the model learns from a movie's history; for a new movie, publish every
        per-movie array it extends (its vote count, ``len(row.idx)``, included), by replacing
        references. Its id and its raters' seen lists follow (:meth:`_record_new_movie`)."""

    def _writable_votes(self) -> np.ndarray:
        """``movie_votes``, writable in place (copied first if loaded read-only)."""
        votes = self._fitted(self.movie_votes)
        if not votes.flags.writeable:
            votes = self.movie_votes = votes.copy()
        return votes

    def _move_votes(
        self,
        old: tuple[np.ndarray, np.ndarray | None],
        new: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Take a user's old (movies, ratings) out of the per-movie counts, put the new in.

        Both movie arrays are free of repeats; the old ratings are ``None`` where the seen
        lists keep none. A model that counts more than votes (the chart's rating sums) adds
        to this.
        """
        votes = self._writable_votes()
        votes[old[0]] -= 1
        votes[new[0]] += 1

    # --- the books every fold-in keeps --------------------------------------------------------

    def _record_history(self, row: FoldIn) -> None:
        """After a user's rows are written: votes move, the seen list is replaced, and a new
        user's id is published last, so a reader that finds it finds it complete."""
        seen = self._seen_lists
        old = (row.idx[:0], row.ratings[:0]) if row.new else seen.history(row.index)
        self._move_votes(old, (row.idx, row.ratings))
        seen.replace(row.index, row.idx, row.ratings)
        if row.new:
            self.users.add(np.array([row.raw_id], np.int64))

    def _record_new_movie(self, row: FoldIn) -> None:
        """After a new movie's arrays are published: its id, then its raters' seen lists."""
        self.movies.add(np.array([row.raw_id], np.int64))
        self._seen_lists.add_movie(row.index, row.idx, row.ratings)

    def _checked(
        self,
        raw_id: object,
        other_ids: np.ndarray | list[int],
        ratings: np.ndarray | list[float],
        *,
        movie: bool,
    ) -> FoldIn:
        """The fold-in's input, checked as the contract says before anything changes."""
        self._check_fitted()
        own, other = (self.movies, self.users) if movie else (self.users, self.movies)
        name, other_name = ("movie_id", "user_ids") if movie else ("user_id", "movie_ids")
        raw_id = check_id(raw_id, name)
        ids, values = check_history(other_ids, ratings, other_name)
        idx = other.indices(ids, missing="mask")
        if (idx < 0).any():
            raise (UnknownUserError if movie else UnknownMovieError)(int(ids[idx < 0][0]))
        idx, values = sorted_unique(idx, values, ids, other_name)
        index = _known(own, raw_id)
        return FoldIn(raw_id, len(own) if index is None else index, index is None, idx, values)


def _known(ids: IdMap, raw: int) -> int | None:
    try:
        return ids.index(raw)
    except KeyError:
        return None


def check_id(value: object, name: str) -> int:
    """A raw id must be an integer (not a bool); returns it as an ``int``."""
    require(is_int(value), name, "an integer id", value)
    return int(cast(int | np.integer, value))  # is_int: an int or a numpy integer


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
