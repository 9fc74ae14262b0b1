"""The chart baseline: the shared contract, the weighted-rating arithmetic, fold-ins."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from movierec.data.charts import weighted_chart
from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.models import registry
from movierec.models.popular import ChartRecommender
from tests.models.conformance import GROUP, RecommenderContract


class TestChart(RecommenderContract):
    model_class = ChartRecommender
    bad_params = [{"quantile": 1.0}, {"quantile": -0.1}, {"quantile": "high"}]

    # The contract's three online checks below assert a *personal* taste (a folded-in user ranks
    # their own group first, two users rank a new movie differently) or call ``predict``. A chart
    # is the same list for everyone and predicts no rating, so here each is replaced by what a
    # chart must do instead: fold-ins move the votes exactly, and the chart follows them.

    def test_fold_in_of_a_withheld_user_ranks_as_training_with_them(self, fitted):
        data = self.make_data()
        ratings = data.ratings
        model = self.online_model(
            dataclasses.replace(
                data, ratings=ratings[ratings["user_id"] != 100].reset_index(drop=True)
            )
        )
        history = ratings[ratings["user_id"] == 100].sample(frac=1.0, random_state=1)
        model.fold_in_user(100, history["movie_id"].to_numpy(), history["rating"].to_numpy())
        assert list(model.recommend(100, k=3).movie_ids) == [1000]  # all else is seen now
        np.testing.assert_array_equal(model.movie_votes, fitted.movie_votes)
        # the prior (m, C) stays as fitted without user 100; the votes are the full data's
        expected = hand_chart(ratings, model.movies.ids, model.m, model.C)
        np.testing.assert_allclose(model.chart_scores(), expected, atol=1e-12)

    def test_fold_in_of_a_trained_user_with_their_own_history(self):
        model = self.online_model()
        before = model.chart_scores().copy()
        history = self.make_data().ratings.query("user_id == 103")
        model.fold_in_user(103, history["movie_id"].to_numpy(), history["rating"].to_numpy())
        np.testing.assert_allclose(model.chart_scores(), before, atol=1e-12)
        assert model.recommend(103, k=1).movie_ids[0] == 1003
        model.fold_in_user(
            103, history["movie_id"].to_numpy()[::-1], history["rating"].to_numpy()[::-1]
        )
        np.testing.assert_allclose(model.chart_scores(), before, atol=1e-12)
        model.fold_in_user(103, [1000], [1.0])  # a changed history replaces the old one
        assert model.movie_votes[model.movies.index(1001)] == 10
        assert model.movie_votes[model.movies.index(1003)] == 11  # 103 never rated it

    def test_fold_in_of_a_new_movie_makes_it_recommendable(self):
        model = self.online_model()
        raters = np.array([101, 102, 103, 104, 105, 107, 108, 109, 110, 111])
        scores = np.array([5.0, 4, 5, 5, 4, 1, 2, 1, 1, 2])
        model.fold_in_movie(2000, raters, scores)
        assert set(model.recommend(100, k=2).movie_ids) == {1000, 2000}
        assert list(model.recommend(101, k=5).movie_ids) == [1001]  # its raters have seen it
        new = model.movies.index(2000)
        assert model.movie_votes[new] == len(raters)
        assert model.chart_scores()[new] == pytest.approx(
            (10 * scores.mean() + model.m * model.C) / (10 + model.m)
        )
        assert len(model.similar_movies(2000, k=100)) == 2 * GROUP  # no genres: the chart
        model.fold_in_user(500, [1000, 2000], [5.0, 5.0])
        assert model.movie_votes[new] == len(raters) + 1
        assert set(model.recommend(500, k=100).movie_ids) == set(1001 + np.arange(11))


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


def test_registry_name():
    assert isinstance(registry.create("chart"), ChartRecommender)
