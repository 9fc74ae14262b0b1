"""Each user's seen movies (and, for models that read them back, their ratings).

Every model leaves a user's rated movies out of their recommendations; online models also
change a user's list when they fold in a new history, and some (the chart, content, EASE,
iALS, kNN) read the ratings of those movies back after ``fit``. :class:`SeenLists` keeps
both in one place: a CSR from ``fit`` or ``load`` that is never written, plus an overlay of
the users whose history changed since, which wins over the CSR and is merged into it on save.

Readers may run beside one writer (the engine serialises fold-ins). An overlay entry is one
``(movies, ratings)`` tuple published by a single dict assignment, so a reader never pairs one
history's movies with another's ratings, and the CSR arrays are replaced only by ``fit`` or
``load``. Which movie a new index means, and which user a new row belongs to, is the caller's
to publish after the lists are in place (:class:`~movierec.models.online.OnlineRecommender`
adds new ids last).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class SeenLists:
    """Per user (dense index): movie indices ascending, and their ratings when kept.

    Args:
        indptr: CSR row pointers, one row per user.
        indices: movie indices of every row, ascending within a row.
        ratings: the ratings parallel to ``indices`` (kept as float32), or ``None`` for a
            model that keeps only which movies were seen.
    """

    def __init__(
        self, indptr: np.ndarray, indices: np.ndarray, ratings: np.ndarray | None = None
    ) -> None:
        self.indptr = indptr
        self.indices = indices
        self.ratings = None if ratings is None else np.asarray(ratings, dtype=np.float32)
        # user index → (movies, ratings or None): users whose history changed after fit
        self._overlay: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    @classmethod
    def from_matrix(cls, matrix: sp.csr_matrix, *, keep_ratings: bool) -> SeenLists:
        """The lists of a users × movies rating matrix (as ``Dataset.rating_matrix`` gives)."""
        return cls(
            matrix.indptr.astype(np.int64),
            matrix.indices.astype(np.int32),
            matrix.data if keep_ratings else None,
        )

    def with_ratings(self, ratings: np.ndarray) -> SeenLists:
        """These lists (as loaded: nothing changed yet) with ``ratings`` parallel to them."""
        return SeenLists(self.indptr, self.indices, ratings)

    @property
    def keeps_ratings(self) -> bool:
        return self.ratings is not None

    def is_changed(self, user: int) -> bool:
        """Whether the user's list changed since ``fit`` or ``load`` (not the CSR's row)."""
        return user in self._overlay

    def get(self, user: int) -> np.ndarray:
        """The user's seen movie indices, ascending."""
        folded = self._overlay.get(user)
        if folded is not None:
            return folded[0]
        return self.indices[self.indptr[user] : self.indptr[user + 1]]

    def history(self, user: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The user's seen movie indices (ascending) and their ratings (``None`` if not kept)."""
        folded = self._overlay.get(user)
        if folded is not None:
            return folded
        lo, hi = self.indptr[user], self.indptr[user + 1]
        return self.indices[lo:hi], None if self.ratings is None else self.ratings[lo:hi]

    def rated(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`history` from lists that keep ratings (a ValueError from lists that do not)."""
        movies, ratings = self.history(user)
        if ratings is None:
            raise ValueError("these seen lists keep no ratings")
        return movies, ratings

    def replace(self, user: int, movies: np.ndarray, ratings: np.ndarray | None = None) -> None:
        """Make ``movies`` (ascending, no repeats) the user's list; a new user is the next row.

        The ratings are kept only when the lists keep ratings (then they are required).
        """
        values = None
        if self.ratings is not None:
            if ratings is None:
                raise ValueError("these seen lists keep ratings: give the history's ratings")
            values = np.asarray(ratings, dtype=np.float32)
        self._overlay[user] = (np.asarray(movies, dtype=np.int32), values)

    def add_movie(self, movie: int, users: np.ndarray, ratings: np.ndarray | None = None) -> None:
        """A new movie (the largest index so far) joins each rater's list, order kept."""
        values = [None] * len(users) if ratings is None else ratings.tolist()
        for user, rating in zip(users.tolist(), values, strict=True):
            movies, kept = self.history(user)
            if kept is not None:
                kept = np.append(kept, np.float32(rating))
            self.replace(user, np.append(movies, np.int32(movie)), kept)

    def stacked(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, movie indices, ratings) of these users' lists, one row each in the order
        given, from lists that keep ratings."""
        parts = [self.rated(u) for u in users.tolist()]
        indptr = np.zeros(len(parts) + 1, np.int64)
        np.cumsum([len(movies) for movies, _ in parts], out=indptr[1:])
        if not parts:
            return indptr, np.empty(0, np.int32), np.empty(0, np.float32)
        return (
            indptr,
            np.concatenate([movies for movies, _ in parts]).astype(np.int32),
            np.concatenate([ratings for _, ratings in parts]),
        )

    def to_csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Every user's list as one CSR (indptr, indices, ratings or ``None``), overlay merged.

        Rows follow user indices; users added by a fold-in are the rows past the CSR's.
        """
        overlay = dict(self._overlay)  # one C-level copy: a fold-in may add keys meanwhile
        if not overlay:
            return self.indptr, self.indices, self.ratings
        n_base = len(self.indptr) - 1
        n_users = max(n_base, max(overlay) + 1)
        lengths = np.zeros(n_users, np.int64)
        lengths[:n_base] = np.diff(self.indptr)
        folded = np.fromiter(overlay, np.int64, len(overlay))
        lengths[folded] = [len(overlay[u][0]) for u in folded.tolist()]
        indptr = np.zeros(n_users + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        rows = np.repeat(np.arange(n_base), np.diff(self.indptr))
        keep = ~np.isin(rows, folded)
        offsets = np.arange(len(rows)) - self.indptr[rows]
        target = indptr[rows[keep]] + offsets[keep]
        indices = np.empty(indptr[-1], np.int32)
        indices[target] = self.indices[keep]
        ratings = None
        if self.ratings is not None:
            ratings = np.empty(indptr[-1], np.float32)
            ratings[target] = self.ratings[keep]
        for user in folded.tolist():
            movies, values = overlay[user]
            indices[indptr[user] : indptr[user + 1]] = movies
            if ratings is not None:
                ratings[indptr[user] : indptr[user + 1]] = values
        return indptr, indices, ratings
