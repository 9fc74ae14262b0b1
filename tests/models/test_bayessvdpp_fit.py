"""Bayesian SVD++: the implicit vectors drawn from their exact conditional with the
bookkeeping that follows, a folded-in user's implicit part, and accuracy on ml-100k (the
shared contract is in test_bayessvdpp.py; fold-in of a training user and save/load beside
Bayesian MF's, in test_bayesmf_fit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.models._bayeskernels import grams, sample_implicit
from movierec.models.bayessvdpp import BayesianSVDpp, BayesSVDppConfig
from tests.models.test_als_fit import ml100k_80_20
from tests.models.test_mf_fit import random_ratings


def test_grams_sum_the_outer_products_of_each_rows_vectors():
    rng = np.random.default_rng(0)
    other = rng.normal(size=(6, 3))
    indptr, indices = np.array([0, 2, 2, 5]), np.array([0, 4, 1, 2, 5])
    got = grams(indptr, indices, other)
    for r in range(3):
        chosen = other[indices[indptr[r] : indptr[r + 1]]]
        np.testing.assert_allclose(got[r], chosen.T @ chosen, atol=1e-12)


def _users_sharing_one_film(rng, k=2):
    """Three users who each rated film j among others: their ratings, the film vectors they
    rated, their own vectors p_u and the rest of their implicit sums."""
    users = []
    for _ in range(3):
        n = int(rng.integers(2, 5))
        users.append(
            {
                "films": rng.normal(size=(n, k)),
                "ratings": rng.integers(1, 6, n).astype(float),
                "offset": rng.normal(3.5, 0.3, n),  # μ + b_u + b_i of each rating
                "own": rng.normal(size=k),
                "rest": rng.normal(size=k) * 0.3,  # Σ of the user's other y, times w_u
                "weight": 1 / np.sqrt(n + 1.0),
            }
        )
    return users


def test_an_implicit_vector_is_drawn_from_its_conditional_posterior():
    rng = np.random.default_rng(0)
    k, alpha, draws = 2, 1.5, 20_000
    users = _users_sharing_one_film(rng, k)
    y = rng.normal(size=k)
    mean0, precision0 = rng.normal(size=k), rng.uniform(0.5, 2.0, k)
    # the exact conditional of y, from the ratings themselves
    precision = np.diag(precision0).astype(float)
    rhs = precision0 * mean0
    for u in users:
        w, films = u["weight"], u["films"]
        precision += alpha * w * w * films.T @ films
        target = u["ratings"] - u["offset"] - films @ (u["own"] + u["rest"])
        rhs += alpha * w * films.T @ target
    cov = np.linalg.inv(precision)
    expected = cov @ rhs
    # the kernel's inputs: Gram matrices and residuals with the current y inside the fit
    weight = np.array([u["weight"] for u in users])
    gram = np.stack([u["films"].T @ u["films"] for u in users])
    sums = np.stack([u["rest"] + u["weight"] * y for u in users])
    residual = np.stack(
        [
            u["films"].T @ (u["ratings"] - u["offset"] - u["films"] @ (u["own"] + s))
            for u, s in zip(users, sums, strict=True)
        ]
    )
    indptr, rows = np.array([0, 3]), np.arange(3)
    got = np.empty((draws, k))
    noise = rng.standard_normal((draws, 1, k))
    for d in range(draws):
        drawn, moved, left = y[None].copy(), sums.copy(), residual.copy()
        sample_implicit(
            indptr, rows, weight, gram, left, moved, mean0, precision0, alpha, noise[d], drawn
        )
        got[d] = drawn[0]
    np.testing.assert_allclose(got.mean(axis=0), expected, atol=0.02)
    np.testing.assert_allclose(np.cov(got.T), cov, atol=0.02)
    # the last draw moved each user's sum and residual as the new y says
    for u, s, row, r in zip(users, moved, left, sums, strict=True):
        np.testing.assert_allclose(s, r + u["weight"] * (drawn[0] - y), atol=1e-12)
        fresh = u["films"].T @ (u["ratings"] - u["offset"] - u["films"] @ (u["own"] + s))
        np.testing.assert_allclose(row, fresh, atol=1e-9)


def test_served_factors_are_the_kept_samples_vectors_with_their_implicit_parts():
    data = random_ratings()
    model = BayesianSVDpp(n_factors=3, n_iterations=30, burn_in=10, keep=5).fit(data)
    assert model.user_factors.shape[1] == model.item_factors.shape[1] == 15
    assert model.implicit.shape == (len(model.movies), 5, 3)
    plain = BayesianSVDpp(n_factors=3, n_iterations=30, burn_in=10, keep=5, flipped=False)
    assert not np.allclose(plain.fit(data).item_factors, model.item_factors)


def test_a_folded_in_users_films_count_through_the_kept_implicit_vectors():
    """keep=1: the served row is p + s, s = Σ y_j / √n over the films rated, and p the
    posterior mean given the ratings less what s explains."""
    model = BayesianSVDpp(n_factors=2, n_iterations=20, burn_in=10, keep=1).fit(random_ratings())
    films, stars = np.array([2, 5, 9]), np.array([5.0, 1.0, 4.0])
    model.fold_in_user(901, films, stars)
    idx = model.movies.indices(films)
    y = model.implicit[idx, 0].astype(float)
    s = y.sum(axis=0) / np.sqrt(3)
    q = model.item_factors[idx].astype(float)
    X = np.column_stack([q, np.ones(3)])
    alpha = model.noise_precision[0]
    mean0, precision0 = model.user_prior[0]
    target = stars - model.offset - model.item_bias[idx] - q @ s
    A = alpha * X.T @ X + np.diag(precision0)
    p = np.linalg.solve(A, alpha * X.T @ target + precision0 * mean0)
    row = model.users.index(901)
    np.testing.assert_allclose(model.user_factors[row], p[:2] + s, atol=1e-5)
    assert model.user_bias[row] == pytest.approx(p[2], abs=1e-5)


def test_flipped_must_be_true_or_false():
    with pytest.raises(ValueError, match="flipped"):
        BayesSVDppConfig(flipped="no")


@pytest.mark.slow
def test_accuracy_on_ml100k():
    """One 80/20 split (seed 0) at the defaults; measured 0.8828 here (bmf 0.8963)."""
    train, test = ml100k_80_20()
    model = BayesianSVDpp().fit(train)
    predicted = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
    rmse = np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2))
    assert rmse < 0.886, rmse
