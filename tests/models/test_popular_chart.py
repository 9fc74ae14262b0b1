"""The chart's arithmetic: the IMDB weighted rating, genre-first similar movies, and fold-ins
that move the votes and sums exactly (the shared contract is in test_popular.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from movierec.data.charts import weighted_chart
from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.models import registry
from movierec.models.popular import ChartRecommender
from tests.models.conformance import GROUP, checkerboard


def hand_chart(ratings: pd.DataFrame, movie_ids: np.ndarray, m: float, C: float) -> np.ndarray:
    stats = ratings.groupby("movie_id")["rating"].agg(["count", "mean"]).reindex(movie_ids)
    v, r = stats["count"].fillna(0).to_numpy(), stats["mean"].fillna(C).to_numpy()
    return v / (v + m) * r + m / (v + m) * C


def small_catalog() -> Dataset:
    rng = np.random.default_rng(3)
    n_movies = 40
    rows = [
        (u, m, float(rng.integers(1, 6)))
        for u in range(60)
        for m in rng.choice(n_movies, size=int(rng.integers(1, 30)), replace=False)
    ]
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"]).assign(timestamp=0)
    genres = [["Drama"], ["Comedy"], ["Drama", "Comedy"], []] * (n_movies // 4)
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(n_movies + 2),
            "title": "x",
            "year": 2000,
            "genres": genres + [["Horror"], ["Drama"]],
        }
    )
    return Dataset("small", catalog, ratings, None, FIVE_STARS, "test")


def test_scores_are_the_imdb_weighted_rating_and_order_the_printed_chart():
    data = small_catalog()
    model = ChartRecommender(quantile=0.5).fit(data)
    rated = model.movie_votes > 0
    means = data.ratings.groupby("movie_id")["rating"].mean()
    assert model.m == np.quantile(model.movie_votes[rated], 0.5)
    assert model.C == pytest.approx(means.mean())
    np.testing.assert_allclose(
        model.chart_scores(), hand_chart(data.ratings, model.movies.ids, model.m, model.C)
    )
    printed = weighted_chart(data, k=1000, quantile=0.5)
    ranking = model.recommend(
        0, k=1000, exclude_seen=False, candidates=np.array([e.movie_id for e in printed.entries])
    )
    assert list(ranking.movie_ids) == [e.movie_id for e in printed.entries]
    np.testing.assert_allclose(ranking.scores, [e.score for e in printed.entries], atol=1e-4)
    unrated = model.movies.index(41)  # in the catalog, never rated: the prior C
    assert model.chart_scores()[unrated] == pytest.approx(model.C)


def test_every_user_gets_the_same_list_minus_what_they_saw():
    data = small_catalog()
    model = ChartRecommender().fit(data)
    everything = model.recommend(0, k=1000, exclude_seen=False).movie_ids
    for user in (0, 7, 33):
        seen = set(data.ratings.query("user_id == @user")["movie_id"])
        assert list(model.recommend(user, k=1000).movie_ids) == [
            m for m in everything if m not in seen
        ]


def test_similar_movies_share_genres_first_then_follow_the_chart():
    data = small_catalog()
    model = ChartRecommender().fit(data)
    chart = model.chart_scores()
    ranking = model.similar_movies(2, k=1000)  # Drama + Comedy
    genres = data.catalog.set_index("movie_id")["genres"]
    overlap = [
        len(set(genres[m]) & {"Drama", "Comedy"}) / len(set(genres[m]) | {"Drama", "Comedy"})
        for m in ranking.movie_ids
    ]
    assert overlap == sorted(overlap, reverse=True)  # the genre overlap decides
    for value in set(overlap):  # the chart orders movies that overlap equally
        tied = [
            model.movies.index(m)
            for m, o in zip(ranking.movie_ids, overlap, strict=True)
            if o == value
        ]
        assert list(chart[tied]) == sorted(chart[tied], reverse=True)
    assert set(ranking.movie_ids[:9]) == {
        m for m in genres.index if m != 2 and genres[m] == ["Drama", "Comedy"]
    }


def test_a_loaded_chart_keeps_folding_in(tmp_path):
    model = ChartRecommender().fit(small_catalog())
    model.fold_in_user(999, [3, 5], [5.0, 4.0])
    model.save(tmp_path / "chart")
    loaded = ChartRecommender.load(tmp_path / "chart")
    np.testing.assert_allclose(loaded.chart_scores(), model.chart_scores())
    np.testing.assert_array_equal(loaded.movie_votes, model.movie_votes)
    loaded.fold_in_user(999, [3], [1.0])
    model.fold_in_user(999, [3], [1.0])
    np.testing.assert_allclose(loaded.chart_scores(), model.chart_scores())


def test_a_folded_in_user_moves_the_chart_as_training_with_them_would():
    data = checkerboard()
    ratings = data.ratings
    without = ratings[ratings["user_id"] != 100].reset_index(drop=True)
    model = ChartRecommender().fit(dataclasses.replace(data, ratings=without))
    history = ratings[ratings["user_id"] == 100].sample(frac=1.0, random_state=1)
    model.fold_in_user(100, history["movie_id"].to_numpy(), history["rating"].to_numpy())
    # the prior (m, C) stays as fitted without user 100; the votes and sums are the full data's
    expected = hand_chart(ratings, model.movies.ids, model.m, model.C)
    np.testing.assert_allclose(model.chart_scores(), expected, atol=1e-12)


def test_a_new_movie_is_charted_from_its_ratings_and_has_no_genres():
    model = ChartRecommender().fit(checkerboard())
    raters = np.array([101, 102, 103, 104, 105, 107, 108, 109, 110, 111])
    scores = np.array([5.0, 4, 5, 5, 4, 1, 2, 1, 1, 2])
    model.fold_in_movie(2000, raters, scores)
    new = model.movies.index(2000)
    assert model.chart_scores()[new] == pytest.approx(
        (10 * scores.mean() + model.m * model.C) / (10 + model.m)
    )
    similar = model.similar_movies(2000, k=100)  # no genres: the plain chart
    assert len(similar) == 2 * GROUP
    chart = model.chart_scores()[model.movies.indices(similar.movie_ids)]
    assert np.all(np.diff(chart) <= 1e-12)


def test_registry_name():
    assert isinstance(registry.create("chart"), ChartRecommender)
