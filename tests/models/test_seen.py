"""The seen lists and the books every fold-in keeps, tested once for every online model.

:class:`SeenLists` holds what each user rated; :class:`OnlineRecommender` moves vote counts,
replaces seen lists and publishes new ids last. The models only write what they learn, so
these checks, on a toy model that learns nothing, cover the bookkeeping of all of them; the
conformance suite checks each model's fold-ins from the outside.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pytest
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.models.seen import SeenLists
from tests.models.conformance import checkerboard


def matrix(rows: list[list[tuple[int, float]]], n_movies: int = 8) -> sp.csr_matrix:
    """A users × movies CSR from each user's (movie, rating) pairs."""
    users = [u for u, row in enumerate(rows) for _ in row]
    movies = [m for row in rows for m, _ in row]
    ratings = [r for row in rows for _, r in row]
    return sp.csr_matrix((ratings, (users, movies)), shape=(len(rows), n_movies), dtype=np.float32)


BASE = [[(1, 5.0), (3, 2.0)], [], [(0, 4.0), (2, 3.5), (7, 1.0)]]


@pytest.fixture(params=[True, False], ids=["with ratings", "movies only"])
def lists(request) -> SeenLists:
    return SeenLists.from_matrix(matrix(BASE), keep_ratings=request.param)


def test_lists_read_the_csr_until_a_user_changes(lists):
    np.testing.assert_array_equal(lists.get(0), [1, 3])
    assert len(lists.get(1)) == 0
    movies, ratings = lists.history(2)
    np.testing.assert_array_equal(movies, [0, 2, 7])
    if lists.keeps_ratings:
        np.testing.assert_array_equal(ratings, np.float32([4.0, 3.5, 1.0]))
    else:
        assert ratings is None
    assert not lists.is_changed(0)
    indptr, indices, kept = lists.to_csr()
    assert indptr is lists.indptr and indices is lists.indices and kept is lists.ratings


def test_a_replaced_list_wins_and_a_new_user_is_the_next_row(lists):
    lists.replace(0, np.array([2, 5]), np.array([1.0, 4.0]))
    lists.replace(3, np.array([6]), np.array([2.0]))  # a new user
    assert lists.is_changed(0) and lists.is_changed(3) and not lists.is_changed(2)
    np.testing.assert_array_equal(lists.get(0), [2, 5])
    movies, ratings = lists.history(3)
    assert movies.dtype == np.int32
    if lists.keeps_ratings:
        assert ratings.dtype == np.float32 and ratings.tolist() == [2.0]
    np.testing.assert_array_equal(lists.get(2), [0, 2, 7])  # the CSR's, untouched


def test_a_new_movie_joins_its_raters_lists_last(lists):
    lists.replace(0, np.array([2, 5]), np.array([1.0, 4.0]))
    lists.add_movie(8, np.array([0, 1]), np.array([3.0, 5.0]))
    np.testing.assert_array_equal(lists.get(0), [2, 5, 8])
    np.testing.assert_array_equal(lists.get(1), [8])
    if lists.keeps_ratings:
        assert lists.history(0)[1].tolist() == [1.0, 4.0, 3.0]
        assert lists.history(1)[1].tolist() == [5.0]


def test_the_merged_csr_is_the_lists_as_they_are_now(lists):
    rng = np.random.default_rng(0)
    expected = {u: dict(row) for u, row in enumerate(BASE)}
    for user in (2, 0, 4, 3, 0):  # changed, new (4 before 3), changed again
        movies = np.sort(rng.choice(9, size=rng.integers(0, 5), replace=False))
        ratings = rng.integers(1, 6, len(movies)).astype(float)
        lists.replace(user, movies, ratings)
        expected[user] = dict(zip(movies.tolist(), ratings.tolist(), strict=True))
    lists.add_movie(9, np.array([1, 3]), np.array([2.0, 4.0]))
    expected[1][9], expected[3][9] = 2.0, 4.0
    indptr, indices, ratings = lists.to_csr()
    assert len(indptr) == 6 and indices.dtype == np.int32
    for user, row in expected.items():
        lo, hi = indptr[user], indptr[user + 1]
        assert indices[lo:hi].tolist() == sorted(row)
        if ratings is None:
            assert not lists.keeps_ratings
        else:
            assert ratings[lo:hi].tolist() == [row[m] for m in sorted(row)]
    reloaded = SeenLists(indptr, indices, ratings)  # what a save and a load give back
    for user in expected:
        for a, b in zip(reloaded.history(user), lists.history(user), strict=True):
            np.testing.assert_array_equal(a, b)


def test_lists_that_keep_ratings_need_them():
    lists = SeenLists.from_matrix(matrix(BASE), keep_ratings=True)
    with pytest.raises(ValueError, match="ratings"):
        lists.replace(0, np.array([1]))
    bare = SeenLists.from_matrix(matrix(BASE), keep_ratings=False).with_ratings(np.arange(5.0))
    assert bare.keeps_ratings and bare.history(2)[1].tolist() == [2.0, 3.0, 4.0]


# --- the books of OnlineRecommender, on a model that learns nothing ---------------------------


class Tally(OnlineRecommender):
    """Scores are vote counts: whatever a fold-in changes is the bookkeeping alone."""

    kind = "test-tally"
    keeps_ratings = True

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data)
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(float)
        return self

    def _user_scores(self, user: int) -> np.ndarray:
        return self.movie_votes

    def _similar_scores(self, movie: int) -> np.ndarray:
        return -np.abs(self.movie_votes - self.movie_votes[movie])

    def _state(self) -> dict[str, np.ndarray]:
        return {"movie_votes": self.movie_votes}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.movie_votes = arrays["movie_votes"]

    def _learn_movie(self, row: FoldIn) -> None:
        if row.new:
            self.movie_votes = np.append(self.movie_votes[: row.index], float(len(row.idx)))


def watch_publication(id_map, ready) -> list[bool]:
    """Record ``ready(n)`` at each moment an id is added, ``n`` the index it will get."""
    seen, add = [], id_map.add

    def checked_add(ids):
        seen.append(ready(len(id_map)))
        return add(ids)

    id_map.add = checked_add
    return seen


def test_a_history_moves_the_votes_by_the_difference():
    model = Tally().fit(checkerboard())
    before = model.movie_votes.copy()
    model.movie_votes.flags.writeable = False  # as a memory-mapped, loaded array is
    model.fold_in_user(103, [1000, 1003], [5.0, 1.0])  # had all but 1003
    expected = before - 1
    expected[model.movies.indices([1000, 1003])] = before[model.movies.indices([1000, 1003])]
    expected[model.movies.index(1003)] += 1
    np.testing.assert_array_equal(model.movie_votes, expected)
    movies, ratings = model.history(103)
    assert model.movies.ids[movies].tolist() == [1000, 1003] and ratings.tolist() == [5.0, 1.0]


def test_a_new_user_is_published_after_their_list_and_votes():
    model = Tally().fit(checkerboard())
    votes = model.movie_votes[model.movies.index(1004)]
    ready = watch_publication(
        model.users,
        lambda n: (
            model._seen_lists.is_changed(n)
            and model.movies.ids[model._seen_lists.get(n)].tolist() == [1004, 1010]
            and model.movie_votes[model.movies.index(1004)] == votes + 1
        ),
    )
    model.fold_in_user(500, [1010, 1004], [2.0, 4.0])
    assert ready == [True] and 500 in model.users
    assert model.history(500)[1].tolist() == [4.0, 2.0]  # sorted by movie, ratings follow


def test_a_new_movie_is_published_after_its_arrays_then_joins_its_raters():
    model = Tally().fit(checkerboard())
    ready = watch_publication(model.movies, lambda n: len(model.movie_votes) == n + 1)
    model.fold_in_movie(2000, [102, 101], [3.0, 5.0])
    assert ready == [True]
    assert model.movie_votes[model.movies.index(2000)] == 2
    for user_id, rating in ((101, 5.0), (102, 3.0)):
        movies, ratings = model.history(user_id)
        assert movies[-1] == model.movies.index(2000) and ratings[-1] == rating
    model.fold_in_movie(2000, [103], [4.0])  # known: nothing moves, the raters' lists neither
    assert model.movie_votes[model.movies.index(2000)] == 2
    assert model.movies.index(2000) not in model.history(103)[0]


def test_bad_input_changes_nothing():
    model = Tally().fit(checkerboard())
    votes = model.movie_votes.copy()
    with pytest.raises(ValueError, match="movie_ids"):
        model.fold_in_user(500, [1000, 1000], [4.0, 5.0])
    with pytest.raises(ValueError, match="user_ids"):
        model.fold_in_movie(2000, [100, 101], [4.0])
    assert 500 not in model.users and 2000 not in model.movies
    np.testing.assert_array_equal(model.movie_votes, votes)


def test_folded_in_books_survive_save_and_load(tmp_path):
    model = Tally().fit(checkerboard())
    model.fold_in_movie(2000, [101], [5.0])
    model.fold_in_user(500, [1000, 2000], [3.0, 4.0])
    model.fold_in_user(100, [1001], [2.0])
    model.save(tmp_path / "tally")
    loaded = Tally.load(tmp_path / "tally")
    for user_id in (100, 101, 500, 111):
        for a, b in zip(model.history(user_id), loaded.history(user_id), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.movie_votes, model.movie_votes)
