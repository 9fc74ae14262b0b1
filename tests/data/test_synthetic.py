"""The synthetic generator: exact shape, determinism, MovieLens-like marginals, learnable taste."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from movierec.data import synthetic
from movierec.data._synthetic_kernels import _kth_largest
from movierec.data.dataset import HALF_STARS
from movierec.data.files import FileSet
from movierec.data.sources import load_path, movielens_csv

SHAPE = (2_000, 500, 80_000)  # users, movies, ratings: ~0.1 s once compiled


@pytest.fixture(scope="module")
def data():
    return synthetic.generate(*SHAPE, seed=3)


def test_exact_counts_and_schema(data):
    n_users, n_movies, n_ratings = SHAPE
    ratings = data.ratings
    assert len(ratings) == n_ratings
    assert ratings["user_id"].nunique() == n_users  # everyone rates at least once
    assert ratings["user_id"].min() == 1 and ratings["user_id"].max() == n_users
    assert ratings["movie_id"].between(1, n_movies).all()
    assert list(ratings.dtypes.astype(str)) == ["int32", "int32", "float32", "int64"]
    assert len(data.catalog) == n_movies
    assert data.catalog["movie_id"].tolist() == list(range(1, n_movies + 1))
    assert data.catalog["title"].iloc[122] == "Synthetic movie 123"
    assert data.scale == HALF_STARS


def test_pairs_are_unique_and_sorted(data):
    key = data.ratings["user_id"].to_numpy(np.int64) << 32 | data.ratings["movie_id"].to_numpy()
    assert np.all(np.diff(key) > 0)  # sorted by user then movie, hence no repeated pair


def test_ratings_on_half_stars_like_movielens(data):
    rating = data.ratings["rating"].to_numpy()
    assert HALF_STARS.valid(rating).all()
    shares = pd.Series(rating).value_counts(normalize=True)
    assert shares.idxmax() == 4.0
    assert set(shares.index) == {0.5 * i for i in range(1, 11)}
    assert 3.4 < rating.mean() < 3.65
    expected = synthetic.RATING_SHARES / synthetic.RATING_SHARES.sum()
    assert np.allclose(shares.sort_index().to_numpy(), expected, atol=0.01)


def test_same_seed_same_data_other_seed_other_data(data):
    again = synthetic.generate(*SHAPE, seed=3)
    pd.testing.assert_frame_equal(again.ratings, data.ratings)
    pd.testing.assert_frame_equal(again.catalog, data.catalog)
    other = synthetic.generate(*SHAPE, seed=4)
    assert not other.ratings["movie_id"].equals(data.ratings["movie_id"])


def test_thread_count_does_not_change_the_data(data):
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = synthetic.generate(*SHAPE, seed=3)
    finally:
        numba.set_num_threads(before)
    pd.testing.assert_frame_equal(single.ratings, data.ratings)


def test_power_law_activity_and_popularity():
    ratings = synthetic.generate(20_000, 4_000, 500_000, seed=0).ratings
    per_movie = np.sort(np.bincount(ratings["movie_id"]))[::-1]
    assert per_movie[:400].sum() / len(ratings) > 0.6  # top 10% of movies
    per_user = np.sort(np.bincount(ratings["user_id"])[1:])[::-1]
    assert per_user[:2_000].sum() / len(ratings) > 0.4  # top 10% of users
    assert np.median(per_user) < 0.5 * per_user.mean()  # a long tail, not a bell
    assert per_user.min() >= 1


def test_metadata_is_plausible(data):
    catalog = data.catalog
    assert catalog["year"].between(1890, synthetic.LAST_YEAR).all()
    assert catalog["year"].median() > 1980
    genres = catalog["genres"].explode().dropna()
    assert set(genres) <= set(synthetic.GENRES)
    assert genres.value_counts().index[0] in ("Drama", "Comedy")
    stamps = data.ratings["timestamp"].to_numpy()
    assert stamps.min() >= synthetic.FIRST_TIMESTAMP
    assert stamps.max() <= synthetic.LAST_TIMESTAMP
    rated_year = pd.to_datetime(stamps, unit="s").year.to_numpy()
    release = catalog["year"].to_numpy(np.int64)[data.ratings["movie_id"].to_numpy() - 1]
    assert np.all(rated_year >= release)


def test_planted_structure_is_learnable(data):
    """Biased ALS on 90% beats the global mean clearly on 10%, and factors beat biases alone."""
    n_users, n_movies, _ = SHAPE
    users = data.ratings["user_id"].to_numpy() - 1
    movies = data.ratings["movie_id"].to_numpy() - 1
    y = data.ratings["rating"].to_numpy(np.float64)
    test = np.random.default_rng(0).random(len(y)) < 0.1
    train = ~test
    mean = y[train].mean()
    observed = np.zeros((n_users, n_movies))
    observed[users[train], movies[train]] = 1.0
    residual = np.zeros((n_users, n_movies))
    residual[users[train], movies[train]] = y[train] - mean

    def rmse(rank: int) -> float:
        rng = np.random.default_rng(1)
        user_f = 0.1 * rng.standard_normal((n_users, rank))
        movie_f = 0.1 * rng.standard_normal((n_movies, rank))
        user_b, movie_b = np.zeros(n_users), np.zeros(n_movies)
        for _ in range(6):
            x = _ridge(observed, (residual - movie_b) * observed, _with_ones(movie_f))
            user_f, user_b = x[:, :rank], x[:, rank]
            target = ((residual - user_b[:, None]) * observed).T
            x = _ridge(observed.T, target, _with_ones(user_f))
            movie_f, movie_b = x[:, :rank], x[:, rank]
        guess = (
            mean
            + user_b[users[test]]
            + movie_b[movies[test]]
            + np.einsum("ij,ij->i", user_f[users[test]], movie_f[movies[test]])
        )
        return float(np.sqrt(np.mean((guess - y[test]) ** 2)))

    global_mean = float(np.sqrt(np.mean((mean - y[test]) ** 2)))
    low_rank, biases = rmse(8), rmse(0)
    assert low_rank < 0.85 * global_mean
    assert low_rank < biases - 0.02


def _with_ones(factors: np.ndarray) -> np.ndarray:
    return np.hstack([factors, np.ones((len(factors), 1))])


def _ridge(
    observed: np.ndarray, target: np.ndarray, basis: np.ndarray, reg: float = 5.0
) -> np.ndarray:
    """Per row, ridge regression of its observed targets on ``basis`` (batched normal equations)."""
    k = basis.shape[1]
    outer = (basis[:, :, None] * basis[:, None, :]).reshape(len(basis), k * k)
    gram = (observed @ outer).reshape(-1, k, k) + reg * np.eye(k)
    return np.linalg.solve(gram, (target @ basis)[..., None])[..., 0]


def test_dense_shape_with_everyone_rating_everything():
    ratings = synthetic.generate(30, 20, 600, seed=1).ratings
    assert len(ratings) == 600
    assert (ratings.groupby("user_id").size() == 20).all()


def test_progress_reaches_one():
    seen: list[float] = []
    synthetic.generate(50, 40, 500, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("shape", [(0, 10, 10), (10, 0, 10), (10, 10, 5), (10, 10, 101)])
def test_impossible_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="n_"):
        synthetic.generate(*shape)


def test_movielens_csv_round_trip(tmp_path):
    original = synthetic.generate(300, 120, 6_000, seed=5)
    folder = synthetic.write_movielens_csv(original, tmp_path / "synthetic-csv")
    lines = (folder / "ratings.csv").read_text().splitlines()
    assert lines[0] == "userId,movieId,rating,timestamp"
    assert lines[1].split(",")[2] in {f"{0.5 * i:.1f}" for i in range(1, 11)}
    assert (folder / "movies.csv").read_text().splitlines()[1].startswith("1,Synthetic movie 1 (")

    raw = pacsv.read_csv(folder / "ratings.csv").to_pandas()
    assert np.array_equal(raw["rating"].to_numpy(np.float32), original.ratings["rating"])
    assert np.array_equal(raw["timestamp"].to_numpy(), original.ratings["timestamp"])

    assert movielens_csv.matches(FileSet.scan(folder))
    loaded = load_path(folder)
    pd.testing.assert_frame_equal(loaded.ratings, original.ratings)
    catalog = loaded.catalog
    assert catalog["title"].tolist() == original.catalog["title"].tolist()
    assert catalog["year"].tolist() == original.catalog["year"].tolist()
    assert catalog["genres"].tolist() == original.catalog["genres"].tolist()


def test_the_kth_largest_key_is_numpys_with_ties_and_minus_infinity():
    rng = np.random.default_rng(0)
    for trial in range(600):
        n = int(rng.integers(1, 60))
        if trial % 3 == 0:
            keys = rng.normal(size=n)
        elif trial % 3 == 1:
            keys = rng.integers(0, 4, n).astype(float)  # many ties
        else:  # a zero weight gives the key -inf
            keys = np.where(rng.random(n) < 0.3, -np.inf, np.log(rng.random(n)))
        k = int(rng.integers(1, n + 1))
        before = keys.copy()
        assert _kth_largest(keys, k) == np.partition(keys, n - k)[n - k], (keys, k)
        np.testing.assert_array_equal(keys, before)  # the sampler reads them again in id order
