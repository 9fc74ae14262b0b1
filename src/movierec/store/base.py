"""The ratings-store contract, stated once; every backend inherits these docstrings.

A store holds, for each dataset name, what changed since the base dataset was loaded: new
ratings, users and movies, plus the hashes of users' API tokens. Models are fitted from
:class:`~movierec.data.dataset.Dataset` objects; the store is what makes a rating given through
the command line or the service survive a crash, and what a full retrain reads back.

Guarantees every backend keeps (the shared test suite in ``tests/store`` checks them):

* **validated before written**: a bad rating, or one bad row of a batch, raises before anything
  is written, naming the field (and the row) and what is allowed;
* **durable when acknowledged**: when a write method returns, the data is on disk (SQLite:
  WAL with ``synchronous=FULL``; PostgreSQL: ``synchronous_commit=on``);
* **one sequence per dataset**: every rating write gets the next number, dense and in commit
  order (writes to one dataset are serialised), so ``changes_since(s)`` is exact and a reader
  that saw ``last_seq() == s`` has seen every write up to ``s``;
* **thread-safe**: one store object may be shared by threads (each thread gets its own
  connection, closed by :meth:`RatingStore.close`); a forked child opens fresh connections
  rather than reuse its parent's.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Self

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, RatingScale

logger = logging.getLogger(__name__)

#: A row for :meth:`RatingStore.add_ratings`: (user_id, movie_id, rating[, timestamp]).
RatingRow = tuple[int, int, float] | tuple[int, int, float, int | None]


class RatingStore(ABC):
    """Durable ratings, users and movies of one dataset, in a database shared by several."""

    #: The dataset name every read and write is scoped to.
    dataset: str

    # --- set-up --------------------------------------------------------------------------------

    @abstractmethod
    def initialise(self, dataset: Dataset, *, scale: RatingScale | None = None) -> int:
        """Load the base dataset's catalog, users, rating scale and ratings, once.

        Idempotent, so every start of the service can call it: when this dataset name is
        already initialised nothing is read or written and 0 is returned. The load is one
        transaction (bulk ``executemany`` / ``COPY``), so a crash leaves no half-loaded dataset.

        Args:
            dataset: the base data; duplicate (user, movie) pairs keep the newest timestamp.
            scale: the rating scale, when the dataset has none (catalog-only sources).

        Returns:
            The number of ratings inserted (0 when already initialised).

        Raises:
            StoreError: neither ``scale`` nor ``dataset.scale`` is given.
        """

    @abstractmethod
    def is_initialised(self) -> bool:
        """Whether :meth:`initialise` has run for this dataset (in any process)."""

    @abstractmethod
    def scale(self) -> RatingScale:
        """The rating scale new ratings are checked against.

        Raises:
            StoreError: the dataset is not initialised.
        """

    # --- writes --------------------------------------------------------------------------------

    @abstractmethod
    def add_rating(
        self, user_id: int, movie_id: int, rating: float, timestamp: int | None = None
    ) -> int:
        """Store one rating durably; a user never seen before is registered on the way.

        An existing (user, movie) rating is replaced unless it carries a newer timestamp than
        this one (equal timestamps: the later write wins), so replaying an old export cannot
        undo a fresh rating. Either way the write gets a sequence number.

        Args:
            user_id: any non-negative 32-bit id.
            movie_id: a movie of the catalog (base or added by :meth:`add_movie`).
            rating: on the scale and its step (3.7 is refused on a half-star scale).
            timestamp: seconds since the epoch; None means now.

        Returns:
            The write's sequence number, higher than every earlier write's.

        Raises:
            InvalidRatingError: a bad value, naming the field and what is allowed.
            UnknownMovieError: the movie is not in the catalog.
            StoreError: the dataset is not initialised.
            StoreUnavailableError: the database is locked past the busy timeout, or down.
        """

    @abstractmethod
    def add_ratings(self, rows: Iterable[RatingRow] | pd.DataFrame) -> int:
        """Store a batch of ratings in one transaction: all of them, or none.

        Rows are applied in order with :meth:`add_rating`'s rules and get consecutive sequence
        numbers. A frame needs ``user_id``, ``movie_id``, ``rating`` and optionally
        ``timestamp`` columns.

        Returns:
            The sequence number of the batch's last write (``last_seq()`` if it was empty).

        Raises:
            InvalidRatingError: naming the first bad row (0-based) and field; nothing written.
            UnknownMovieError: naming the first row with an unknown movie; nothing written.
        """

    @abstractmethod
    def add_user(self, user_id: int | None = None, **demographics: str | int | float | None) -> int:
        """Register a user, with optional demographics (``age``, ``gender``, ``occupation``…).

        Args:
            user_id: the id to take; None takes the next id above every known user.
            **demographics: JSON scalars, stored as given.

        Returns:
            The user's id.

        Raises:
            IdTakenError: the id is already taken.
            InvalidValueError: a negative or non-integer id, or a non-scalar demographic.
        """

    @abstractmethod
    def add_movie(
        self, movie_id: int | None, title: str, year: int | None = None, genres: Iterable[str] = ()
    ) -> int:
        """Add a movie to the catalog, so it can be rated and shows in :meth:`new_movies`.

        Args:
            movie_id: the id to take; None takes the next id above every known movie.

        Returns:
            The movie's id.

        Raises:
            IdTakenError: the id is already taken.
            InvalidValueError: a bad id, an empty title, a genre containing ``|``.
        """

    @abstractmethod
    def set_user_token_hash(self, user_id: int, token_hash: str) -> None:
        """Store the hash of a user's API token, replacing any earlier one.

        Only a hash ever reaches the store (the service hashes tokens before calling), so a
        leaked database gives nobody a usable token.

        Raises:
            UnknownUserError: the user is not registered.
            InvalidValueError: an empty hash or one with whitespace.
        """

    # --- reads ---------------------------------------------------------------------------------

    @abstractmethod
    def has_user(self, user_id: int) -> bool:
        """Whether the user is known: in the base dataset, added, or having rated."""

    @abstractmethod
    def has_movie(self, movie_id: int) -> bool:
        """Whether the movie is in the catalog (base or added)."""

    @abstractmethod
    def user_ratings(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(movie ids int32, ratings float32) of one user, by movie id: a fold-in's input.

        Raises:
            UnknownUserError: the user is not known (a known user without ratings gets empty
                arrays).
        """

    @abstractmethod
    def movie_ratings(self, movie_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(user ids int32, ratings float32) of one movie, by user id.

        Raises:
            UnknownMovieError: the movie is not in the catalog.
        """

    @abstractmethod
    def all_ratings(self) -> pd.DataFrame:
        """Every current rating, as ``Dataset.ratings`` (same columns and dtypes), sorted by
        (user, movie): what a full retrain fits on."""

    @abstractmethod
    def new_movies(self) -> pd.DataFrame:
        """Movies added after :meth:`initialise`: ``movie_id``, ``title``, ``year`` (nullable
        Int16) and ``genres`` (lists), by movie id, for joining onto the base catalog."""

    @abstractmethod
    def user_demographics(self, user_id: int) -> dict[str, Any]:
        """The demographics stored for a user (empty when none were given).

        Raises:
            UnknownUserError: the user is not known.
        """

    @abstractmethod
    def user_token_hash(self, user_id: int) -> str | None:
        """The stored token hash of a user, or None when none was set or the user is unknown."""

    @abstractmethod
    def last_seq(self) -> int:
        """The sequence number of the latest rating write (0 right after :meth:`initialise`)."""

    def changes_since(self, seq: int) -> int:
        """How many rating writes came after sequence number ``seq``: what the retrain policy
        compares with its threshold. Re-ratings count as writes too."""
        return max(0, self.last_seq() - int(seq))

    @abstractmethod
    def changed_since(self, seq: int) -> pd.DataFrame:
        """The (user, movie) pairs whose current rating was written after ``seq``, with that
        write's ``seq``: what a restarted engine folds in again after loading a model fitted at
        ``seq``."""

    # --- life cycle ----------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Close every connection this store opened (from any thread); idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
