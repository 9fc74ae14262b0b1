"""Online fold-in for the factor models: one user's or one movie's row re-solved in place.

A fold-in hands the model a row's complete history (the engine reads it from the ratings
store) and re-solves that row's factors and bias with the other side fixed — Rendle &
Schmidt-Thieme, "Online-updating regularized kernel matrix factorization models for
large-scale recommender systems", RecSys 2008. For ALS this is exactly the training step, so
a folded-in user is the user training would have produced against these movie factors; for
SGD matrix factorisation the model chooses its counterpart (:mod:`movierec.models.mf`). The
solve is one numba kernel call on the row's ratings (no Python loop over them): the
closed-form ridge solve of one row with the other side fixed
(:func:`~movierec.models.ridge.ridge_solve`, the very kernel ALS trains with), in
:meth:`OnlineFactorModel._solve_user` and :meth:`OnlineFactorModel._solve_movie`.

Growth and sharing, so that a stream of new users stays cheap and readers stay safe:

* Arrays are written only in buffers this module owns. The first write after ``fit`` or
  ``load`` copies (arrays over 16 MB are loaded memory-mapped read-only, and fitted arrays
  may be shared); a buffer that is full is replaced by one of twice the capacity, so n new
  users cost O(n) copying in all, not O(n²).
* The model's arrays are views of the first rows of those buffers. A new row is written
  beyond the published views, then the views are replaced (one reference for the user
  factors, one for the user biases, one :class:`~movierec.models.factors.ItemSide` for every
  per-movie array), and only then is the id added to the id map. A reader therefore finds a
  new id only once its row is complete, and never gets per-movie arrays of mixed lengths.
* Re-solving a row that readers already see writes it in place: a reader scoring that very
  user may see a row half old, half new (one request, one user — the engine serialises
  writes and the contract allows concurrent reads of *other* users); for a known movie the
  same holds for that one movie's score in other users' rankings.

Vote counts follow the seen lists: ``fold_in_user`` replaces a user's seen movies with the
new history and moves each movie's count by the difference, so shrinkage sees every rating
once. ``global_mean`` (and the model's offset) stay as trained.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np

from movierec.models.base import RatingConfig
from movierec.models.factors import FactorModel, ItemSide, row_lengths, unit_rows
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.models.ridge import ridge_solve

_MIN_CAPACITY = 16  # rows a grown buffer holds at least


class FixedSide(NamedTuple):
    """The side a one-row solve holds fixed: its factors and biases, one row per index."""

    factors: np.ndarray
    bias: np.ndarray


class Penalty(NamedTuple):
    """A one-row solve's ridge penalty on the factors and on the bias, and whether both
    scale with the row's rating count (as SGD's penalty, applied once per rating, does)."""

    factors: float
    bias: float
    scaled: bool


def reserve(current: np.ndarray, buffer: np.ndarray | None, needed: int) -> np.ndarray:
    """A writable buffer whose first rows equal ``current``, with room for ``needed`` rows.

    Args:
        current: the published rows (possibly read-only, possibly a view of ``buffer``).
        buffer: the buffer owned so far; ``None`` before the first write.
        needed: rows the caller is about to use.
    """
    if buffer is not None and len(buffer) >= needed:
        return buffer
    n = len(current)
    capacity = n if buffer is None and needed <= n else max(needed, 2 * n, _MIN_CAPACITY)
    grown = np.zeros((capacity, *current.shape[1:]), current.dtype)
    grown[:n] = current
    return grown


def write_rows(
    current: np.ndarray, buffer: np.ndarray | None, start: int, rows: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``rows`` over ``current`` from row ``start`` on; the one write step of a fold-in.

    The rows go into a buffer the caller owns (reserved by :func:`reserve`), beyond the
    published ``current`` when they are new, and the caller then publishes the returned view
    by one assignment. The rule that keeps readers safe: publish every array a new row
    reaches before the id, and add a new id to the id map last, so a reader that finds the id
    finds its rows complete. A row readers already see is written in place (see the module
    notes).

    Args:
        current: the published array (possibly read-only, possibly a view of ``buffer``).
        buffer: the caller's buffer for this array; ``None`` before the first write.
        start: the first row written; rows past the end of ``current`` are appended.
        rows: the rows, stacked; one row may come alone (a number, for a 1-D array).

    Returns:
        The buffer to keep for the next write, and the view of it to publish.
    """
    rows = np.asarray(rows, current.dtype).reshape(-1, *current.shape[1:])
    n = max(len(current), start + len(rows))
    buffer = reserve(current, buffer, n)
    buffer[start : start + len(rows)] = rows
    return buffer, buffer[:n]


class OnlineFactorModel(FactorModel, OnlineRecommender):
    """A factor model that folds in users and movies (contract: :class:`OnlineRecommender`).

    Subclasses say which penalty a one-row solve uses (:meth:`_fold_in_reg`), so a folded-in
    user or movie is regularised as the trained ones were. They may override
    :meth:`_fold_in_row` to solve a row other than by the exact ridge solve of
    :meth:`_solve_user` / :meth:`_solve_movie`, and a non-linear model overrides
    :meth:`_solve_row`, whose closed form assumes the identity link.
    """

    places_new_movies: ClassVar[bool] = True

    def __init__(self, config: RatingConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self._user_buffers: tuple[np.ndarray, np.ndarray] | None = None
        self._item_buffers: ItemSide | None = None

    def _installed(self) -> None:
        self._user_buffers = None
        self._item_buffers = None

    # --- the rows a fold-in writes ------------------------------------------------------------

    def _learn_user(self, row: FoldIn) -> None:
        vector, bias = self._fold_in_row(row.idx, row.ratings, item=False)
        self._write_user(row.index, vector, bias)

    def _learn_movie(self, row: FoldIn) -> None:
        vector, bias = self._fold_in_row(row.idx, row.ratings, item=True)
        movie = row.index
        n = max(len(self._side), movie + 1)
        rows = self._item_rows(n)
        rows.factors[movie] = vector
        rows.bias[movie] = bias
        rows.unit[movie] = unit_rows(vector)
        rows.lengths[movie] = row_lengths(vector[None, :])[0]
        if row.new:
            rows.votes[movie] = len(row.idx)
        self._items = rows.head(n)

    def _writable_votes(self) -> np.ndarray:
        return self._item_rows(len(self._side)).votes

    # --- what a subclass may change -----------------------------------------------------------

    def _fold_in_row(
        self, idx: np.ndarray, ratings: np.ndarray, *, item: bool
    ) -> tuple[np.ndarray, float]:
        """A user's (or, with ``item``, a movie's) factors and bias from sorted, unique
        indices of the other side and their ratings; the exact ridge solve by default."""
        return self._solve(idx, ratings, item=item)

    # --- one-row solves (the base of online fold-in) ------------------------------------------

    @abstractmethod
    def _fold_in_reg(self, item: bool = False) -> Penalty:
        """The penalty of a user's (or, with ``item``, a movie's) one-row solve."""

    def _fixed_side(self, item: bool) -> FixedSide:
        """What a user's (or, with ``item``, a movie's) solve holds fixed: the other side."""
        if item:
            return FixedSide(self.user_factors, self.user_bias)
        items = self._side
        return FixedSide(items.factors, items.bias)

    def _solve_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, float]:
        """A user's factors and bias from their (movie index, rating) pairs, items fixed.

        The exact ridge minimiser of that user's squared error under the model's penalty
        (:meth:`_fold_in_reg`); for ALS this is precisely the user step of training.
        """
        return self._solve(movie_idx, ratings, item=False)

    def _solve_movie(self, user_idx: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, float]:
        """A movie's factors and bias from its (user index, rating) pairs, users fixed.

        The item step of ALS for one movie, under the item-side penalty.
        """
        return self._solve(user_idx, ratings, item=True)

    def _solve(
        self, idx: np.ndarray, ratings: np.ndarray, *, item: bool
    ) -> tuple[np.ndarray, float]:
        """:meth:`_solve_row` of one user's (or movie's) row, once its input is checked."""
        self._check_fitted()
        fixed = self._fixed_side(item)
        name = "user_idx" if item else "movie_idx"
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        values = np.ascontiguousarray(ratings, dtype=np.float64)
        if idx.shape != values.shape or idx.ndim != 1:
            raise ValueError(
                f"{name} and ratings must be 1-d and of one length, got "
                f"{idx.shape} and {values.shape}"
            )
        if len(idx) and (idx.min() < 0 or idx.max() >= len(fixed.bias)):
            raise ValueError(f"{name} must lie in 0..{len(fixed.bias) - 1}")
        return self._solve_row(fixed, idx, values, self._fold_in_reg(item))

    def _solve_row(
        self, fixed: FixedSide, idx: np.ndarray, ratings: np.ndarray, reg: Penalty
    ) -> tuple[np.ndarray, float]:
        """One row's factors (float32) and bias against a fixed side: the ridge minimiser."""
        vector, bias = ridge_solve(
            fixed.factors, fixed.bias, idx, ratings, self.offset, reg.factors, reg.bias, reg.scaled
        )
        return vector.astype(np.float32), float(bias)

    # --- growth -------------------------------------------------------------------------------

    def _write_user(self, user: int, vector: np.ndarray, bias: float) -> None:
        """Write one user's row (appending when ``user`` is the next index) and publish."""
        factors, biases = self._user_buffers or (None, None)
        factors, new_factors = write_rows(self.user_factors, factors, user, vector)
        biases, new_bias = write_rows(self.user_bias, biases, user, bias)
        self._user_buffers = (factors, biases)
        self.user_factors, self.user_bias = new_factors, new_bias

    def _item_rows(self, needed: int) -> ItemSide:
        """Writable per-movie buffers with room for ``needed`` movies (copy-on-write, growth).

        When the buffers change, the published arrays are re-pointed at them (same rows,
        same content), so later in-place writes reach readers.
        """
        buffers = self._item_buffers
        if buffers is None or len(buffers) < needed:
            items = self._side
            grown = {
                field.name: reserve(
                    getattr(items, field.name),
                    None if buffers is None else getattr(buffers, field.name),
                    needed,
                )
                for field in dataclasses.fields(ItemSide)
            }
            buffers = self._item_buffers = ItemSide(**grown)
            self._items = buffers.head(len(items))
        return buffers
