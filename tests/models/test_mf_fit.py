"""SGD matrix factorisation and its bounded variant: the math, fold-in solves, taste ranking and
accuracy on ml-100k (the shared contract is in test_mf.py and test_mf_bounded.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.models.als import ALS
from movierec.models.mf import (
    BoundedMatrixFactorization,
    BoundedMFConfig,
    MatrixFactorization,
    MFConfig,
)
from movierec.models.ridge import ridge_solve
from tests.models.test_als_fit import ml100k_80_20


def frame(rows: list[tuple[int, int, float]], movies: list[int] | None = None) -> Dataset:
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    ratings["timestamp"] = 0
    ids = movies or sorted(ratings["movie_id"].unique())
    catalog = pd.DataFrame({"movie_id": ids, "title": [f"m{m}" for m in ids]})
    return Dataset("tiny", catalog, ratings, None, FIVE_STARS, "test")


def random_ratings(n_users=40, n_movies=30, density=0.5, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_movies)) < density
    u, m = np.nonzero(mask)
    taste = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_movies))
    r = np.clip(np.round(3.5 + taste[u, m]), 1, 5)
    return frame(list(zip(u + 1, m + 1, r, strict=True)))


def test_defaults_are_surprises():
    cfg = MFConfig()
    assert (cfg.n_factors, cfg.n_epochs, cfg.lr_all, cfg.reg_all) == (100, 20, 0.005, 0.02)
    assert (cfg.init_mean, cfg.init_std, cfg.biased) == (0.0, 0.1, True)
    np.testing.assert_allclose(
        MFConfig(lr_bi=0.5, reg_qi=0.1).rates(), [0.005, 0.5, 0.005, 0.005, 0.02, 0.02, 0.02, 0.1]
    )


def test_one_epoch_matches_surprises_update_by_hand():
    """Two ratings of one user, factors all 0.1 (std 0), one pass in user-grouped order."""
    model = MatrixFactorization(
        n_factors=2, n_epochs=1, init_mean=0.1, init_std=0.0, shuffle=False
    ).fit(frame([(1, 10, 5.0), (1, 20, 1.0)]))
    lr, reg, mu = 0.005, 0.02, 3.0
    # rating 5 on movie 10: dot = 2·0.1·0.1
    err = 5.0 - (mu + 0.02)
    bu = lr * err
    bi10 = lr * err
    pu = 0.1 + lr * (err * 0.1 - reg * 0.1)
    q10 = 0.1 + lr * (err * 0.1 - reg * 0.1)  # from the OLD p_u = 0.1, not the new one
    # rating 1 on movie 20, with the updated user
    err = 1.0 - (mu + bu + 0.0 + 2 * pu * 0.1)
    bu, bi20 = bu + lr * (err - reg * bu), lr * err
    pu, q20 = pu + lr * (err * 0.1 - reg * pu), 0.1 + lr * (err * pu - reg * 0.1)
    np.testing.assert_allclose(model.user_bias, [bu], atol=1e-7)
    np.testing.assert_allclose(model.item_bias, [bi10, bi20], atol=1e-7)
    np.testing.assert_allclose(model.user_factors, [[pu, pu]], atol=1e-7)
    np.testing.assert_allclose(model.item_factors, [[q10, q10], [q20, q20]], atol=1e-7)
    assert model.offset == pytest.approx(mu)


def test_predict_is_the_biased_dot_product_clipped_to_the_scale():
    data = random_ratings()
    model = MatrixFactorization(n_factors=4, n_epochs=30, rank_by="rating").fit(data)
    users, movies = np.array([1, 2, 3, 40]), np.array([1, 5, 9, 30])
    u, m = model.users.indices(users), model.movies.indices(movies)
    raw = (
        model.global_mean
        + model.user_bias[u]
        + model.item_bias[m]
        + np.sum(model.user_factors[u] * model.item_factors[m], axis=1)
    )
    np.testing.assert_allclose(model.predict(users, movies), np.clip(raw, 1, 5), atol=1e-5)
    np.testing.assert_allclose(
        model.recommend(1, k=30, exclude_seen=False).scores.max(), model._user_scores(0).max()
    )


def test_unbiased_is_plain_dot_product():
    model = MatrixFactorization(n_factors=4, n_epochs=5, biased=False).fit(random_ratings())
    assert model.offset == 0.0 and not model.user_bias.any() and not model.item_bias.any()


def test_shuffle_changes_the_path_not_the_quality():
    data = random_ratings(seed=3)
    a = MatrixFactorization(n_factors=4, n_epochs=50, lr_all=0.01, shuffle=True).fit(data)
    b = MatrixFactorization(n_factors=4, n_epochs=50, lr_all=0.01, shuffle=False).fit(data)
    assert not np.allclose(a.user_factors, b.user_factors)
    truth = data.ratings["rating"].to_numpy()
    errors = [
        np.sqrt(
            np.mean((m.predict(data.ratings["user_id"], data.ratings["movie_id"]) - truth) ** 2)
        )
        for m in (a, b)
    ]
    assert abs(errors[0] - errors[1]) < 0.05


def test_unrated_movies_score_as_unknown_items():
    data = frame([(1, 1, 5.0), (2, 1, 4.0), (1, 2, 2.0)], movies=[1, 2, 3])
    model = MatrixFactorization(n_factors=3, n_epochs=5).fit(data)
    assert not model.item_factors[2].any() and model.item_bias[2] == 0
    similar = dict(model.similar_movies(1, k=2))
    assert similar[3] == 0.0 and similar[2] != 0.0


def test_bounded_predictions_stay_within_zero_and_the_top_rating():
    model = BoundedMatrixFactorization(n_factors=4, n_epochs=50, lr_all=0.05).fit(random_ratings())
    assert np.all(model._link(np.array([-1e3, -5.0, 0.0, 5.0, 1e3])) <= 5.0)
    assert np.all(model._link(np.array([-50.0, 0.0, 50.0])) > 0.0)
    users = np.repeat(np.arange(1, 41), 30)
    movies = np.tile(np.arange(1, 31), 40)
    predicted = model.predict(users, movies)
    assert predicted.min() >= 1.0 and predicted.max() <= 5.0
    assert predicted.std() > 0.3  # it learned something, not just the mean


def test_bounded_offset_starts_at_the_logit_of_the_mean():
    model = BoundedMatrixFactorization(n_factors=2, n_epochs=1, lr_all=1e-9).fit(random_ratings())
    ratio = model.global_mean / 5.0
    assert model.offset == pytest.approx(np.log(ratio / (1 - ratio)), abs=1e-4)
    assert isinstance(model.config, BoundedMFConfig)


def test_most_appreciated_follows_item_biases():
    data = random_ratings(seed=1)
    model = MatrixFactorization(n_factors=4, n_epochs=40).fit(data)
    ranking = model.most_appreciated(k=5)
    expected = model.movies.ids[np.argsort(-model.item_bias, kind="stable")[:5]]
    np.testing.assert_array_equal(ranking.movie_ids, expected)
    subset = model.most_appreciated(k=2, candidates=np.array([3, 4, 5]))
    assert set(subset.movie_ids) <= {3, 4, 5} and len(subset) == 2


def test_shrink_votes_moves_a_barely_rated_movie_down():
    rows = [(u, m, 4.0) for u in range(1, 31) for m in (1, 2, 3)]
    rows += [(u, 4, 1.0) for u in range(1, 31)]  # a disliked movie pulls the mean down
    rows += [(1, 9, 5.0)]  # movie 9: one perfect vote
    data = frame(rows)
    plain = MatrixFactorization(n_factors=2, n_epochs=200, lr_all=0.02, rank_by="rating").fit(data)
    shrunk = MatrixFactorization(
        n_factors=2, n_epochs=200, lr_all=0.02, shrink_votes=20, rank_by="rating"
    ).fit(data)
    assert plain.recommend(2, k=1, exclude_seen=False).movie_ids[0] == 9
    order = list(shrunk.recommend(2, k=5, exclude_seen=False).movie_ids)
    assert order.index(9) == 3 and order[-1] == 4
    assert list(shrunk.most_appreciated(k=5).movie_ids[3:]) == [9, 4]


def test_solve_user_is_the_count_scaled_ridge_minimiser():
    model = MatrixFactorization(n_factors=4, n_epochs=20).fit(random_ratings())
    idx, ratings = np.array([0, 3, 7, 11]), np.array([5.0, 4.0, 1.0, 2.0])
    vector, bias = model._solve_user(idx, ratings)
    q = model.item_factors[idx].astype(np.float64)
    design = np.c_[q, np.ones(len(idx))]
    target = ratings - model.offset - model.item_bias[idx]
    penalty = len(idx) * np.diag([0.02] * 4 + [0.02])
    expected = np.linalg.solve(design.T @ design + penalty, design.T @ target)
    np.testing.assert_allclose(np.r_[vector, bias], expected, atol=1e-5)
    with pytest.raises(ValueError, match="movie_idx"):
        model._solve_user(np.array([10_000]), np.array([3.0]))


def test_bounded_solve_user_minimises_its_objective():
    model = BoundedMatrixFactorization(n_factors=3, n_epochs=30, lr_all=0.05).fit(random_ratings())
    idx, ratings = np.array([1, 2, 5, 8, 13, 21]), np.array([5.0, 4.0, 1.0, 2.0, 4.0, 3.0])

    def objective(x: np.ndarray, b: float) -> float:
        z = model.offset + model.item_bias[idx] + b + model.item_factors[idx] @ x
        residual = ratings - 5.0 / (1 + np.exp(-z))
        return float(residual @ residual + len(idx) * 0.02 * (x @ x + b * b))

    x, b = model._solve_user(idx, ratings)
    x = x.astype(np.float64)
    best = objective(x, b)
    rng = np.random.default_rng(0)
    for _ in range(20):
        step = rng.normal(scale=1e-2, size=4)
        assert objective(x + step[:3], b + step[3]) >= best - 1e-9


def test_ridge_solve_matches_numpy_with_and_without_scaling():
    rng = np.random.default_rng(5)
    fixed, bias = rng.normal(size=(12, 3)), rng.normal(size=12)
    idx, ratings = np.array([0, 4, 5, 9, 11]), rng.uniform(1, 5, 5)
    for scaled in (True, False):
        x, b = ridge_solve(fixed, bias, idx, ratings, 3.0, 0.3, 0.1, scaled)
        design = np.c_[fixed[idx], np.ones(5)]
        s = 5 if scaled else 1
        expected = np.linalg.solve(
            design.T @ design + s * np.diag([0.3, 0.3, 0.3, 0.1]),
            design.T @ (ratings - 3.0 - bias[idx]),
        )
        np.testing.assert_allclose(np.r_[x, b], expected, atol=1e-10)
    x, b = ridge_solve(fixed, bias, idx[:0], ratings[:0], 3.0, 0.3, 0.1, True)
    assert not x.any() and b == 0.0


def test_divergence_is_a_clear_error():
    with pytest.raises(ValueError, match="diverged"):
        MatrixFactorization(n_factors=4, n_epochs=50, lr_all=5.0).fit(random_ratings())


def test_state_round_trips_with_biases_and_bounds(tmp_path):
    model = BoundedMatrixFactorization(n_factors=3, n_epochs=10).fit(random_ratings())
    model.save(tmp_path / "m")
    loaded = BoundedMatrixFactorization.load(tmp_path / "m")
    assert loaded.offset == pytest.approx(model.offset) and loaded.bounds == model.bounds
    assert loaded.global_mean == pytest.approx(model.global_mean)
    np.testing.assert_array_equal(loaded.movie_votes, model.movie_votes)
    np.testing.assert_array_equal(
        loaded.most_appreciated(k=5).movie_ids, model.most_appreciated(k=5).movie_ids
    )


@pytest.mark.slow
def test_accuracy_on_ml100k_matches_surprise():
    """One 80/20 split (seed 0): measured 0.9293 (mf) and 0.9304 (mf-bounded).

    Surprise's SVD averages 0.936 over the 5 Surprise-identical folds, ours 0.934.
    """
    train, test = ml100k_80_20()
    for model, bound in ((MatrixFactorization(), 0.945), (BoundedMatrixFactorization(), 0.945)):
        model.fit(train)
        predicted = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
        rmse = np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2))
        assert rmse < bound, (model.kind, rmse)


def two_tastes():
    """Fans of movies 1–5 who dislike 6–10, fans of 6–10 who dislike 1–5, and hits 11–13 that
    everyone rates 5★ (the largest item biases)."""
    rows = []
    for u in range(1, 41):
        liked, disliked = (
            ((1, 2, 3, 4, 5), (6, 7, 8, 9, 10)) if u <= 20 else ((6, 7, 8, 9, 10), (1, 2, 3, 4, 5))
        )
        rows += [(u, m, 5.0) for m in liked] + [(u, m, 1.0) for m in disliked]
        rows += [(u, m, 5.0) for m in (11, 12, 13)]
    return frame(rows)


@pytest.mark.parametrize("model_class", [MatrixFactorization, ALS])
def test_taste_ranking_follows_a_newcomer_and_leaves_predict_alone(model_class):
    data = two_tastes()
    by_taste = model_class(n_factors=4, seed=1).fit(data)
    by_rating = model_class(n_factors=4, seed=1, rank_by="rating").fit(data)
    np.testing.assert_array_equal(
        by_taste.predict([1, 30], [2, 2]), by_rating.predict([1, 30], [2, 2])
    )
    for model in (by_taste, by_rating):
        model.fold_in_user(901, [1, 6], [5.0, 1.0])  # likes the first taste
        model.fold_in_user(902, [1, 6], [1.0, 5.0])  # the second
    first = set(by_taste.recommend(901, k=3).movie_ids.tolist())
    second = set(by_taste.recommend(902, k=3).movie_ids.tolist())
    assert first <= {2, 3, 4, 5, 11, 12, 13} and second <= {7, 8, 9, 10, 11, 12, 13}
    assert first & {2, 3, 4, 5} and second & {7, 8, 9, 10}
    # ranked by predicted rating, the hits' biases win for both newcomers
    assert set(by_rating.recommend(901, k=3).movie_ids.tolist()) == {11, 12, 13}


def test_taste_ranking_of_a_user_with_no_ratings_is_the_shrunk_bias_chart():
    model = MatrixFactorization(n_factors=4).fit(two_tastes())
    model.fold_in_user(903, [], [])
    top = model.recommend(903, k=3).movie_ids
    assert set(top.tolist()) == {11, 12, 13}


def test_blocks_on_a_diagonal_share_no_user_and_no_movie():
    from movierec.models._mfkernels import block_order
    from movierec.models.mf import _equal_stripes

    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 2_000).astype(np.int32)
    items = rng.integers(0, 40, 2_000).astype(np.int32)
    ratings = rng.random(2_000).astype(np.float32)
    user_stripe = _equal_stripes(np.bincount(users, minlength=50), 3)
    item_stripe = _equal_stripes(np.bincount(items, minlength=40), 3)
    us, its, rs, offsets = block_order(users, items, ratings, user_stripe, item_stripe, 3)
    kept = sorted(zip(us, its, rs, strict=True))
    assert kept == sorted(zip(users, items, ratings, strict=True))  # all kept, once
    for block in range(9):
        at = slice(offsets[block], offsets[block + 1])
        assert set(user_stripe[us[at]]) <= {block // 3} and set(item_stripe[its[at]]) <= {block % 3}
        mine = users[(user_stripe[users] == block // 3) & (item_stripe[items] == block % 3)]
        assert list(us[at]) == list(mine)  # the given order within a block
    assert 400 < np.diff(offsets[::3]).min()  # stripes of about equal rating counts


@pytest.mark.slow
def test_training_on_threads_is_as_accurate_and_does_not_depend_on_timing():
    """Blocks of users × movies on two threads: the same RMSE as Surprise's one order (within
    0.3%), and the same factors whichever thread runs first."""
    train, test = ml100k_80_20()
    one = MatrixFactorization(threads=1).fit(train)
    two = MatrixFactorization(threads=2).fit(train)
    again = MatrixFactorization(threads=2).fit(train)
    np.testing.assert_array_equal(two.item_factors, again.item_factors)
    assert not np.array_equal(one.item_factors, two.item_factors)  # the blocks did train
    users, movies = test["user_id"].to_numpy(), test["movie_id"].to_numpy()
    rmse = [np.sqrt(np.mean((m.predict(users, movies) - test["rating"]) ** 2)) for m in (one, two)]
    assert rmse[1] == pytest.approx(rmse[0], rel=0.003), rmse
