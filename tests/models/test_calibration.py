"""Genre calibration (Steck 2018): distributions, KL and the greedy re-ranking, by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from movierec.models.calibration import (
    PARALLEL_USERS,
    GenreMatrix,
    calibrated_rerank,
    calibrated_rerank_many,
    genre_distributions,
    kl_divergence,
    personalization,
    rerank_pool,
    taste_distributions,
)


@pytest.fixture
def genres():
    # names sort to (Comedy, Drama); movie 30 has none; repeats and "" are ignored
    return GenreMatrix.build(
        np.array([10, 20, 30, 40]), [["Drama", "Comedy"], ["Drama"], [], ["Comedy", "Comedy", ""]]
    )


def test_each_movie_splits_weight_one_over_its_genres(genres):
    assert genres.names == ("Comedy", "Drama")
    np.testing.assert_allclose(genres.rows, [[0.5, 0.5], [0, 1], [0, 0], [1, 0]])
    assert genres.index(np.array([[20, 99]])).tolist() == [[1, -1]]
    np.testing.assert_allclose(genres.rows_of(np.array([40, 99])), [[1, 0], [0, 0]])
    catalog = pd.DataFrame({"movie_id": [1, 2], "genres": [["Western"], []]})
    built = GenreMatrix.from_catalog(catalog)
    assert built.names == ("Western",) and built.rows.tolist() == [[1.0], [0.0]]


def test_distributions_weigh_movies_equally_and_skip_genreless_ones(genres):
    # owner 0: movies 10, 30, 40 → Comedy ½ + 1, Drama ½ (30 adds nothing) → (¾, ¼)
    # owner 1: only the genre-less movie → zeros
    d = genre_distributions(genres.rows, np.array([0, 0, 0, 1]), np.array([0, 2, 3, 2]), 2)
    np.testing.assert_allclose(d, [[0.75, 0.25], [0, 0]])


def test_taste_is_the_liked_movies_or_everything_when_none_is_liked(genres):
    owners = np.array([0, 0, 0, 1, 2])
    movies = np.array([0, 1, 3, 1, 2])
    ratings = np.array([5.0, 2.0, 4.0, 2.0, 5.0])
    taste = taste_distributions(genres.rows, owners, movies, ratings, 3, threshold=4.0)
    # owner 0 liked 10 and 40 → Comedy ½ + 1, Drama ½; owner 1 liked nothing → all they rated
    np.testing.assert_allclose(taste, [[0.75, 0.25], [0, 1], [0, 0]])
    everything = taste_distributions(genres.rows, owners, movies, ratings, 3, threshold=None)
    np.testing.assert_allclose(everything[0], [0.5, 0.5])  # 10, 20 and 40: 1.5 each


def test_kl_is_smoothed_toward_the_profile():
    p = np.array([0.75, 0.25])
    # q̃ = 0.99·(0, 1) + 0.01·p = (0.0075, 0.9925)
    expected = 0.75 * math.log(0.75 / 0.0075) + 0.25 * math.log(0.25 / 0.9925)
    assert kl_divergence(p, np.array([0.0, 1.0])) == pytest.approx(expected)
    # genres outside the profile do not count: q̃ = (0.505, 0.495) → ln(1/0.505)
    assert kl_divergence(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(
        math.log(1 / 0.505)
    )
    assert kl_divergence(p, p) == pytest.approx(0.0)
    np.testing.assert_allclose(
        kl_divergence(np.array([[1.0, 0], [0, 1.0]]), np.array([1.0, 0])), [0, math.log(100)]
    )


# A user who likes Drama and Comedy equally; the model's best three are dramas.
SCORES = np.array([1.0, 0.9, 0.8, 0.1])
CANDIDATES = np.array([[0, 1], [0, 1], [0, 1], [1, 0]], float)  # (Comedy, Drama)
TASTE = np.array([0.5, 0.5])
# Scaled scores 1, 8/9, 7/9, 0. Step 1: either genre alone has the same KL
# K = ½·ln(½/0.005) + ½·ln(½/0.995), so the best score (candidate 0) goes first. Step 2: a
# second drama keeps KL at K, the comedy brings it to 0, so the drama wins exactly when
# (1−λ)·(1 + 8/9) − λ·K > (1−λ)·1, i.e. λ < (8/9) / (8/9 + K).
K = 0.5 * math.log(0.5 / 0.005) + 0.5 * math.log(0.5 / 0.995)
TURN = (8 / 9) / (8 / 9 + K)


def test_lambda_zero_keeps_the_score_order():
    shuffled = np.array([0.2, 0.9, 0.5, 0.7])
    assert calibrated_rerank(shuffled, CANDIDATES, TASTE, 3, 0.0).tolist() == [1, 3, 2]
    assert calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, 0.0).tolist() == [0, 1]
    # no taste known: the KL term is 0 for every list, whatever λ
    assert calibrated_rerank(SCORES, CANDIDATES, np.zeros(2), 4, 0.7).tolist() == [0, 1, 2, 3]


def test_a_larger_lambda_lowers_the_lists_kl():
    def kl_of(order):
        q = CANDIDATES[order].sum(axis=0) / len(order)
        return float(kl_divergence(TASTE, q))

    assert 0.31 < TURN < 0.32
    below = calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, TURN - 0.005)
    above = calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, TURN + 0.005)
    assert below.tolist() == [0, 1] and above.tolist() == [0, 3]
    assert kl_of(below) == pytest.approx(K) and kl_of(above) == pytest.approx(0.0)
    assert calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, 1.0).tolist() == [0, 3]


def test_rerank_skips_disallowed_candidates_and_checks_its_input():
    scores = np.array([1.0, -np.inf, 0.5])
    assert calibrated_rerank(scores, CANDIDATES[:3], TASTE, 5, 0.5).tolist() == [0, 2]
    with pytest.raises(ValueError, match="lam"):
        calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, 1.5)
    with pytest.raises(ValueError, match="k must be"):
        calibrated_rerank(SCORES, CANDIDATES, TASTE, 0, 0.5)
    with pytest.raises(ValueError, match="genre matrix"):
        calibrated_rerank(SCORES, CANDIDATES[:2], TASTE, 2, 0.5)
    with pytest.raises(ValueError, match=r"alpha .*\(0, 1\]"):  # no smoothing: KL = ∞
        calibrated_rerank(SCORES, CANDIDATES, TASTE, 2, 0.5, alpha=0.0)


@pytest.mark.parametrize("n_users", [5, PARALLEL_USERS + 3])
def test_many_users_at_once_rank_as_each_alone(n_users):
    """A few users are re-ranked by the serial kernel, many by the parallel one (a fit's):
    either way each row is the one-user (a request's) answer."""
    rng = np.random.default_rng(0)
    scores = rng.random((n_users, 8))
    scores[1, [2, 5]] = -np.inf
    genres = np.eye(3)[rng.integers(0, 3, (n_users, 8))]
    tastes = rng.dirichlet(np.ones(3), size=n_users)
    together = calibrated_rerank_many(scores, genres, tastes, 4, 0.6)
    for user in range(n_users):
        alone = calibrated_rerank(scores[user], genres[user], tastes[user], 4, 0.6)
        assert together[user].tolist() == alone.tolist()
    # fewer allowed candidates than k: the disallowed positions fill the end of the row
    sparse = np.array([[0.5, -np.inf, 1.0]])
    row = calibrated_rerank_many(sparse, np.eye(3)[None], np.array([[0.5, 0.5, 0]]), 3, 0.5)
    assert row[0, :2].tolist() == [0, 2] and row[0, 2] == 1  # movie 2 is off the taste


def test_the_pool_holds_each_taste_genres_best_few_beside_the_top():
    """Two genres: films 0–5 Drama, best scored first; 6–9 Western, scored below every Drama.
    A taste of 70% Drama and 30% Western gets ⌈10·0.3⌉ = 3 Westerns, its 3 best, into a pool
    whose top ``size`` holds none; a genre outside the taste, or not a candidate, gets none."""
    scores = np.array([9.0, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    genres = np.zeros((10, 2))
    genres[:6, 0] = genres[6:, 1] = 1.0
    pool = rerank_pool(scores[None], genres, np.array([[0.7, 0.3]]), 10, size=4)
    assert np.flatnonzero(pool[0]).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]  # Drama: its 7 best
    alone = rerank_pool(scores[None], genres, np.array([[1.0, 0.0]]), 10, size=4)
    assert np.flatnonzero(alone[0]).tolist() == [0, 1, 2, 3, 4, 5]  # no Western asked for
    # only the candidates ``quota_from`` marks fill a quota (the hybrid's fit: not the held-out
    # films it adds to be scored); the top ``size`` stays whatever they are
    some = np.ones(10, bool)
    some[[0, 6]] = False
    pool = rerank_pool(scores[None], genres, np.array([[0.7, 0.3]]), 10, 4, quota_from=some)
    assert np.flatnonzero(pool[0]).tolist() == [0, 1, 2, 3, 4, 5, 7, 8, 9]
    taste = np.array([[0.7, 0.3]])
    none = rerank_pool(scores[None], genres, taste, 10, 4, quota_from=np.zeros(10, bool))
    assert np.flatnonzero(none[0]).tolist() == [0, 1, 2, 3]  # no quotas: the top alone
    seen = scores.copy()
    seen[[6, 7]] = -np.inf  # listed already: not candidates
    pool = rerank_pool(seen[None], genres, np.array([[0.0, 0.3]]), 10, size=2)
    assert np.flatnonzero(pool[0]).tolist() == [0, 1, 8, 9]
    # users × candidates × genres, each user their own quota; the re-ranking then lists them
    many = rerank_pool(
        np.stack([scores, scores]), np.stack([genres, genres]), np.array([[1, 0], [0.5, 0.5]]), 4, 2
    )
    assert [np.flatnonzero(row).tolist() for row in many] == [[0, 1, 2, 3], [0, 1, 6, 7]]
    listed = calibrated_rerank(scores[many[1]], genres[many[1]], np.array([0.5, 0.5]), 4, 0.9)
    assert sorted(np.flatnonzero(many[1])[listed].tolist()) == [0, 1, 6, 7]


@pytest.mark.parametrize("n_users", [3, PARALLEL_USERS + 3])
def test_the_pool_is_each_genres_best_by_score_for_one_user_or_many(n_users):
    """The kernels (serial, or many users shared among the cores) against the definition:
    the top ``size``, and each genre's ⌈k·p(g)⌉ best-scored candidates."""
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(n_users, 40))
    scores[0, :5] = -np.inf  # not candidates
    genres = (rng.random((n_users, 40, 4)) < 0.3).astype(float)
    tastes = rng.dirichlet(np.ones(4) * 0.5, size=n_users)
    pool = rerank_pool(scores, genres, tastes, 10, size=6)
    for u in range(n_users):
        order = [c for c in np.argsort(-scores[u], kind="stable") if np.isfinite(scores[u, c])]
        expected = set(order[:6])
        for g in range(4):
            of_genre = [c for c in order if genres[u, c, g] > 0]
            expected |= set(of_genre[: math.ceil(10 * tastes[u, g] - 1e-9)])
        assert set(np.flatnonzero(pool[u])) == expected
        alone = rerank_pool(scores[u][None], genres[u], tastes[u][None], 10, size=6)[0]
        assert (alone == pool[u]).all()


def test_personalization_reads_padded_rows_by_their_lengths():
    lists = np.array([[0, 1, 2], [0, 1, 3], [4, 5, -1]])
    # {0,1,2}/{0,1,3} share 2 of 4 → ½; {4,5} shares nothing with either
    assert personalization(lists, np.array([3, 3, 2])) == pytest.approx(1 - 0.5 / 3)
    assert personalization(np.array([[1, 2], [2, 1]]), np.array([2, 2])) == pytest.approx(0.0)


def numpy_rerank(scaled, allowed, genres, targets, k, lam, alpha=0.01):
    """The re-ranking as first written, in numpy (users × candidates × genres per step)."""
    n_users = scaled.shape[0]
    chosen = np.zeros((n_users, k), np.int64)
    used = np.zeros_like(allowed)
    counts = np.zeros((n_users, genres.shape[2]))
    total = np.zeros(n_users)
    rows = np.arange(n_users)
    for step in range(k):
        trial = counts[:, None, :] + genres
        mass = trial.sum(axis=2, keepdims=True)
        q = np.divide(trial, mass, out=np.zeros_like(trial), where=mass > 0)
        objective = (1.0 - lam) * (total[:, None] + scaled) - lam * kl_divergence(
            targets[:, None, :], q, alpha
        )
        blocked = used | ~allowed
        objective[blocked] = -np.inf
        pick = np.argmax(objective, axis=1)
        stuck = blocked.all(axis=1)
        pick[stuck] = np.argmax(~used[stuck], axis=1)
        chosen[:, step] = pick
        used[rows, pick] = True
        counts += genres[rows, pick]
        total += scaled[rows, pick]
    return chosen


@pytest.mark.parametrize(("lam", "alpha"), [(0.3, 0.01), (0.9, 0.01), (1.0, 0.01), (0.9, 0.5)])
def test_the_kernel_picks_what_the_numpy_re_ranking_picks(lam, alpha):
    """Random users with multi-genre candidates, some disallowed, some with no genre."""
    rng = np.random.default_rng(3)
    n_users, width, n_genres, k = 40, 60, 7, 10
    scores = rng.random((n_users, width))
    scores[rng.random((n_users, width)) < 0.1] = -np.inf
    genres = (rng.random((n_users, width, n_genres)) < 0.25).astype(float)
    genres /= np.maximum(genres.sum(axis=2, keepdims=True), 1)
    tastes = rng.dirichlet(np.ones(n_genres) * 0.5, size=n_users)
    allowed = np.isfinite(scores)
    low = np.where(allowed, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(allowed, scores, -np.inf).max(axis=1, keepdims=True)
    scaled = np.where(allowed, (scores - low) / (high - low), 0.0)
    expected = numpy_rerank(scaled, allowed, genres, tastes, k, lam, alpha)
    got = calibrated_rerank_many(scores, genres, tastes, k, lam, alpha=alpha)
    np.testing.assert_array_equal(got, expected)
