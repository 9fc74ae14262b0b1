"""Bayesian MF: the Gibbs draw of a row against its exact conditional posterior, fold-in as a
posterior mean, save/load (these two for Bayesian SVD++ too), and accuracy on ml-100k (the
shared contract is in test_bayesmf.py)."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.models._bayeskernels import posterior_means, sample_rows
from movierec.models.bayesmf import BayesianMF, BayesMFConfig
from movierec.models.bayessvdpp import BayesianSVDpp
from tests.models.test_als_fit import ml100k_80_20
from tests.models.test_mf_fit import random_ratings


def exact_posterior(fixed, fixed_bias, ratings, offset, alpha, mean, precision):
    """Mean and covariance of ``[x, b]`` given the other side, by dense linear algebra."""
    X = np.column_stack([fixed, np.ones(len(fixed))])
    A = alpha * X.T @ X + np.diag(precision)
    cov = np.linalg.inv(A)
    return cov @ (alpha * X.T @ (ratings - offset - fixed_bias) + precision * mean), cov


def test_a_row_is_drawn_from_its_conditional_posterior():
    rng = np.random.default_rng(0)
    n, k, draws = 6, 3, 40_000
    fixed, fixed_bias = rng.normal(size=(n, k)), rng.normal(size=n)
    ratings = rng.integers(1, 6, n).astype(np.float64)
    mean, precision = rng.normal(size=k + 1), rng.uniform(0.5, 2.0, k + 1)
    # the same row many times over: a CSR whose every row rates the same six movies
    indptr = np.arange(0, n * (draws + 1), n)
    indices = np.tile(np.arange(n), draws)
    out, out_bias = np.zeros((draws, k)), np.zeros(draws)
    noise = rng.standard_normal((draws, k + 1))
    args = (fixed, fixed_bias, 3.5, 0.8, mean, precision, noise, out, out_bias)
    sample_rows(indptr, indices, np.tile(ratings, draws), *args)
    expected_mean, expected_cov = exact_posterior(
        fixed, fixed_bias, ratings, 3.5, 0.8, mean, precision
    )
    got = np.column_stack([out, out_bias])
    np.testing.assert_allclose(got.mean(axis=0), expected_mean, atol=0.02)
    np.testing.assert_allclose(np.cov(got.T), expected_cov, atol=0.02)


def test_a_fold_in_is_the_posterior_mean_under_each_sample():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(3, 5, 2))
    bias, ratings = rng.normal(size=5), rng.integers(1, 6, (3, 5)).astype(np.float64)
    alphas = np.array([0.5, 1.0, 2.0])
    means, precisions = rng.normal(size=(3, 3)), rng.uniform(0.5, 2, (3, 3))
    factors, biases = posterior_means(samples, bias, ratings, 3.0, alphas, means, precisions)
    for s in range(3):  # each sample against its own targets
        expected, _ = exact_posterior(
            samples[s], bias, ratings[s], 3.0, alphas[s], means[s], precisions[s]
        )
        np.testing.assert_allclose(np.r_[factors[s], biases[s]], expected, atol=1e-9)


def test_served_factors_concatenate_the_kept_samples():
    model = BayesianMF(n_factors=3, n_iterations=30, burn_in=10, keep=5).fit(random_ratings())
    assert model.user_factors.shape[1] == model.item_factors.shape[1] == 15
    assert model.user_prior.shape == model.movie_prior.shape == (5, 2, 4)
    assert (model.noise_precision > 0).all()


@pytest.mark.parametrize("model_class", [BayesianMF, BayesianSVDpp])
def test_folding_a_training_user_back_in_predicts_as_training(model_class):
    data = random_ratings(seed=2)
    model = model_class(n_factors=3, n_iterations=60, burn_in=20, keep=20).fit(data)
    movies = np.arange(1, 31)
    before = model.predict(np.full(30, 5), movies)
    own = data.ratings[data.ratings["user_id"] == 5]
    model.fold_in_user(5, own["movie_id"].to_numpy(), own["rating"].to_numpy())
    after = model.predict(np.full(30, 5), movies)
    assert np.corrcoef(before, after)[0, 1] > 0.9
    assert np.abs(before - after).mean() < 0.25


@pytest.mark.parametrize("model_class", [BayesianMF, BayesianSVDpp])
def test_save_load_keeps_what_a_fold_in_needs(model_class, tmp_path):
    """The priors and noise of every kept sample (and Bayesian SVD++'s implicit vectors)."""
    model = model_class(n_factors=3, n_iterations=30, burn_in=10, keep=5).fit(random_ratings())
    model.save(tmp_path / "m")
    loaded = model_class.load(tmp_path / "m")
    for name, array in model._state().items():
        np.testing.assert_array_equal(loaded._state()[name], array, err_msg=name)
    for m in (model, loaded):
        m.fold_in_user(905, [1, 4, 9], [5.0, 1.0, 3.0])
    np.testing.assert_allclose(
        loaded.user_factors[loaded.users.index(905)], model.user_factors[model.users.index(905)]
    )


def test_the_sampler_settings_are_checked_together():
    with pytest.raises(ValueError, match="burn_in"):
        BayesMFConfig(n_iterations=50, burn_in=50)
    with pytest.raises(ValueError, match="keep"):
        BayesMFConfig(n_iterations=50, burn_in=40, keep=11)


@pytest.mark.slow
def test_accuracy_on_ml100k():
    """One 80/20 split (seed 0) at the defaults; measured 0.8963 here (svdpp-tuned 0.8981)."""
    train, test = ml100k_80_20()
    model = BayesianMF().fit(train)
    predicted = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
    rmse = np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2))
    assert rmse < 0.905, rmse
