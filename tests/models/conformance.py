"""The behaviour every model must show; each model's test module subclasses this in a few lines.

    class TestMyModel(RecommenderContract):
        model_class = MyModel

The settings a model is built with for a 12 × 12 checkerboard and the parameters it must
refuse are tables in :mod:`tests.models.params`, read by model class; a contract module names
the class and, through the hooks, what makes its variant distinct (``params``, as
``{"features": "kg"}``; ``data_params``; ``requires``). It overrides no check.

What a model is decides what is asked of it, never a caught exception: the rating checks run
for a :class:`RatingPredictor`, the online checks for an :class:`OnlineRecommender` (and skip,
saying so, for the rest); ``movie_vectors()`` must work when ``embeds_movies`` is declared and
raise ``NoMovieVectorsError`` when it is not. How a model behaves is read from its declared
flags: ``personal`` (rankings differ per user), and for online models
``fold_in_matches_training``, ``places_new_movies`` and ``low_ratings_count_as_interest``.
A flag that is off drops the check it would make true and keeps every other one.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.errors import NotFittedError, UnknownMovieError, UnknownUserError
from movierec.models.base import NoMovieVectorsError, RatingPredictor, Recommender
from movierec.models.online import OnlineRecommender
from tests.models.params import bad_params, small_params

GROUP = 6  # users and movies per taste group


def checkerboard(*, kg_tokens: bool = False) -> Dataset:
    """Two taste groups; user i of a group has rated every movie but the i-th of its own group.

    Group A users love group A movies (comedies about "alpha") and dislike group B movies
    (horror about "beta"), and the reverse. The withheld movie is the only unseen one the
    user should love, so any model that learns tastes — from ratings or from content — must
    rank it first. With ``kg_tokens`` the catalog also links each group to its own
    knowledge-graph entities (an actor and a genre).
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
    catalog = pd.DataFrame(
        {
            "movie_id": 1000 + np.arange(2 * GROUP),
            "title": [f"{'Alpha' if m < GROUP else 'Beta'} film {m}" for m in range(2 * GROUP)],
            "year": [1990 + m for m in range(2 * GROUP)],
            "genres": [["Comedy"] if m < GROUP else ["Horror"] for m in range(2 * GROUP)],
            "overview": [
                f"a funny alpha story number {m}" if m < GROUP else f"a scary beta story number {m}"
                for m in range(2 * GROUP)
            ],
            "cast": [["Alpha Actor"] if m < GROUP else ["Beta Actor"] for m in range(2 * GROUP)],
            "director": [
                ["Alpha Director"] if m < GROUP else ["Beta Director"] for m in range(2 * GROUP)
            ],
            "keywords": [["alpha"] if m < GROUP else ["beta"] for m in range(2 * GROUP)],
        }
    )
    frame = pd.DataFrame(
        {
            "user_id": users,
            "movie_id": movies,
            "rating": ratings,
            "timestamp": np.arange(len(users)),
        }
    )
    data = Dataset("checkerboard", catalog, frame, None, FIVE_STARS, "test")
    if not kg_tokens:
        return data
    tokens = [
        ["actor:m.alpha", "genre:m.comedy"] if m < GROUP else ["actor:m.beta", "genre:m.horror"]
        for m in range(2 * GROUP)
    ]
    return data.with_catalog(data.catalog.assign(kg_tokens=tokens))


class RecommenderContract:
    """Subclass with ``model_class`` set; the hooks below pick the variant and its data."""

    model_class: type[Recommender]
    #: the variant under test: keyword arguments over the model's small settings
    params: ClassVar[dict[str, Any]] = {}
    #: keyword arguments of :func:`checkerboard`, the data every check fits on
    data_params: ClassVar[dict[str, Any]] = {}
    #: a module the model needs from an optional extra; without it every check skips
    requires: ClassVar[str | None] = None

    def make_model(self, **overrides: Any) -> Recommender:
        settings = {**small_params(self.model_class), **self.params, **overrides}
        return self.model_class(**settings)

    def make_data(self) -> Dataset:
        return checkerboard(**self.data_params)

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def required_module(cls):
        if cls.requires is not None:
            reason = f"{cls.model_class.__name__} needs {cls.requires} (an optional extra)"
            pytest.importorskip(cls.requires, reason=reason)

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
        for read in (model.scores, model.history):
            with pytest.raises(NotFittedError):
                read(100)
        with pytest.raises(NotFittedError):
            model.similarities(1000)
        if isinstance(model, RatingPredictor):
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

    def test_rankings_are_personal_as_declared(self, fitted):
        a = fitted.recommend(100, k=2 * GROUP, exclude_seen=False)
        b = fitted.recommend(106, k=2 * GROUP, exclude_seen=False)
        if fitted.personal:
            assert list(a.movie_ids) != list(b.movie_ids), (a, b)
        else:  # one list for everyone
            np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-12)

    def test_scores_are_what_recommend_ranks(self, fitted):
        n = len(fitted.movies)
        for user_id in (100, 107):
            scores = fitted.scores(user_id)
            assert scores.shape == (n,) and scores.dtype == np.float64
            ranking = fitted.recommend(user_id, k=n, exclude_seen=False)
            at = fitted.movies.indices(ranking.movie_ids)
            np.testing.assert_allclose(ranking.scores, scores[at], atol=1e-9)
        similar = fitted.similar_movies(1000, k=n)
        similarities = fitted.similarities(1000)
        assert similarities.shape == (n,) and similarities.dtype == np.float64
        at = fitted.movies.indices(similar.movie_ids)
        np.testing.assert_allclose(similar.scores, similarities[at], atol=1e-9)

    def test_history_is_what_recommend_leaves_out(self, fitted):
        mine = self.make_data().ratings.query("user_id == 100").sort_values("movie_id")
        movies, ratings = fitted.history(100)
        assert np.all(np.diff(movies) > 0)  # ascending
        np.testing.assert_array_equal(fitted.movies.ids[movies], mine["movie_id"])
        if ratings is not None:
            order = np.argsort(fitted.movies.indices(mine["movie_id"].to_numpy()))
            np.testing.assert_allclose(ratings, mine["rating"].to_numpy()[order])
        movies[:] = 0  # a copy: the model's lists are not handed out
        assert list(fitted.recommend(100, k=100).movie_ids) == [1000]

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

    def test_pair_similarity_matches_similar_movies(self, fitted):
        movies = np.array([1000, 1003, 1000 + GROUP + 2])  # several rows at once, as reasons ask
        rankings = [fitted.similar_movies(int(m), k=4) for m in movies]
        others = np.concatenate([r.movie_ids for r in rankings] + [[424242]])
        pairs = fitted.pair_similarity(movies, others)
        for row, ranking in enumerate(rankings):
            at = slice(4 * row, 4 * row + 4)
            np.testing.assert_allclose(pairs[row, at], ranking.scores, atol=1e-6)
        assert np.isnan(pairs[:, -1]).all()  # unknown to the model

    def test_candidates_restrict_the_answer(self, fitted):
        allowed = np.array([1007, 1003, 424242])  # an unknown id is ignored
        ranking = fitted.recommend(100, k=5, exclude_seen=False, candidates=allowed)
        assert set(ranking.movie_ids) == {1003, 1007}
        similar = fitted.similar_movies(1000, k=5, candidates=allowed)
        assert list(similar.movie_ids) == [1003, 1007]

    # --- bad input ----------------------------------------------------------------------------

    def test_unknown_ids_raise_named_errors(self, fitted):
        for read in (fitted.recommend, fitted.scores, fitted.history):
            with pytest.raises(UnknownUserError):
                read(999_999)
        for read in (fitted.similar_movies, fitted.similarities):
            with pytest.raises(UnknownMovieError):
                read(999_999)
        if isinstance(fitted, RatingPredictor):
            with pytest.raises(UnknownMovieError):
                fitted.predict([100], [999_999])

    @pytest.mark.parametrize("k", [0, -1, 2.5, True])
    def test_bad_k_is_a_value_error(self, fitted, k):
        with pytest.raises(ValueError, match="k must be"):
            fitted.recommend(100, k=k)
        with pytest.raises(ValueError, match="k must be"):
            fitted.similar_movies(1000, k=k)

    def test_bad_parameters_name_themselves(self):
        for params in bad_params(self.model_class):
            (name,) = params
            with pytest.raises(ValueError, match=name):
                self.make_model(**params)

    def test_config_round_trips_through_json(self):
        model = self.make_model()
        config = type(model.config).from_json(model.config.to_json())
        assert config == model.config

    # --- movie vectors (models that declare embeds_movies) ------------------------------------

    def test_movie_vectors_follow_the_declared_flag(self, fitted):
        if not self.model_class.embeds_movies:
            with pytest.raises(NoMovieVectorsError, match=fitted.kind):
                fitted.movie_vectors()
            return
        with pytest.raises(NotFittedError):
            self.make_model().movie_vectors()
        ids, vectors = fitted.movie_vectors()
        np.testing.assert_array_equal(ids, fitted.movies.ids)
        assert vectors.ndim == 2 and vectors.shape[0] == len(ids) and vectors.shape[1] >= 1
        assert np.issubdtype(vectors.dtype, np.floating) and np.isfinite(vectors).all()
        ids[:], vectors[:] = -1, np.nan  # copies: the model's state is not handed out
        again_ids, again = fitted.movie_vectors()
        assert (again_ids >= 0).all() and np.isfinite(again).all()

    # --- determinism and persistence ----------------------------------------------------------

    def test_same_seed_same_output(self, fitted):
        again = self.make_model().fit(self.make_data())
        for u in (100, 107):
            a, b = (
                fitted.recommend(u, k=5, exclude_seen=False),
                again.recommend(u, k=5, exclude_seen=False),
            )
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
        if isinstance(fitted, RatingPredictor):
            np.testing.assert_allclose(
                fitted.predict([100, 101], [1000, 1007]),
                loaded.predict([100, 101], [1000, 1007]),
                atol=1e-6,
            )

    def test_batch_predictions_equal_single_ones(self, fitted):
        if not isinstance(fitted, RatingPredictor):
            pytest.skip(f"{type(fitted).__name__} is not a RatingPredictor")
        users = np.array([100, 101, 107, 111])
        movies = np.array([1000, 1006, 1002, 1011])
        batch = fitted.predict(users, movies)
        single = [fitted.predict([u], [m])[0] for u, m in zip(users, movies, strict=True)]
        np.testing.assert_allclose(batch, single, atol=1e-9)

    # --- online fold-in (OnlineRecommender models) -------------------------------------------

    def online_model(self, data: Dataset | None = None) -> OnlineRecommender:
        """A freshly fitted model (fold-ins change it), or a skip for offline models."""
        if not issubclass(self.model_class, OnlineRecommender):
            pytest.skip(f"{self.model_class.__name__} is not an OnlineRecommender")
        return self.make_model().fit(data if data is not None else self.make_data())

    def test_fold_in_of_a_withheld_user_ranks_as_training_with_them(self, fitted):
        data = self.make_data()
        ratings = data.ratings
        model = self.online_model(
            dataclasses.replace(
                data, ratings=ratings[ratings["user_id"] != 100].reset_index(drop=True)
            )
        )
        with pytest.raises(UnknownUserError):
            model.recommend(100)
        history = ratings[ratings["user_id"] == 100].sample(frac=1.0, random_state=1)
        model.fold_in_user(100, history["movie_id"].to_numpy(), history["rating"].to_numpy())
        assert list(model.recommend(100, k=3).movie_ids) == [1000]  # all else is seen now
        np.testing.assert_array_equal(model.movie_votes, fitted.movie_votes)  # as trained
        if not model.personal or model.low_ratings_count_as_interest:
            return  # no taste of their own, or their dislikes pull the other group up
        folded = model.recommend(100, k=GROUP, exclude_seen=False).movie_ids
        trained = fitted.recommend(100, k=GROUP, exclude_seen=False).movie_ids
        assert len(set(folded) & set(trained)) >= GROUP - 1, (folded, trained)
        assert set(folded) == set(1000 + np.arange(GROUP))  # the user's own taste group

    def test_fold_in_of_a_trained_user_with_their_own_history(self):
        model = self.online_model()
        movies = 1000 + np.arange(2 * GROUP)

        def scores() -> np.ndarray:
            """Predicted ratings, or for a model that ranks only, its scores in movie order."""
            if isinstance(model, RatingPredictor):
                return model.predict(np.full(len(movies), 103), movies)
            return model.scores(103)[model.movies.indices(movies)]

        before = scores()
        history = self.make_data().ratings.query("user_id == 103")
        model.fold_in_user(103, history["movie_id"].to_numpy(), history["rating"].to_numpy())
        after = scores()
        if model.fold_in_matches_training:
            np.testing.assert_allclose(after, before, atol=1e-4)
        assert np.corrcoef(before, after)[0, 1] > 0.9, (before, after)
        assert model.recommend(103, k=1).movie_ids[0] == 1003
        model.fold_in_user(
            103, history["movie_id"].to_numpy()[::-1], history["rating"].to_numpy()[::-1]
        )
        np.testing.assert_allclose(scores(), after, atol=1e-9)  # idempotent, whatever the order
        model.fold_in_user(103, [1000], [1.0])  # a changed history replaces the old one
        votes = np.asarray(model.movie_votes)
        assert votes[model.movies.index(1001)] == 2 * GROUP - 2  # 103 took theirs back
        assert votes[model.movies.index(1003)] == 2 * GROUP - 1  # 103 had not rated it
        assert votes[model.movies.index(1000)] == 2 * GROUP - 1
        assert len(model.recommend(103, k=100)) == 2 * GROUP - 1  # only 1000 is seen

    def test_fold_in_of_a_new_movie_makes_it_recommendable(self):
        model = self.online_model()
        raters = np.array([101, 102, 103, 104, 105, 107, 108, 109, 110, 111])
        scores = np.array([5.0, 4, 5, 5, 4, 1, 2, 1, 1, 2])
        model.fold_in_movie(2000, raters, scores)
        assert 2000 in model.movies
        assert list(model.recommend(101, k=5).movie_ids) == [1001]  # its raters have seen it
        assert len(model.similar_movies(2000, k=100)) == 2 * GROUP  # findable
        if model.places_new_movies:
            assert set(model.recommend(100, k=2).movie_ids) == {1000, 2000}
            assert list(model.recommend(106, k=2).movie_ids) == [1006, 2000]
            similar = model.similar_movies(2000, k=GROUP - 1).movie_ids
            assert set(similar) <= set(1000 + np.arange(GROUP)), similar
            if isinstance(model, RatingPredictor):
                low, high = model.predict([106, 100], [2000, 2000])
                assert high > low + 1.0, (high, low)
        votes = np.asarray(model.movie_votes)
        assert votes[model.movies.index(2000)] == len(raters)
        liked, disliked = [1000, 1001, 1002, 1003, 2000], [1006, 1007, 1008, 1009]
        model.fold_in_user(500, liked + disliked, [5.0] * 5 + [1.0] * 4)  # new user rates it
        assert np.asarray(model.movie_votes)[model.movies.index(2000)] == len(raters) + 1
        if model.personal:
            assert set(model.recommend(500, k=2).movie_ids) == {1004, 1005}
        model.fold_in_movie(2000, raters, np.ones(len(raters)))  # known: votes follow users
        assert np.asarray(model.movie_votes)[model.movies.index(2000)] == len(raters) + 1
        assert list(model.recommend(101, k=5).movie_ids) == [1001]

    def test_fold_in_rejects_bad_input_and_changes_nothing(self):
        model = self.online_model()
        before = model.recommend(100, k=12, exclude_seen=False)
        n_users, n_movies = len(model.users), len(model.movies)
        with pytest.raises(UnknownMovieError):
            model.fold_in_user(100, [1000, 999_999], [4.0, 5.0])
        with pytest.raises(UnknownMovieError):
            model.fold_in_user(777, [999_999], [4.0])
        with pytest.raises(UnknownUserError):
            model.fold_in_movie(1000, [100, 999_999], [4.0, 5.0])
        for call, ids_name in (
            (model.fold_in_user, "movie_ids"),
            (model.fold_in_movie, "user_ids"),
        ):
            known = [1000, 1001] if ids_name == "movie_ids" else [100, 101]
            target = 100 if ids_name == "movie_ids" else 1000
            with pytest.raises(ValueError, match=ids_name):
                call(target, known, [4.0])  # lengths differ
            with pytest.raises(ValueError, match="ratings"):
                call(target, known, [4.0, float("nan")])
            with pytest.raises(ValueError, match=ids_name):
                call(target, [known[0], known[0]], [4.0, 5.0])  # a repeat
            with pytest.raises(ValueError, match=ids_name):
                call(target, [1.5, 2.5], [4.0, 5.0])
        with pytest.raises(ValueError, match="user_id"):
            model.fold_in_user("a", [1000], [4.0])
        with pytest.raises(ValueError, match="movie_id"):
            model.fold_in_movie(True, [100], [4.0])
        assert (len(model.users), len(model.movies)) == (n_users, n_movies)
        after = model.recommend(100, k=12, exclude_seen=False)
        np.testing.assert_array_equal(after.movie_ids, before.movie_ids)
        np.testing.assert_allclose(after.scores, before.scores, atol=1e-12)

    def test_fold_in_before_fit_raises(self):
        if not issubclass(self.model_class, OnlineRecommender):
            pytest.skip(f"{self.model_class.__name__} is not an OnlineRecommender")
        model = self.make_model()
        with pytest.raises(NotFittedError):
            model.fold_in_user(100, [1000], [4.0])
        with pytest.raises(NotFittedError):
            model.fold_in_movie(1000, [100], [4.0])

    def test_folded_in_model_saves_and_loads(self, tmp_path):
        model = self.online_model()
        model.fold_in_movie(2000, [101, 102, 107], [5.0, 5.0, 1.0])
        model.fold_in_user(500, [1000, 1001, 2000], [5.0, 4.0, 5.0])
        model.fold_in_user(101, [1000, 1002, 2000], [5.0, 5.0, 4.0])  # history changed
        model.save(tmp_path / "model")
        loaded = type(model).load(tmp_path / "model")
        for user in (100, 101, 500):
            a = model.recommend(user, k=20, exclude_seen=False)
            b = loaded.recommend(user, k=20, exclude_seen=False)
            np.testing.assert_array_equal(a.movie_ids, b.movie_ids)
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
            np.testing.assert_array_equal(
                model.recommend(user, k=20).movie_ids, loaded.recommend(user, k=20).movie_ids
            )
        np.testing.assert_array_equal(
            model.similar_movies(2000, k=5).movie_ids, loaded.similar_movies(2000, k=5).movie_ids
        )
        for user in (100, 101, 102, 500):
            for mine, theirs in zip(model.history(user), loaded.history(user), strict=True):
                np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_array_equal(loaded.movie_votes, model.movie_votes)
        loaded.fold_in_user(501, [2000], [5.0])  # a loaded model keeps folding in
        assert 501 in loaded.users and 501 not in model.users
