"""Explicit ALS with biases: exact solves, a planted low-rank matrix, warm starts and accuracy on
ml-100k (the shared contract is in test_als.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.data.sources import load_path
from movierec.models.als import ALS, ALSConfig
from tests.conftest import shared_dataset


def planted(n_users=120, n_movies=90, rank=3, density=0.4, noise=0.1, seed=0):
    """Ratings from μ + b_u + b_i + U·Vᵀ + noise; returns (train, held-out pairs)."""
    rng = np.random.default_rng(seed)
    full = (
        3.0
        + rng.normal(0, 0.3, (n_users, 1))
        + rng.normal(0, 0.3, (1, n_movies))
        + rng.normal(0, 0.6, (n_users, rank)) @ rng.normal(0, 0.6, (rank, n_movies))
        + rng.normal(0, noise, (n_users, n_movies))
    )
    observed = rng.random((n_users, n_movies)) < density
    u, m = np.nonzero(observed)
    train = pd.DataFrame(
        {"user_id": u + 1, "movie_id": m + 1, "rating": full[u, m], "timestamp": 0}
    )
    catalog = pd.DataFrame({"movie_id": np.arange(1, n_movies + 1), "title": "x"})
    data = Dataset("planted", catalog, train, None, None, "test")
    hu, hm = np.nonzero(~observed)
    return data, (hu + 1, hm + 1, full[hu, hm])


def test_recovers_a_planted_low_rank_matrix():
    data, (users, movies, truth) = planted()
    model = ALS(n_factors=3, n_iterations=15, reg=0.05, reg_bias=None, scale_reg=True).fit(data)
    rmse = np.sqrt(np.mean((model.predict(users, movies) - truth) ** 2))
    baseline = np.sqrt(np.mean((data.ratings["rating"].mean() - truth) ** 2))
    assert rmse < 0.3 * baseline, (rmse, baseline)


def test_stored_user_factors_are_exactly_the_one_user_solve():
    """What a fold-in computes for a user equals what training stored for them."""
    data, _ = planted(seed=1)
    model = ALS(n_factors=4, n_iterations=5).fit(data)
    for user_id in (1, 17, 120):
        user = model.users.index(user_id)
        rated = data.ratings[data.ratings["user_id"] == user_id]
        vector, bias = model._solve_user(
            model.movies.indices(rated["movie_id"]), rated["rating"].to_numpy()
        )
        np.testing.assert_allclose(vector, model.user_factors[user], atol=1e-6)
        assert bias == pytest.approx(float(model.user_bias[user]), abs=1e-6)


@pytest.mark.parametrize("scale_reg", [False, True])
def test_cg_sweeps_reach_what_exact_sweeps_reach(scale_reg):
    """Three CG steps per row and sweep, started from the row's last solution, end where exact
    solves end: the same held-out predictions, and the last user step is exact either way."""
    data, (users, movies, _) = planted(seed=4)
    settings = {"n_factors": 3, "n_iterations": 20, "reg": 0.1 if scale_reg else 2.0}
    settings |= {"reg_bias": None, "scale_reg": scale_reg}
    exact = ALS(solver="exact", **settings).fit(data)
    cg = ALS(solver="cg", **settings).fit(data)
    assert cg.config.solver == "cg" and ALSConfig().solver == "cg"
    difference = cg.predict(users, movies) - exact.predict(users, movies)
    assert np.sqrt(np.mean(difference**2)) < 2e-3
    one_step = ALS(solver="cg", cg_steps=1, **settings).fit(data)  # far from converged
    assert np.sqrt(
        np.mean((one_step.predict(users, movies) - exact.predict(users, movies)) ** 2)
    ) > np.sqrt(np.mean(difference**2))


def test_more_sweeps_never_raise_the_training_objective():
    data, _ = planted(seed=2)
    ratings = data.ratings

    def objective(model: ALS) -> float:
        fitted = model.predict(ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy())
        u = model.users.indices(ratings["user_id"])
        m = model.movies.indices(ratings["movie_id"])
        nu, nm = np.bincount(u), np.bincount(m)
        penalty = 0.1 * (
            np.sum(nu * (np.sum(model.user_factors**2, 1) + model.user_bias**2))
            + np.sum(nm * (np.sum(model.item_factors**2, 1) + model.item_bias**2))
        )
        return float(np.sum((ratings["rating"].to_numpy() - fitted) ** 2) + penalty)

    values = [
        objective(
            ALS(n_factors=3, n_iterations=n, reg=0.1, reg_bias=None, scale_reg=True).fit(data)
        )
        for n in (1, 3, 9)
    ]
    assert values[0] >= values[1] - 1e-6 >= values[2] - 2e-6


def test_defaults_are_the_tuned_fixed_penalty_and_both_kinds_learn():
    cfg = ALSConfig()
    assert (cfg.n_factors, cfg.reg, cfg.reg_bias, cfg.scale_reg) == (50, 12.0, 2.0, False)
    assert ALSConfig(reg=0.3, reg_bias=None).bias_penalty == 0.3
    data, (users, movies, truth) = planted(seed=3)
    scaled = ALS(n_factors=3, reg=0.05, reg_bias=None, scale_reg=True)
    for model in (ALS(n_factors=3, reg=2.0), scaled):
        rmse = np.sqrt(np.mean((model.fit(data).predict(users, movies) - truth) ** 2))
        assert rmse < 0.5, (model.config, rmse)


def test_predictions_are_clipped_to_the_dataset_scale():
    rows = [(u, m, 5.0 if (u + m) % 3 else 1.0) for u in range(1, 21) for m in range(1, 16)]
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"]).assign(timestamp=0)
    catalog = pd.DataFrame({"movie_id": range(1, 16), "title": "x"})
    data = Dataset("sharp", catalog, ratings, None, FIVE_STARS, "test")
    model = ALS(n_factors=6, reg=1e-4).fit(data)
    scores = model._user_scores(0)
    assert scores.min() >= 1.0 and scores.max() <= 5.0


def test_most_appreciated_follows_item_biases_and_skips_unrated_movies():
    data, _ = planted(seed=4)
    catalog = pd.concat([data.catalog, pd.DataFrame({"movie_id": [999], "title": ["new"]})])
    data = Dataset("planted+", catalog, data.ratings, None, None, "test")
    model = ALS(n_factors=3).fit(data)
    ranking = model.most_appreciated(k=1000)
    assert 999 not in ranking.movie_ids and len(ranking) == 90
    np.testing.assert_array_equal(
        ranking.movie_ids[:10], model.movies.ids[np.argsort(-model.item_bias, kind="stable")[:10]]
    )


def ml100k_80_20() -> tuple[Dataset, pd.DataFrame]:
    """ml-100k's ratings split 80/20 at random (seed 0); the test part keeps known users only."""
    data = load_path(shared_dataset("ml-100k-recbole"))
    rows = np.random.default_rng(0).permutation(len(data.ratings))
    cut = len(rows) // 5
    train = Dataset(
        "train", data.catalog, data.ratings.iloc[np.sort(rows[cut:])], None, data.scale, "test"
    )
    test = data.ratings.iloc[rows[:cut]]
    return train, test[test["user_id"].isin(train.ratings["user_id"])]


@pytest.mark.slow
def test_accuracy_on_ml100k():
    """One 80/20 split (seed 0): ALS at its defaults; measured 0.9081 here."""
    train, test = ml100k_80_20()
    model = ALS().fit(train)
    predicted = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
    rmse = np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2))
    assert rmse < 0.92, rmse


def test_warm_start_keeps_the_factor_space():
    data = load_path(shared_dataset("ml-100k-recbole"))
    ratings = data.ratings.sort_values(["user_id", "timestamp"])
    new = np.random.default_rng(0).choice(ratings["user_id"].unique(), 90, replace=False)
    without = data.ratings[~data.ratings["user_id"].isin(new)]
    base = ALS().fit(Dataset("a", data.catalog, without, None, data.scale))
    for user in new:
        mine = data.ratings[data.ratings["user_id"] == user]
        base.fold_in_user(int(user), mine["movie_id"].to_numpy(), mine["rating"].to_numpy())

    def mean_cosine(other):
        a = np.array([base.user_factors[base.users.index(int(u))] for u in new])
        b = np.array([other.user_factors[other.users.index(int(u))] for u in new])
        return float(
            np.mean(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
        )

    cold = ALS().fit(data)
    warm = ALS().warm_start(base).fit(data)
    assert mean_cosine(warm) >= 0.9 and mean_cosine(warm) > mean_cosine(cold)


def test_warm_start_needs_a_matching_als():
    from tests.models.conformance import checkerboard

    small = checkerboard()
    with pytest.raises(ValueError, match="same n_factors"):
        ALS(n_factors=8).warm_start(ALS(n_factors=4).fit(small))
