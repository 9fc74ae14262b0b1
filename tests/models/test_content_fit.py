"""Content-based model: the fast path against the dense reference, featurisation details, and
neighbours on real catalogs (the shared contract, per feature set: test_content.py,
test_content_tfidf.py, test_content_kg.py)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset, empty_ratings
from movierec.errors import DataFormatError, UnknownUserError
from movierec.models.content import ContentRecommender
from movierec.models.textfeatures import feature_matrix, resolve_features, soup_documents
from tests.conftest import shared_dataset
from tests.models.conformance import GROUP, checkerboard

# --- the fast path answers exactly what the protocol's dense path answers ----------------------


def random_dataset(n_movies: int = 400, n_users: int = 30, seed: int = 3) -> Dataset:
    """Random token sets over a small vocabulary: many ties, some movies with no tokens."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"kw{i}" for i in range(60)]
    keywords = [
        list(rng.choice(vocabulary, size=rng.integers(0, 6), replace=False))
        for _ in range(n_movies)
    ]
    keywords[5] = keywords[7] = []  # featureless movies
    keywords[11] = keywords[12] = ["kw1", "kw2", "kw3"]  # exact duplicates: a true tie
    catalog = pd.DataFrame(
        {
            "movie_id": 10 * np.arange(n_movies) + 1,
            "title": [f"m{i}" for i in range(n_movies)],
            "genres": [[] for _ in range(n_movies)],
            "keywords": keywords,
        }
    )
    rows = [
        (u, m, float(rng.integers(1, 6)))
        for u in range(n_users)
        for m in rng.choice(n_movies, size=rng.integers(1, 40), replace=False)
    ]
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    ratings["movie_id"] = 10 * ratings["movie_id"] + 1
    ratings["timestamp"] = 0
    return Dataset("random", catalog, ratings, None, FIVE_STARS, "test")


def assert_top_k_of(model, ranking, scores, k, excluded=None, candidates=None) -> None:
    """``ranking`` is the dense answer: the k best allowed scores, best first, ties by index.

    Checked against the dense score vector up to float noise, since the kernel sums a movie's
    products in another order than scipy does and mathematically equal scores may differ in
    their last bits.
    """
    allowed = set(range(len(model.movies)))
    if candidates is not None:
        known = model.movies.indices(candidates, missing="mask")
        allowed = set(known[known >= 0].tolist())
    allowed -= set(np.asarray(excluded if excluded is not None else [], int).tolist())
    chosen = model.movies.indices(ranking.movie_ids)
    assert len(chosen) == min(k, len(allowed)) and set(chosen.tolist()) <= allowed
    np.testing.assert_allclose(ranking.scores, scores[chosen], atol=1e-9)
    assert np.all(np.diff(ranking.scores) <= 1e-12)
    rest = sorted(allowed - set(chosen.tolist()))
    if rest:
        assert scores[rest].max() <= ranking.scores[-1] + 1e-9
    same = ranking.scores[1:] == ranking.scores[:-1]
    assert np.all(np.diff(chosen)[same] > 0), "exact ties must go to the lower index"


@pytest.fixture(scope="module")
def random_model() -> ContentRecommender:
    return ContentRecommender(features="soup").fit(random_dataset())


@pytest.mark.parametrize("k", [1, 10, 1000])
def test_fast_similar_equals_dense_reference(random_model, k):
    model = random_model
    candidates = model.movies.ids[::3].copy()
    for movie_id in model.movies.ids[:60]:
        movie = model.movies.index(int(movie_id))
        scores = model.similarities(int(movie_id))
        for pool in (None, candidates):
            fast = model.similar_movies(int(movie_id), k, candidates=pool)
            assert_top_k_of(model, fast, scores, k, [movie], pool)


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_fast_recommend_equals_dense_reference(random_model, exclude_seen):
    model = random_model
    for user_id in model.users.ids:
        scores = model.scores(int(user_id))
        excluded = model.history(int(user_id))[0] if exclude_seen else None
        for k, pool in ((10, None), (500, None), (5, model.movies.ids[1::4].copy())):
            fast = model.recommend(int(user_id), k, exclude_seen=exclude_seen, candidates=pool)
            assert_top_k_of(model, fast, scores, k, excluded, pool)


def test_fast_paths_equal_the_dense_reference_after_fold_ins():
    model = ContentRecommender(features="soup").fit(random_dataset())
    model.fold_in_movie(99_991, [0, 1], [5.0, 2.0])  # no metadata: an empty feature row
    ids = model.movies.ids
    model.fold_in_user(777, ids[[3, 8, 40, 41, -1]], [5.0, 4.0, 1.0, 5.0, 5.0])  # a new user
    model.fold_in_user(0, ids[[10, 11, 12]], [5.0, 5.0, 2.0])  # a changed history
    # raters 0 and 1, then 777; user 0's new history leaves it out
    assert model.movie_votes[-1] == 2 and len(model._x.indptr) == len(ids) + 1
    for user_id in (777, 0, 1):
        scores, seen = model.scores(user_id), model.history(user_id)[0]
        for k, pool in ((10, None), (1000, None), (5, ids[1::4].copy())):
            fast = model.recommend(user_id, k, candidates=pool)
            assert_top_k_of(model, fast, scores, k, seen, pool)
    new = len(ids) - 1
    fast = model.similar_movies(99_991, 1000)
    assert_top_k_of(model, fast, model.similarities(99_991), 1000, [new])
    assert not fast.scores.any()  # similar to nothing, in catalogue order
    assert not model.has_features(99_991)


def test_featureless_movies_score_zero_after_every_real_match(random_model):
    model = random_model
    ranking = model.similar_movies(121, k=1000)  # movie 12, twin of movie 11
    assert ranking.movie_ids[0] == 111 and ranking.scores[0] == pytest.approx(1.0)
    positive = ranking.scores > 0
    assert not positive[np.flatnonzero(~positive)[0] :].any()  # zeros come last
    zero_ids = ranking.movie_ids[~positive]
    assert {51, 71} <= set(zero_ids) and list(zero_ids) == sorted(zero_ids)
    assert not model.has_features(51) and model.has_features(121)
    alone = model.similar_movies(51, k=3)
    np.testing.assert_array_equal(alone.scores, 0.0)
    assert list(alone.movie_ids) == [1, 11, 21]  # catalogue order, itself left out


def test_a_memory_mapped_model_answers_the_same(random_model, tmp_path, monkeypatch):
    from movierec.models import artifact

    monkeypatch.setattr(artifact, "_MMAP_BYTES", 0)  # map every array, as large models are
    random_model.save(tmp_path / "model")
    loaded = ContentRecommender.load(tmp_path / "model")
    for movie_id in (1, 121, 51):
        a, b = random_model.similar_movies(movie_id, 20), loaded.similar_movies(movie_id, 20)
        np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
        np.testing.assert_array_equal(a.scores, b.scores)
    for user_id in random_model.users.ids[:5]:
        a, b = random_model.recommend(int(user_id), 20), loaded.recommend(int(user_id), 20)
        np.testing.assert_array_equal(a.movie_ids, b.movie_ids)


# --- fitting on what a catalog has -------------------------------------------------------------


def test_a_catalog_without_ratings_still_gives_similar_movies():
    data = checkerboard()
    unrated = Dataset("catalog only", data.catalog, empty_ratings(), None, FIVE_STARS, "test")
    model = ContentRecommender(features="soup").fit(unrated)
    assert set(model.similar_movies(1000, k=GROUP - 1).movie_ids) == set(range(1001, 1006))
    with pytest.raises(UnknownUserError):
        model.recommend(100)


def test_auto_picks_the_richest_features_and_remembers_them(tmp_path):
    data = checkerboard()
    catalog = data.catalog
    assert resolve_features("auto", catalog) == "soup"
    assert (
        resolve_features("auto", catalog.drop(columns=["cast", "director", "keywords"])) == "tfidf"
    )
    assert resolve_features("auto", catalog[["movie_id", "title", "genres"]]) == "soup"
    with_kg = catalog.assign(kg_tokens=[["actor:x"]] * len(catalog))
    assert resolve_features("auto", with_kg) == "kg"
    sparse_text = catalog[["movie_id", "title", "genres"]].assign(
        overview=["words here"] + [""] * (len(catalog) - 1)
    )
    assert resolve_features("auto", sparse_text) == "soup"  # genres cover more than the text
    model = ContentRecommender().fit(data)
    assert model.features == "soup" and model.config.features == "auto"
    model.save(tmp_path / "m")
    assert ContentRecommender.load(tmp_path / "m").features == "soup"


def test_missing_columns_are_named():
    data = checkerboard()
    no_text = data.with_catalog(data.catalog.drop(columns=["overview"]))
    with pytest.raises(DataFormatError, match="overview or tags"):
        ContentRecommender(features="tfidf").fit(no_text)
    with pytest.raises(DataFormatError, match="kg_tokens"):
        ContentRecommender(features="kg").fit(data)
    with pytest.raises(DataFormatError, match="min_df=50"):
        ContentRecommender(features="soup", min_df=50).fit(data)


def test_soup_is_the_kaggle_recipe():
    catalog = pd.DataFrame(
        {
            "movie_id": [1],
            "genres": [["Science Fiction"]],
            "director": [["Ridley Scott"]],
            "cast": [
                ["Sigourney Weaver", "Tom Skerritt", "Veronica Cartwright", "Harry Dean Stanton"]
            ],
            "keywords": [["alien", "space ship"]],
        }
    )
    (tokens,) = soup_documents(catalog, top_cast=3)
    assert tokens == [
        "sigourneyweaver",
        "tomskerritt",
        "veronicacartwright",
        "ridleyscott",
        "alien",
        "spaceship",
        "sciencefiction",
    ]
    matrix = feature_matrix("soup", catalog)
    assert matrix.shape == (1, 7) and np.isclose((matrix.data**2).sum(), 1.0)


@pytest.mark.parametrize("idf", [False, True])
def test_a_film_known_only_by_its_genres_is_not_closer_for_knowing_less(idf):
    """A catalog partly enriched: film 3 has no credits or keywords. Unit-normalised, its
    genres alone made it closer to film 1 than film 2, which shares a genre and a star."""
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 3, 4],
            "genres": [["Sci-Fi", "Adventure"], ["Sci-Fi", "Comedy"], ["Sci-Fi"], ["Drama"]],
            "director": [["George Lucas"], ["Mel Brooks"], [], ["Robert Altman"]],
            "cast": [["Mark Hamill", "Harrison Ford"], ["Mark Hamill", "Rick Moranis"], [], ["X"]],
            "keywords": [["space", "rebel"], ["parody", "helmet", "schwartz"], [], ["satire"]],
        }
    )
    x = feature_matrix("soup", catalog, idf=idf).toarray()
    assert x[0] @ x[1] > x[0] @ x[2]
    lengths = np.linalg.norm(x, axis=1)
    assert np.allclose(lengths[[0, 1, 3]], 1.0) and 0 < lengths[2] < 1
    model = ContentRecommender(features="soup", idf=idf).fit(
        Dataset("partial", catalog, empty_ratings(), scale=FIVE_STARS)
    )
    assert model.similar_movies(1, 2).movie_ids.tolist() == [2, 3]
    # every movie with every field, or a field on none: plain unit rows, as before
    full = catalog.iloc[[0, 1, 3]].reset_index(drop=True)
    assert np.allclose(np.linalg.norm(feature_matrix("soup", full, idf=idf).toarray(), axis=1), 1)
    genres_only = catalog[["movie_id", "genres"]]
    lengths = np.linalg.norm(feature_matrix("soup", genres_only, idf=idf).toarray(), axis=1)
    assert np.allclose(lengths, 1.0)


def test_profile_falls_back_to_the_users_best_ratings():
    data = checkerboard()
    grumpy = data.ratings.copy()
    mine = grumpy["user_id"] == 100
    grumpy.loc[mine, "rating"] = np.where(grumpy.loc[mine, "rating"] >= 4, 3.0, 1.0)  # none ≥ 4
    model = ContentRecommender(features="soup").fit(
        Dataset("grumpy", data.catalog, grumpy, None, FIVE_STARS, "test")
    )
    assert model.recommend(100, k=1).movie_ids[0] == 1000  # best-rated are still group A
    strict = ContentRecommender(features="soup", like_threshold=5.0).fit(data)
    assert strict.recommend(100, k=1).movie_ids[0] == 1000


def test_registry_names_each_feature_set():
    from movierec.models import registry

    for name in ("tfidf", "soup", "kg"):
        assert registry.create(f"content-{name}").config.features == name
    assert registry.create("content").config.features == "auto"


# --- real catalogs (../shared/data) -----------------------------------------------------------


def load_shared(name: str) -> Dataset:
    from movierec.data.sources import load_path

    return load_path(shared_dataset(name))


def ids_titled(catalog: pd.DataFrame, prefix: str) -> set[int]:
    return set(catalog.loc[catalog["title"].str.startswith(prefix), "movie_id"].astype(int))


def one_id(catalog: pd.DataFrame, title: str) -> int:
    (movie_id,) = catalog.loc[catalog["title"] == title, "movie_id"]
    return int(movie_id)


def assert_series_and_sequels(
    model: ContentRecommender, catalog: pd.DataFrame, share: float
) -> None:
    """Star Trek films' neighbours are mostly Star Trek; sequels find their prequels."""
    trek = ids_titled(catalog, "Star Trek")
    assert len(trek) >= 8
    shares = [np.isin(model.similar_movies(m, k=5).movie_ids, list(trek)).mean() for m in trek]
    assert np.mean(shares) >= share, shares
    rises = model.similar_movies(one_id(catalog, "The Dark Knight Rises"), k=5).movie_ids
    assert {one_id(catalog, "The Dark Knight"), one_id(catalog, "Batman Begins")} & set(rises)
    toy3 = model.similar_movies(one_id(catalog, "Toy Story 3"), k=10).movie_ids
    assert one_id(catalog, "Toy Story 2") in toy3


@pytest.mark.slow
def test_tmdb_10k_soup_neighbours_are_the_series():
    data = load_shared("tmdb-10k")
    model = ContentRecommender(features="soup").fit(data)
    assert_series_and_sequels(model, data.catalog, share=0.6)


@pytest.mark.slow
def test_tmdb_10k_tfidf_neighbours_are_the_series():
    data = load_shared("tmdb-10k")
    model = ContentRecommender(features="tfidf").fit(data)
    assert_series_and_sequels(model, data.catalog, share=0.6)


@pytest.mark.slow
def test_enriched_ml_latest_small_soup_neighbours_are_the_series():
    from movierec.data.enrich import enrich

    base = load_shared("ml-latest-small")
    sources = [load_shared(n) for n in ("the-movies-dataset", "tmdb-10k", "tmdb-5000")]
    data, _ = enrich(base, sources)
    # Raw counts let the ~30% of movies with genres alone crowd every neighbour list (a Star
    # Trek film's top 5 are half Star Trek); idf restores the shared cast and keywords.
    model = ContentRecommender(features="soup", idf=True).fit(data)
    assert_series_and_sequels(model, data.catalog, share=0.6)
    user = int(data.ratings["user_id"].iloc[0])
    ranking = model.recommend(user, k=10)
    seen = set(data.ratings.loc[data.ratings["user_id"] == user, "movie_id"])
    assert len(ranking) == 10 and not seen & set(ranking.movie_ids)


def kg_series_neighbours(data: Dataset) -> None:
    model = ContentRecommender(features="kg").fit(data)
    catalog = data.catalog
    trek = ids_titled(catalog, "Star Trek")
    khan = model.similar_movies(one_id(catalog, "Star Trek: The Wrath of Khan"), k=5)
    assert np.isin(khan.movie_ids, list(trek)).mean() >= 0.8, khan
    for title, sequel in (
        ("The Godfather", "The Godfather: Part II"),
        ("Alien", "Aliens"),
        ("Die Hard 2", "Die Hard"),
    ):
        assert (
            one_id(catalog, sequel) in model.similar_movies(one_id(catalog, title), k=3).movie_ids
        ), title


@pytest.mark.slow
def test_ml_100k_kg_neighbours_are_the_series():
    """RecBole's links hold ML-1M ids; the loader re-links them through ML-1M's movies.dat."""
    from movierec.data.sources import load_path

    data = load_path(
        shared_dataset("ml-100k-recbole"), extra=[shared_dataset("ml-1m") / "movies.dat"]
    )
    kg_series_neighbours(data)


def test_ml_100k_without_ml1m_titles_has_no_misattached_kg_tokens():
    data = load_shared("ml-100k-recbole")
    assert "kg_tokens" not in data.catalog.columns
    assert any("MovieLens-1M ids" in str(note) for note in data.report)


@pytest.mark.bench
def test_similar_query_on_45k_movies_is_under_a_millisecond():
    data = load_shared("the-movies-dataset")
    model = ContentRecommender(features="soup").fit(data)
    assert len(model.movies) > 40_000
    ids = np.random.default_rng(0).choice(model.movies.ids, 300).tolist()
    model.similar_movies(ids[0])  # compile or load the kernel
    times = []
    for movie_id in ids:
        start = time.perf_counter()
        model.similar_movies(movie_id, k=10)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 1e-3, np.median(times)
