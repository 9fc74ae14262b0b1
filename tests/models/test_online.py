"""Online fold-in of the factor models: the math, vote counts, growth, copy-on-write, threads.

The behaviour every online model shares is in the conformance suite; this module checks what
is particular to the factor models' implementation (:mod:`movierec.models.foldin`).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time

import numpy as np
import pytest

import movierec.models.artifact as artifact
from movierec.data.synthetic import generate
from movierec.errors import UnknownMovieError, UnknownUserError
from movierec.models.als import ALS
from movierec.models.mf import BoundedMatrixFactorization, MatrixFactorization
from movierec.models.ridge import ridge_solve
from tests.models.test_als_fit import planted


@pytest.fixture(scope="module")
def synthetic():
    return generate(300, 200, 6000, seed=1)


def history(data, user_id):
    rows = data.ratings[data.ratings["user_id"] == user_id]
    return rows["movie_id"].to_numpy(), rows["rating"].to_numpy()


def without_users(data, user_ids):
    keep = ~data.ratings["user_id"].isin(user_ids)
    return dataclasses.replace(data, ratings=data.ratings[keep].reset_index(drop=True))


# --- the solves -----------------------------------------------------------------------------


def test_als_fold_in_of_a_trained_user_returns_their_factors(synthetic):
    model = ALS(n_factors=16, n_iterations=5).fit(synthetic)
    for user_id in (1, 150, 300):
        user = model.users.index(user_id)
        stored = model.user_factors[user].copy(), float(model.user_bias[user])
        model.fold_in_user(user_id, *history(synthetic, user_id))
        np.testing.assert_allclose(model.user_factors[user], stored[0], atol=1e-5)
        assert float(model.user_bias[user]) == pytest.approx(stored[1], abs=1e-5)


def test_als_fold_in_movie_is_one_item_step(synthetic):
    model = ALS(n_factors=8, n_iterations=5).fit(synthetic)
    users = np.array([3, 17, 40, 41, 250])
    scores = np.array([4.5, 1.0, 3.0, 5.0, 2.5])
    model.fold_in_movie(9999, users, scores)
    idx = model.users.indices(users)
    expected, bias = ridge_solve(
        model.user_factors, model.user_bias, idx, scores, model.offset, 12.0, 2.0, False
    )
    movie = model.movies.index(9999)
    np.testing.assert_allclose(model.item_factors[movie], expected, atol=1e-5)
    assert float(model.item_bias[movie]) == pytest.approx(bias, abs=1e-5)
    unit = model._unit_items[movie]
    np.testing.assert_allclose(unit, expected / np.linalg.norm(expected), atol=1e-5)
    lengths = model._side.lengths  # what taste ranking reads: kept in step with the factors
    np.testing.assert_allclose(lengths, np.linalg.norm(model.item_factors, axis=1), rtol=1e-5)


def test_als_fold_in_predicts_held_out_ratings_as_well_as_a_retrain():
    data, (users, movies, truth) = planted(n_users=200, seed=5)
    new = np.arange(1, 21)  # 10% of the users, folded in after training without them
    kwargs = {"n_factors": 3, "reg": 0.05, "reg_bias": None, "scale_reg": True}
    full = ALS(**kwargs).fit(data)
    online = ALS(**kwargs).fit(without_users(data, new))
    for user_id in new:
        online.fold_in_user(user_id, *history(data, user_id))
    mine = np.isin(users, new)
    error = [
        np.sqrt(np.mean((m.predict(users[mine], movies[mine]) - truth[mine]) ** 2))
        for m in (full, online)
    ]
    assert error[1] < 1.05 * error[0], error


def test_mf_sgd_fold_in_replays_training_updates_by_hand():
    data, _ = planted(n_users=40, n_movies=30, seed=6)
    model = MatrixFactorization(n_factors=3, n_epochs=7, lr_all=0.01, reg_bu=0.05).fit(data)
    movie_ids, ratings = np.array([5, 2, 9, 30]), np.array([4.0, 2.0, 5.0, 3.5])
    model.fold_in_user(777, movie_ids, ratings)
    order = np.argsort(model.movies.indices(movie_ids))  # replayed in movie-index order
    q = model.item_factors[model.movies.indices(movie_ids)].astype(np.float64)[order]
    c = model.item_bias[model.movies.indices(movie_ids)].astype(np.float64)[order]
    x, b = np.zeros(3), 0.0
    for _ in range(7):
        for qj, cj, r in zip(q, c, ratings[order], strict=True):
            err = r - (model.offset + b + cj + x @ qj)
            b += 0.01 * (err - 0.05 * b)
            x = x + 0.01 * (err * qj - 0.02 * x)
    user = model.users.index(777)
    np.testing.assert_allclose(model.user_factors[user], x, atol=1e-5)
    assert float(model.user_bias[user]) == pytest.approx(b, abs=1e-5)


def test_mf_ridge_fold_in_is_the_count_scaled_ridge_solve(synthetic):
    model = MatrixFactorization(n_factors=6, n_epochs=10, fold_in="ridge").fit(synthetic)
    movie_ids, ratings = history(synthetic, 42)
    expected = model._solve_user(model.movies.indices(movie_ids), ratings)
    model.fold_in_user(42, movie_ids, ratings)
    user = model.users.index(42)
    np.testing.assert_allclose(model.user_factors[user], expected[0], atol=1e-6)
    with pytest.raises(ValueError, match="fold_in"):
        MatrixFactorization(fold_in="exact")


def test_bounded_movie_fold_in_minimises_its_objective(synthetic):
    model = BoundedMatrixFactorization(n_factors=3, n_epochs=20, fold_in="ridge").fit(synthetic)
    users, ratings = np.array([1, 5, 9, 60, 61, 200]), np.array([5.0, 4.0, 1.0, 2.0, 4.5, 3.0])
    model.fold_in_movie(4242, users, ratings)
    movie, idx = model.movies.index(4242), model.users.indices(users)
    p, c = model.user_factors[idx].astype(np.float64), model.user_bias[idx]

    def objective(y: np.ndarray, b: float) -> float:
        predicted = model.bounds[1] / (1 + np.exp(-(model.offset + c + b + p @ y)))
        return float(np.sum((ratings - predicted) ** 2) + len(users) * 0.02 * (y @ y + b * b))

    y, b = model.item_factors[movie].astype(np.float64), float(model.item_bias[movie])
    best = objective(y, b)
    for step in np.random.default_rng(0).normal(scale=1e-2, size=(20, 4)):
        assert objective(y + step[:3], b + step[3]) >= best - 1e-6


def test_a_new_user_with_no_ratings_gets_the_prior(synthetic):
    model = ALS(n_factors=4, n_iterations=3).fit(synthetic)
    model.fold_in_user(9000, [], [])
    user = model.users.index(9000)
    assert not model.user_factors[user].any() and model.user_bias[user] == 0
    votes = model.movie_votes.astype(np.float64)
    quality = model.item_bias * votes / (votes + model.config.prior_votes)
    np.testing.assert_array_equal(  # an empty taste ranks by the shrunk item bias alone
        model.recommend(9000, k=5).movie_ids,
        model.movies.ids[np.argsort(-quality, kind="stable")[:5]],
    )


# --- seen lists and vote counts -------------------------------------------------------------


def test_votes_and_seen_lists_follow_a_changed_history(synthetic, tmp_path):
    model = ALS(n_factors=4, n_iterations=3).fit(synthetic)
    votes = np.asarray(model.movie_votes).copy()
    old_ids, _ = history(synthetic, 7)
    new_ids = np.r_[old_ids[2:], np.setdiff1d(synthetic.catalog["movie_id"], old_ids)[:3]]
    model.fold_in_user(7, new_ids, np.full(len(new_ids), 4.0))
    expected = votes.copy()
    expected[model.movies.indices(old_ids)] -= 1
    expected[model.movies.indices(new_ids)] += 1
    np.testing.assert_array_equal(model.movie_votes, expected)
    seen = model.history(7)[0]
    np.testing.assert_array_equal(seen, np.sort(model.movies.indices(new_ids)))
    model.fold_in_user(9001, new_ids[:4], np.full(4, 3.0))  # a new user adds one vote each
    expected[model.movies.indices(new_ids[:4])] += 1
    np.testing.assert_array_equal(model.movie_votes, expected)
    model.save(tmp_path / "m")
    loaded = ALS.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.movie_votes, expected)
    for user_id in model.users.ids.tolist():
        np.testing.assert_array_equal(loaded.history(user_id)[0], model.history(user_id)[0])


def test_refit_forgets_folded_in_state(synthetic):
    model = ALS(n_factors=4, n_iterations=3).fit(synthetic)
    model.fold_in_movie(9999, [1, 2], [5.0, 4.0])
    model.fold_in_user(9000, [9999], [5.0])
    model.fit(synthetic)
    assert 9000 not in model.users and 9999 not in model.movies
    assert model._seen_lists.to_csr()[0] is model._seen_lists.indptr  # nothing folded in
    assert model._user_buffers is None
    assert len(model.movie_votes) == len(model.movies) == len(model.item_factors)


# --- growth and sharing ---------------------------------------------------------------------


def test_new_users_grow_the_arrays_by_doubling(synthetic):
    model = MatrixFactorization(n_factors=4, n_epochs=5).fit(synthetic)
    buffers = set()
    for user_id in range(10_000, 11_000):
        model.fold_in_user(user_id, [1, 2, 3], [4.0, 2.0, 5.0])
        buffers.add(id(model._user_buffers[0]))
    assert len(buffers) <= 4, len(buffers)  # 300 → 600 → 1200 rows (and the first copy)
    assert len(model.user_factors) == len(model.user_bias) == len(model.users) == 1300
    for user_id in range(20_000, 20_100):
        model.fold_in_movie(user_id, [1, 2], [4.0, 5.0])
    assert len(model.item_factors) == len(model.movie_votes) == len(model.movies) == 300


def test_memory_mapped_arrays_are_copied_before_the_first_write(synthetic, tmp_path, monkeypatch):
    model = ALS(n_factors=4, n_iterations=3).fit(synthetic)
    model.save(tmp_path / "m")
    monkeypatch.setattr(artifact, "_MMAP_BYTES", 0)  # memory-map every array, read-only
    loaded = ALS.load(tmp_path / "m")
    assert not loaded.user_factors.flags.writeable and not loaded.item_factors.flags.writeable
    before = loaded.predict([1, 2], [3, 4])
    loaded.fold_in_user(1, [5, 6, 7], [5.0, 1.0, 3.0])
    loaded.fold_in_user(5000, [5, 6], [5.0, 1.0])
    loaded.fold_in_movie(3, [1, 2, 3], [1.0, 2.0, 5.0])
    loaded.fold_in_movie(7000, [2, 3], [4.0, 4.0])
    assert loaded.user_factors.flags.writeable
    again = ALS.load(tmp_path / "m")  # the files are as saved
    np.testing.assert_allclose(again.predict([1, 2], [3, 4]), before, atol=1e-6)
    assert 5000 not in again.users and 7000 not in again.movies


def test_a_new_id_is_published_only_after_its_rows(synthetic):
    """The order that makes concurrent reads safe, checked at the moment an id is added."""
    model = ALS(n_factors=4, n_iterations=3).fit(synthetic)
    complete = []

    def watch(id_map, ready):
        add = id_map.add

        def checked_add(ids):
            complete.append(ready(len(id_map)))
            return add(ids)

        id_map.add = checked_add

    watch(
        model.users,
        lambda n: (
            len(model.user_factors) > n
            and len(model.user_bias) > n
            and model._seen_lists.is_changed(n)
            and bool(model.user_factors[n].any())
        ),
    )
    watch(model.movies, lambda n: len(model._items) > n and bool(model._items.unit[n].any()))
    model.fold_in_movie(9999, [1, 2, 3], [5.0, 4.0, 1.0])
    model.fold_in_user(9000, [1, 2, 9999], [5.0, 4.0, 1.0])
    assert complete == [True, True]


def test_readers_run_beside_a_writer_that_grows_the_model(synthetic):
    """Readers of other users never see a half-built row or arrays of mixed lengths."""
    model = ALS(n_factors=8, n_iterations=3, shrink_votes=5.0).fit(synthetic)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    stop, errors = threading.Event(), []
    candidates = np.r_[np.arange(1, 50), np.arange(50_000, 50_200)]

    def read() -> None:
        rng = np.random.default_rng(threading.get_ident() % 1000)
        try:
            while not stop.is_set():
                user = int(rng.integers(1, 301))
                model.recommend(user, k=10)
                model.recommend(user, k=5, candidates=candidates)
                model.predict([user, user], [1, 2])
                model.similar_movies(int(rng.integers(1, 201)), k=5)
                model.most_appreciated(k=5)
                newest_user, newest_movie = model.users.ids[-1], model.movies.ids[-1]
                try:  # an id being added may be unknown an instant longer, never half-built
                    model.recommend(newest_user, k=5)
                    model.similar_movies(newest_movie, k=5)
                    model.predict([newest_user], [newest_movie])
                except (UnknownUserError, UnknownMovieError):
                    pass
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    try:
        for thread in readers:
            thread.start()
        rng = np.random.default_rng(0)
        for step in range(300):
            movie_id = 50_000 + step
            model.fold_in_movie(movie_id, rng.choice(300, 5, replace=False) + 1, np.full(5, 4.0))
            picks = np.r_[rng.choice(200, 8, replace=False) + 1, movie_id]
            model.fold_in_user(60_000 + step, picks, rng.uniform(1, 5, len(picks)))
            time.sleep(0)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert len(model.movies) == len(model.item_factors) == 500
    assert len(model.users) == len(model.user_factors) == 600


@pytest.mark.bench
def test_fold_in_takes_well_under_a_millisecond():
    """200 ratings at 128 factors; the p50/p99 table is bench/online.py's."""
    data = generate(2000, 3000, 200_000, seed=2)
    model = ALS(n_factors=128, n_iterations=1).fit(data)
    rng = np.random.default_rng(0)
    movie_ids = rng.choice(data.catalog["movie_id"].to_numpy(), 200, replace=False)
    ratings = rng.uniform(1, 5, 200)
    model.fold_in_user(1, movie_ids, ratings)
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        model.fold_in_user(1, movie_ids, ratings)
        timings.append(time.perf_counter() - started)
    assert np.median(timings) < 1e-3, np.median(timings)
