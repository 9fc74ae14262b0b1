"""Implicit ALS: the solver's math, fold-ins, and top-10 quality on ml-100k (the shared contract
is in test_ials.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import Dataset
from movierec.models.feedback import feedback_matrix
from movierec.models.ials import ImplicitALS, training_loss
from tests.models.conformance import checkerboard
from tests.models.test_ease_fit import holdout_ndcg, ml100k_holdout, popularity_ndcg  # noqa: F401
from tests.models.toy import drama_dataset


def random_dataset(seed: int, users: int = 50, movies: int = 40) -> Dataset:
    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(users, 3)) @ rng.normal(size=(3, movies))
    u, m = np.nonzero(rng.random((users, movies)) < 0.25)
    stars = np.clip(np.round(3 + taste[u, m]), 1, 5)
    ratings = pd.DataFrame({"user_id": u + 1, "movie_id": m + 1, "rating": stars, "timestamp": 0})
    return drama_dataset("random", ratings, movies)


def loss_by_brute_force(model: ImplicitALS, data: Dataset) -> float:
    """The objective summed pair by pair over the dense users × movies grid."""
    cfg = model.config
    matrix = data.rating_matrix()[0]
    strength = feedback_matrix(matrix, cfg.weighting, cfg.like_threshold).toarray()
    preference = (strength > 0).astype(float)
    confidence = 1.0 + cfg.alpha * strength
    x = model.user_factors.astype(float)
    y = model.item_factors.astype(float)
    fit = np.sum(confidence * (preference - x @ y.T) ** 2)
    penalty = cfg.regularization * (np.sum(x * x) + np.sum(y * y))
    return (fit + penalty) / strength.size


@pytest.mark.parametrize("solver", ["cg", "exact"])
@pytest.mark.parametrize("weighting", ["liked", "binary", "rating"])
def test_training_loss_decreases_and_matches_the_dense_sum(solver, weighting):
    data = random_dataset(seed=0)
    model = ImplicitALS(
        factors=8, regularization=0.5, alpha=5.0, iterations=8, solver=solver, weighting=weighting
    )
    model.track_loss = True
    model.fit(data)
    losses = np.array(model.losses)
    assert len(losses) == 8
    assert np.all(np.diff(losses) <= 1e-12 * losses[:-1]), losses  # every half-step descends
    assert losses[-1] < losses[0]
    assert losses[-1] == pytest.approx(loss_by_brute_force(model, data), rel=1e-6)


def test_exact_solves_are_the_weighted_ridge_solutions():
    # items are solved last: each item's factors minimise its row of the loss given the users
    data = random_dataset(seed=1)
    model = ImplicitALS(factors=6, regularization=1.0, alpha=3.0, iterations=3, solver="exact").fit(
        data
    )
    cfg = model.config
    x = model.user_factors.astype(float)
    y = model.item_factors.astype(float)
    strength = feedback_matrix(data.rating_matrix()[0], cfg.weighting, 4.0).toarray()
    for i in (0, 7, 33):
        c = 1.0 + cfg.alpha * strength[:, i]
        p = (strength[:, i] > 0).astype(float)
        a = (x.T * c) @ x + cfg.regularization * np.eye(6)
        np.testing.assert_allclose(y[i], np.linalg.solve(a, (x.T * c) @ p), atol=1e-5)


def test_exact_solves_without_a_penalty_and_fewer_movies_than_factors():
    # FᵀF is then singular: LAPACK's solve failed inside the kernel; the diagonal floor holds
    model = ImplicitALS(factors=16, regularization=0.0, iterations=2, solver="exact")
    model.fit(checkerboard())
    assert model.item_factors.shape[0] < 16
    assert np.isfinite(model.user_factors).all() and np.isfinite(model.item_factors).all()


def test_cg_approaches_the_exact_solution():
    data = random_dataset(seed=2)
    exact = ImplicitALS(
        factors=6, regularization=1.0, alpha=3.0, iterations=20, solver="exact"
    ).fit(data)
    cg = ImplicitALS(factors=6, regularization=1.0, alpha=3.0, iterations=20, cg_steps=6).fit(data)
    scores_exact = exact.user_factors @ exact.item_factors.T
    scores_cg = cg.user_factors @ cg.item_factors.T
    assert np.abs(scores_exact - scores_cg).max() < 0.02


def test_loss_helper_counts_unobserved_pairs_with_weight_one():
    data = random_dataset(seed=3)
    model = ImplicitALS(factors=4, iterations=2).fit(data)
    cfg = model.config
    confidence = feedback_matrix(data.rating_matrix()[0], cfg.weighting, cfg.like_threshold)
    confidence.data *= cfg.alpha
    got = training_loss(confidence, model.user_factors, model.item_factors, cfg.regularization)
    assert got == pytest.approx(loss_by_brute_force(model, data), rel=1e-9)


def test_similar_movies_are_cosines_of_item_factors():
    data = random_dataset(seed=4)
    model = ImplicitALS(factors=5).fit(data)
    y = model.item_factors.astype(float)
    unit = y / np.linalg.norm(y, axis=1, keepdims=True)
    ranking = model.similar_movies(3, k=39)
    np.testing.assert_allclose(ranking.scores, unit[ranking.movie_ids - 1] @ unit[2], atol=1e-9)


def test_different_seeds_give_different_factors():
    data = random_dataset(seed=5)
    a = ImplicitALS(factors=4, seed=0).fit(data).item_factors
    b = ImplicitALS(factors=4, seed=1).fit(data).item_factors
    assert not np.allclose(a, b)


def ridge_by_hand(
    model: ImplicitALS, fixed: np.ndarray, rows: np.ndarray, ratings: np.ndarray
) -> np.ndarray:
    """The minimiser of one row's part of the loss against ``fixed``, by a dense solve."""
    cfg = model.config
    strength = np.zeros(len(fixed))
    strength[rows] = {
        "binary": np.ones(len(ratings)),
        "rating": ratings,
        "liked": (ratings >= cfg.like_threshold).astype(float),
    }[cfg.weighting]
    c = 1.0 + cfg.alpha * strength
    f = fixed.astype(float)
    a = (f.T * c) @ f + cfg.regularization * np.eye(f.shape[1])
    return np.linalg.solve(a, (f.T * c) @ (strength > 0))


@pytest.mark.parametrize("solver", ["cg", "exact"])
@pytest.mark.parametrize("weighting", ["liked", "rating"])
def test_fold_ins_solve_the_row_exactly_against_the_other_side(solver, weighting):
    data = random_dataset(seed=6)
    model = ImplicitALS(
        factors=6, regularization=1.0, alpha=3.0, iterations=4, solver=solver, weighting=weighting
    ).fit(data)
    raters, stars = np.array([2, 5, 9, 30]), np.array([5.0, 4.0, 2.0, 5.0])
    model.fold_in_movie(99, raters, stars)  # a new movie, against the user factors
    np.testing.assert_allclose(
        model.item_factors[model.movies.index(99)],
        ridge_by_hand(model, model.user_factors, model.users.indices(raters), stars),
        atol=2e-6,
    )
    for user_id in (500, 7):  # a new user and a trained one; YᵀY now holds movie 99
        movies, stars = np.array([1, 7, 99]), np.array([5.0, 3.0, 4.0])
        model.fold_in_user(user_id, movies, stars)
        np.testing.assert_allclose(
            model.user_factors[model.users.index(user_id)],
            ridge_by_hand(model, model.item_factors, model.movies.indices(movies), stars),
            atol=2e-6,
        )
    model.fold_in_movie(3, raters, np.array([1.0, 5.0, 5.0, 4.0]))  # a known movie, re-solved
    np.testing.assert_allclose(
        model.item_factors[model.movies.index(3)],
        ridge_by_hand(
            model, model.user_factors, model.users.indices(raters), np.array([1.0, 5, 5, 4])
        ),
        atol=2e-6,
    )
    assert model.movie_votes[model.movies.index(99)] == len(raters) + 2  # 500 and 7 rated it


def test_an_artifact_saved_before_fold_ins_loads_and_folds_in(tmp_path):
    data = random_dataset(seed=7)
    model = ImplicitALS(factors=4, iterations=3).fit(data)
    folder = tmp_path / "ials"
    model.save(folder)
    (folder / "seen_ratings.npy").unlink()  # the earlier layout kept no ratings
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["arrays"].remove("seen_ratings")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = ImplicitALS.load(folder)
    np.testing.assert_array_equal(loaded.movie_votes, model.movie_votes)
    for user_id in (1, 50):
        a, b = model.recommend(user_id, k=40), loaded.recommend(user_id, k=40)
        np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
    for fitted in (model, loaded):
        fitted.fold_in_movie(77, [1, 2], [5.0, 4.0])
        fitted.fold_in_user(1, [2, 77], [5.0, 4.0])
    np.testing.assert_allclose(
        loaded.recommend(1, k=41).scores, model.recommend(1, k=41).scores, atol=1e-6
    )


@pytest.mark.slow
def test_ml100k_ndcg_beats_popularity(ml100k_holdout):  # noqa: F811
    model = ImplicitALS().fit(ml100k_holdout.train)
    ours = holdout_ndcg(ml100k_holdout, lambda u: model.recommend(u, 10).movie_ids)
    popular = popularity_ndcg(ml100k_holdout)
    assert ours > 1.5 * popular, (ours, popular)  # measured: 0.383 against 0.172
