"""Each user's rated movies *with their ratings*, for online models that read ratings back.

The base class keeps every user's seen movies (a CSR from ``fit`` plus an overlay of the
users an online fold-in changed). The chart and the content model also need the rating of
each seen movie after ``fit`` — the chart to take a user's old ratings out of the movies'
sums when their history changes, the content model to rebuild a taste profile — so they keep
``_seen_ratings`` parallel to ``_seen_indices`` and an overlay parallel to the base one.

An overlay entry is one ``(movies, ratings)`` tuple, published by a single assignment, so a
reader never pairs one history's movies with another's ratings.
"""

from __future__ import annotations

import numpy as np

from movierec.models.online import OnlineRecommender


class RatedHistory(OnlineRecommender):
    """Seen movies and their ratings per user, with fold-in input checks shared by the
    online models that are not factor models."""

    _seen_ratings: np.ndarray | None = None
    movie_votes: np.ndarray | None = None  # ratings per movie index, float64

    def _start_history(self, ratings: np.ndarray) -> None:
        """After ``fit`` or ``load``: the ratings parallel to the base class's seen lists."""
        self._seen_ratings = np.asarray(ratings, dtype=np.float32)
        self._rated_overlay: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _history(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's rated movies (indices, ascending) and their ratings."""
        folded = self._rated_overlay.get(user)
        if folded is not None:
            return folded
        lo, hi = self._seen_indptr[user], self._seen_indptr[user + 1]
        return self._seen_indices[lo:hi], self._seen_ratings[lo:hi]

    def _set_history(self, user: int, movies: np.ndarray, ratings: np.ndarray) -> None:
        movies = movies.astype(np.int32)
        self._rated_overlay[user] = (movies, ratings.astype(np.float32))
        self._seen_overlay[user] = movies

    def _replace_history(
        self, user_id: int, user: int | None, movies: np.ndarray, ratings: np.ndarray
    ) -> None:
        """A fold-in that only records the history: votes move, a new user's id comes last.

        For models whose scores follow from the history alone (``movie_votes``: per movie
        index, float64); takes what :meth:`_user_input` returned.
        """
        old = movies[:0] if user is None else self._history(user)[0]
        user = len(self.users) if user is None else user
        if not self.movie_votes.flags.writeable:  # a loaded array may be read-only
            self.movie_votes = self.movie_votes.copy()
        self.movie_votes[old] -= 1  # both index arrays are free of repeats
        self.movie_votes[movies] += 1
        self._set_history(user, movies, ratings)
        if user == len(self.users):
            self.users.add(np.array([user_id], np.int64))  # last: the history is in place

    def _seen_ratings_array(self) -> np.ndarray:
        """Ratings parallel to :meth:`_seen_arrays`' indices, the overlay merged in."""
        indptr, indices = self._seen_arrays()
        overlay = dict(self._rated_overlay)
        if not overlay:
            return self._seen_ratings
        n_base = len(self._seen_indptr) - 1
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        offsets = np.arange(len(indices)) - indptr[rows]
        out = np.empty(len(indices), np.float32)
        kept = (rows < n_base) & ~np.isin(rows, np.fromiter(overlay, np.int64, len(overlay)))
        out[kept] = self._seen_ratings[self._seen_indptr[rows[kept]] + offsets[kept]]
        for user, (_, ratings) in overlay.items():
            out[indptr[user] : indptr[user + 1]] = ratings
        return out

    def _add_to_raters(self, movie: int, users: np.ndarray, ratings: np.ndarray) -> None:
        """A new movie (the largest index) joins each rater's history, order kept."""
        for user, rating in zip(users.tolist(), ratings.tolist(), strict=True):
            movies, values = self._history(user)
            self._set_history(
                user, np.append(movies, np.int32(movie)), np.append(values, np.float32(rating))
            )
