"""The behaviour every model must show; each model's test module subclasses this in a few lines.

    class TestMyModel(RecommenderContract):
        model_class = MyModel
        bad_params = [{"factors": 0}]

What a model can do is read from its declared flags (``predicts_ratings``, ``supports_online``),
so a missing capability is visible rather than skipped by a caught exception.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.errors import NotFittedError, UnknownMovieError, UnknownUserError
from movierec.models.base import Recommender

GROUP = 6  # users and movies per taste group


def checkerboard() -> Dataset:
    """Two taste groups; user i of a group has rated every movie but the i-th of its own group.

    Group A users love group A movies (comedies about "alpha") and dislike group B movies
    (horror about "beta"), and the reverse. The withheld movie is the only unseen one the
    user should love, so any model that learns tastes — from ratings or from content — must
    rank it first.
    """
    rng = np.random.default_rng(7)
    users, movies, ratings = [], [], []
    for u in range(2 * GROUP):
        group = u // GROUP
        for m in range(2 * GROUP):
            if m == u:
                continue  # the withheld diagonal
            liked = m // GROUP == group
            users.append(100 + u)
            movies.append(1000 + m)
            ratings.append(float(rng.choice([4, 5]) if liked else rng.choice([1, 2])))
    catalog = pd.DataFrame({
        "movie_id": 1000 + np.arange(2 * GROUP),
        "title": [f"{'Alpha' if m < GROUP else 'Beta'} film {m}" for m in range(2 * GROUP)],
        "year": [1990 + m for m in range(2 * GROUP)],
        "genres": [["Comedy"] if m < GROUP else ["Horror"] for m in range(2 * GROUP)],
        "overview": [f"a funny alpha story number {m}" if m < GROUP else
                     f"a scary beta story number {m}" for m in range(2 * GROUP)],
        "cast": [["Alpha Actor"] if m < GROUP else ["Beta Actor"] for m in range(2 * GROUP)],
        "director": [["Alpha Director"] if m < GROUP else ["Beta Director"]
                     for m in range(2 * GROUP)],
        "keywords": [["alpha"] if m < GROUP else ["beta"] for m in range(2 * GROUP)],
    })
    frame = pd.DataFrame({"user_id": users, "movie_id": movies, "rating": ratings,
                          "timestamp": np.arange(len(users))})
    return Dataset("checkerboard", catalog, frame, None, FIVE_STARS, "test")


class RecommenderContract:
    """Subclass with ``model_class`` set; override :meth:`make_model` to pass parameters."""

    model_class: type[Recommender]
    bad_params: list[dict] = []

    def make_model(self, **overrides) -> Recommender:
        return self.model_class(**overrides)

    def make_data(self) -> Dataset:
        return checkerboard()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls):
        contract = cls()
        return contract.make_model().fit(contract.make_data())

    # --- fit ----------------------------------------------------------------------------------

    def test_fit_returns_self_and_leaves_data_alone(self):
        data = self.make_data()
        before = (data.ratings.copy(), copy.deepcopy(data.catalog))
        model = self.make_model()
        assert model.fit(data) is model
        pd.testing.assert_frame_equal(data.ratings, before[0])
        pd.testing.assert_frame_equal(data.catalog, before[1])

    def test_use_before_fit_raises(self):
        model = self.make_model()
        with pytest.raises(NotFittedError):
            model.recommend(100)
        with pytest.raises(NotFittedError):
            model.similar_movies(1000)
        if model.predicts_ratings:
            with pytest.raises(NotFittedError):
                model.predict([100], [1000])

    # --- rankings -----------------------------------------------------------------------------

    def test_checkerboard_ranks_the_withheld_movie_first(self, fitted):
        for u in range(2 * GROUP):
            ranking = fitted.recommend(100 + u, k=3)
            assert ranking.movie_ids[0] == 1000 + u, (u, ranking)

    def test_seen_movies_are_excluded_unless_asked(self, fitted):
        seen = set(self.make_data().ratings.query("user_id == 100")["movie_id"])
        everything = fitted.recommend(100, k=100)
        assert list(everything.movie_ids) == [1000]  # all else is seen
        with_seen = fitted.recommend(100, k=100, exclude_seen=False)
        assert set(with_seen.movie_ids) == seen | {1000}

    def test_k_larger_than_catalogue_returns_it_all_sorted(self, fitted):
        ranking = fitted.recommend(100, k=1000, exclude_seen=False)
        assert len(ranking) == 2 * GROUP
        assert np.all(np.diff(ranking.scores) <= 1e-12)
        similar = fitted.similar_movies(1000, k=1000)
        assert len(similar) == 2 * GROUP - 1 and 1000 not in similar.movie_ids

    def test_similar_movies_come_from_the_same_group(self, fitted):
        for m in (0, GROUP):
            ranking = fitted.similar_movies(1000 + m, k=GROUP - 1)
            groups = {(movie - 1000) // GROUP for movie in ranking.movie_ids}
            assert groups == {m // GROUP}, ranking

    def test_candidates_restrict_the_answer(self, fitted):
        allowed = np.array([1007, 1003, 424242])  # an unknown id is ignored
        ranking = fitted.recommend(100, k=5, exclude_seen=False, candidates=allowed)
        assert set(ranking.movie_ids) == {1003, 1007}
        similar = fitted.similar_movies(1000, k=5, candidates=allowed)
        assert list(similar.movie_ids) == [1003, 1007]

    # --- bad input ----------------------------------------------------------------------------

    def test_unknown_ids_raise_named_errors(self, fitted):
        with pytest.raises(UnknownUserError):
            fitted.recommend(999_999)
        with pytest.raises(UnknownMovieError):
            fitted.similar_movies(999_999)
        if fitted.predicts_ratings:
            with pytest.raises(UnknownMovieError):
                fitted.predict([100], [999_999])

    @pytest.mark.parametrize("k", [0, -1, 2.5, True])
    def test_bad_k_is_a_value_error(self, fitted, k):
        with pytest.raises(ValueError, match="k must be"):
            fitted.recommend(100, k=k)
        with pytest.raises(ValueError, match="k must be"):
            fitted.similar_movies(1000, k=k)

    def test_bad_parameters_name_themselves(self):
        for params in self.bad_params:
            (name,) = params
            with pytest.raises(ValueError, match=name):
                self.make_model(**params)

    def test_config_round_trips_through_json(self):
        model = self.make_model()
        config = type(model.config).from_json(model.config.to_json())
        assert config == model.config

    # --- determinism and persistence ----------------------------------------------------------

    def test_same_seed_same_output(self, fitted):
        again = self.make_model().fit(self.make_data())
        for u in (100, 107):
            a, b = fitted.recommend(u, k=5, exclude_seen=False), again.recommend(
                u, k=5, exclude_seen=False)
            np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6, atol=1e-9)

    def test_save_load_reproduces_scores(self, fitted, tmp_path):
        fitted.save(tmp_path / "model")
        loaded = type(fitted).load(tmp_path / "model")
        for u in (100, 111):
            a = fitted.recommend(u, k=12, exclude_seen=False)
            b = loaded.recommend(u, k=12, exclude_seen=False)
            np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
        a, b = fitted.similar_movies(1003, k=5), loaded.similar_movies(1003, k=5)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
        if fitted.predicts_ratings:
            np.testing.assert_allclose(fitted.predict([100, 101], [1000, 1007]),
                                       loaded.predict([100, 101], [1000, 1007]), atol=1e-6)

    def test_batch_predictions_equal_single_ones(self, fitted):
        if not fitted.predicts_ratings:
            pytest.skip(f"{type(fitted).__name__} declares predicts_ratings = False")
        users = np.array([100, 101, 107, 111])
        movies = np.array([1000, 1006, 1002, 1011])
        batch = fitted.predict(users, movies)
        single = [fitted.predict([u], [m])[0] for u, m in zip(users, movies, strict=True)]
        np.testing.assert_allclose(batch, single, atol=1e-9)
