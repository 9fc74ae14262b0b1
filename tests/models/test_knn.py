"""Item-kNN: the contract, Surprise's KNNBaseline definitions line by line, and ml-100k accuracy."""

import heapq

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.data.sources import load_path
from movierec.evaluate.metrics import mae, rmse
from movierec.evaluate.splits import kfold
from movierec.models.knn import ItemKNN
from tests.conftest import shared_dataset
from tests.models.conformance import RecommenderContract


class TestItemKNNContract(RecommenderContract):
    model_class = ItemKNN
    bad_params = [{"k": 0}, {"min_k": 0}, {"similarity": "jaccard"}, {"shrinkage": -1.0},
                  {"min_support": 0}, {"max_neighbors": 0}, {"reg_items": float("nan")},
                  {"reg_users": -1}, {"baseline_epochs": 0}, {"shrink_votes": -1}]


def dataset(rows: list[tuple[int, int, float]], n_movies: int | None = None) -> Dataset:
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    ratings["timestamp"] = 0
    movies = np.arange(1, (n_movies or int(ratings["movie_id"].max())) + 1)
    catalog = pd.DataFrame({"movie_id": movies, "title": [f"Movie {m}" for m in movies],
                            "year": 2000, "genres": [["Drama"]] * len(movies)})
    return Dataset("tiny", catalog, ratings, None, FIVE_STARS, "test")


def random_dataset(seed: int, users: int = 40, movies: int = 25, density: float = 0.35
                   ) -> Dataset:
    rng = np.random.default_rng(seed)
    mask = rng.random((users, movies)) < density
    mask[:, 0] = True  # every movie gets a rating, as Surprise's trainset would
    mask[0, :] = True
    u, m = np.nonzero(mask)
    stars = rng.integers(1, 6, len(u)).astype(float)
    return dataset(list(zip((u + 1).tolist(), (m + 1).tolist(), stars.tolist(), strict=True)),
                   movies)


# --- a transcription of Surprise 1.1's KNNBaseline (item-based), loops and all ------------------

def surprise_knn_baseline(data: Dataset, similarity: str, k: int = 40, min_k: int = 1,
                          shrinkage: float = 100.0):
    """Predict function built exactly as Surprise's baseline_als + similarities + estimate."""
    frame = data.ratings
    users = sorted(frame["user_id"].unique())
    items = sorted(frame["movie_id"].unique())
    uix = {u: n for n, u in enumerate(users)}
    iix = {i: n for n, i in enumerate(items)}
    ur = {n: [] for n in range(len(users))}
    ir = {n: [] for n in range(len(items))}
    for u, i, r in frame[["user_id", "movie_id", "rating"]].itertuples(index=False):
        ur[uix[u]].append((iix[i], r))
        ir[iix[i]].append((uix[u], r))
    mu = float(frame["rating"].mean())
    bu, bi = np.zeros(len(users)), np.zeros(len(items))
    for _ in range(10):  # baseline_als: reg_i 10, reg_u 15
        for i in ir:
            bi[i] = sum(r - mu - bu[u] for u, r in ir[i]) / (10 + len(ir[i]))
        for u in ur:
            bu[u] = sum(r - mu - bi[i] for i, r in ur[u]) / (15 + len(ur[u]))
    n = len(items)
    freq, prods, sq_i, sq_j = (np.zeros((n, n)) for _ in range(4))
    for y, ratings in ur.items():
        for xi, ri in ratings:
            for xj, rj in ratings:
                if similarity == "pearson_baseline":
                    di, dj = ri - (mu + bu[y] + bi[xi]), rj - (mu + bu[y] + bi[xj])
                else:
                    di, dj = ri, rj
                freq[xi, xj] += 1
                prods[xi, xj] += di * dj
                sq_i[xi, xj] += di * di
                sq_j[xi, xj] += dj * dj
    min_support = 2 if similarity == "pearson_baseline" else 1
    sim = np.eye(n)
    for xi in range(n):
        for xj in range(xi + 1, n):
            denominator = np.sqrt(sq_i[xi, xj] * sq_j[xi, xj])
            if freq[xi, xj] >= min_support and denominator > 0:
                sim[xi, xj] = prods[xi, xj] / denominator
                if similarity == "pearson_baseline":
                    sim[xi, xj] *= (freq[xi, xj] - 1) / (freq[xi, xj] - 1 + shrinkage)
            sim[xj, xi] = sim[xi, xj]

    def estimate(user_id: int, movie_id: int) -> float:
        u, i = uix[user_id], iix[movie_id]
        est = mu + bu[u] + bi[i]
        neighbours = [(j, sim[i, j], r) for j, r in ur[u]]
        sum_sim = sum_ratings = actual_k = 0
        for j, s, r in heapq.nlargest(k, neighbours, key=lambda t: t[1]):
            if s > 0:
                sum_sim += s
                sum_ratings += s * (r - (mu + bu[u] + bi[j]))
                actual_k += 1
        if actual_k < min_k:
            sum_ratings = 0
        return est + (sum_ratings / sum_sim if sum_sim else 0.0)

    return estimate


@pytest.mark.parametrize("similarity", ["pearson_baseline", "cosine"])
@pytest.mark.parametrize("k", [3, 40])
def test_predictions_equal_surprises_knn_baseline(similarity, k):
    data = random_dataset(seed=3)
    model = ItemKNN(similarity=similarity, k=k, max_neighbors=None, shrinkage=10.0).fit(data)
    reference = surprise_knn_baseline(data, similarity, k=k, shrinkage=10.0)
    rated = set(zip(data.ratings["user_id"], data.ratings["movie_id"], strict=True))
    pairs = [(u, m) for u in range(1, 41) for m in range(1, 26) if (u, m) not in rated]
    users, movies = np.array(pairs).T
    expected = [reference(u, m) for u, m in pairs]
    # similarities are stored as float32: agreement to ~1e-7
    np.testing.assert_allclose(model.predict(users, movies), expected, rtol=0, atol=2e-6)


def test_cosine_similarity_by_hand():
    # movies 1 and 2 co-rated by two users: (1, 2)·(2, 1) / (√5·√5) = 0.8
    model = ItemKNN(similarity="cosine").fit(dataset([(1, 1, 1), (1, 2, 2), (2, 1, 2),
                                                      (2, 2, 1), (3, 3, 5)]))
    similar = model.similar_movies(1, k=2)
    assert similar.movie_ids[0] == 2
    assert similar.scores[0] == pytest.approx(0.8)
    assert similar.scores[1] == 0.0  # movie 3 shares no user with movie 1


def test_a_single_neighbour_moves_the_baseline_by_its_residual():
    # user 3 rated only movie 2, movie 1's one positive neighbour: r̂ = b_31 + (r_32 − b_32)
    data = dataset([(1, 1, 1), (1, 2, 2), (2, 1, 2), (2, 2, 1), (3, 2, 4), (4, 1, 5)])
    model = ItemKNN(similarity="cosine").fit(data)
    u, i, j = model.users.index(3), model.movies.index(1), model.movies.index(2)
    expected = 4.0 + model.item_bias[i] - model.item_bias[j]
    assert model.predict([3], [1])[0] == pytest.approx(expected)
    strict = ItemKNN(similarity="cosine", min_k=2).fit(data)  # too few neighbours: baseline
    baseline = strict.global_mean + strict.user_bias[u] + strict.item_bias[i]
    assert strict.predict([3], [1])[0] == pytest.approx(baseline)


def test_max_neighbors_keeps_the_most_similar():
    data = random_dataset(seed=5)
    full = ItemKNN(max_neighbors=None, shrinkage=5.0).fit(data)
    capped = ItemKNN(max_neighbors=2, shrinkage=5.0).fit(data)
    for movie in (1, 7, 20):
        everything = full.similar_movies(movie, k=24)
        two = capped.similar_movies(movie, k=24)
        assert np.count_nonzero(two.scores) <= 2
        np.testing.assert_allclose(two.scores[:2], everything.scores[:2], rtol=1e-6)
        assert np.all(np.diff(everything.scores) <= 0)


def test_baselines_are_the_als_fixed_point_after_many_epochs():
    data = random_dataset(seed=8)
    model = ItemKNN(baseline_epochs=200).fit(data)
    frame = data.ratings
    u = model.users.indices(frame["user_id"].to_numpy())
    i = model.movies.indices(frame["movie_id"].to_numpy())
    residual = frame["rating"].to_numpy() - model.global_mean
    item_target = np.bincount(i, residual - model.user_bias[u], len(model.movies)) / (
        10 + np.bincount(i, minlength=len(model.movies)))
    np.testing.assert_allclose(model.item_bias, item_target, atol=1e-6)  # users moved last


@pytest.mark.slow
def test_ml100k_rmse_matches_surprise():
    data = load_path(shared_dataset("ml-100k-recbole"))
    split = next(kfold(data, 5, seed=0))
    model = ItemKNN().fit(split.train)
    known = split.test["movie_id"].isin(split.train.ratings["movie_id"]).to_numpy()
    test = split.test[known]
    predicted = model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy())
    error = rmse(test["rating"].to_numpy(), predicted)
    assert error < 0.95, error  # Surprise's KNNBaseline: 0.918 over 5 folds
    assert mae(test["rating"].to_numpy(), predicted) < 0.75
