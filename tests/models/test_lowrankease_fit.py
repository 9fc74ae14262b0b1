"""Low-rank EASE: EASE exactly at full rank, the range finder against a dense SVD, and EASE's
accuracy at the default rank on ml-100k (the shared contract is in test_lowrankease.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from movierec.data.sources import load_path
from movierec.evaluate import evaluate
from movierec.models.ease import EASE
from movierec.models.lowrankease import LowRankEASE, top_singular
from tests.conftest import shared_dataset
from tests.models.test_mf_fit import random_ratings


def test_at_full_rank_it_is_ease():
    """With every singular direction kept the Woodbury inverse is exact: EASE's scores and
    partial correlations, seen movies included."""
    data = random_ratings(n_users=60, n_movies=25, density=0.4)
    exact = EASE(l2=50.0).fit(data)
    low = LowRankEASE(l2=50.0, rank=25, power_iterations=6).fit(data)
    for user in (1, 7, 33):
        np.testing.assert_allclose(low.scores(user), exact.scores(user), rtol=1e-3, atol=1e-4)
    for movie in (2, 11):
        similar = low.similarities(movie)
        expected = exact.similarities(movie)
        others = np.arange(len(similar)) != low.movies.index(movie)
        np.testing.assert_allclose(similar[others], expected[others], rtol=1e-3, atol=1e-4)


def test_the_range_finder_finds_the_top_singular_directions():
    """On a spectrum that decays, as rating matrices' do (a flat one is what power
    iterations cannot sharpen, and not what EASE meets)."""
    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.normal(size=(300, 80)))
    right, _ = np.linalg.qr(rng.normal(size=(80, 80)))
    spectrum = 100.0 * 0.8 ** np.arange(80)
    x = sp.csr_matrix(((left * spectrum) @ right.T).astype(np.float32))
    values, vectors = top_singular(x, 10, 10, 4, rng)
    np.testing.assert_allclose(values, spectrum[:10], rtol=1e-4)
    overlap = np.abs(np.sum(vectors * right[:, :10], axis=0))  # the same directions, up to sign
    np.testing.assert_allclose(overlap, 1.0, atol=1e-4)


def test_below_full_rank_the_diagonal_of_the_gram_matrix_is_kept():
    """What rank r leaves out of XᵀX is kept on its diagonal (each movie's own energy), so
    diag(P) is a valid precision's, no larger than the ridge alone allows."""
    data = random_ratings(n_users=60, n_movies=25, density=0.4)
    low = LowRankEASE(l2=50.0, rank=5).fit(data)
    assert low.vectors.shape == (25, 5)
    assert (low.scale <= 1 / 50.0 + 1e-15).all() and (low.scale < 1 / 50.0).any()
    assert ((low.diagonal > 0) & (low.diagonal <= low.scale)).all()


@pytest.mark.slow
def test_as_accurate_as_ease_on_ml100k():
    """Per-user 20% holdout (seed 0): measured NDCG@10 0.3909, EASE's 0.3909 (rank 1,024)."""
    data = load_path(shared_dataset("ml-100k-recbole"))
    result = evaluate(data, ["ease", "ease-lowrank"], split="user-holdout")
    ndcg = {m.name: m.folds[0]["ndcg"] for m in result.models}
    assert ndcg["ease-lowrank"] >= 0.97 * ndcg["ease"], ndcg
