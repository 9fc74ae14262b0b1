"""The engine answers the questions the CLI and the service ask, on real ml-100k."""

import shutil

import numpy as np
import pytest

from movierec.data.sources import load_path
from movierec.engine.core import Engine
from movierec.errors import (
    AmbiguousTitleError,
    InvalidValueError,
    NoMatchError,
    UnknownMovieError,
    UnknownUserError,
)
from movierec.home import Home
from tests.conftest import shared_dataset
from tests.engine.wording import HONEST
from tests.models.conformance import checkerboard


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    data = load_path(
        shared_dataset("ml-100k-recbole"), "ml-100k", extra=[shared_dataset("ml-1m") / "movies.dat"]
    )
    return Engine(data, Home(tmp_path_factory.mktemp("home")))


def test_top_and_filters(engine):
    chart = engine.top(k=3, genres="Film-Noir", years="1940-1959", quantile=0.5)
    assert chart.entries and all(1940 <= e.year <= 1959 for e in chart.entries)
    with pytest.raises(NoMatchError, match="unknown genre"):
        engine.top(genres="Cyberpunk")


def test_similar_by_content_with_era_and_quality_filters(engine):
    answer = engine.similar("Alien", k=5)
    assert answer.by == "content" and answer.features == "kg"
    assert {m.title for m in answer.movies[:2]} == {"Aliens", "Alien 3"}
    eighties = engine.similar("Alien", k=5, years="1980s", min_rating=3.5)
    assert all(1980 <= m.year <= 1989 for m in eighties.movies)
    well_rated = engine.candidates(min_rating=3.5)
    assert set(m.movie_id for m in eighties.movies) <= set(well_rated.tolist())


def test_similar_falls_back_to_collab_without_metadata(engine):
    answer = engine.similar("Titanic", k=3)  # no KG tokens for this film
    assert answer.by == "collab" and "no kg metadata" in answer.notes[0]
    assert len(answer.movies) == 3 and "Titanic" not in [m.title for m in answer.movies]


def test_similar_by_content_finds_the_series_under_its_ml1m_title(engine):
    # ML-1M calls it "Star Wars: Episode IV - A New Hope": its KG tokens are re-linked anyway
    answer = engine.similar("Star Wars", k=3)
    assert answer.by == "content" and not answer.notes
    assert [m.title for m in answer.movies[:2]] == ["The Empire Strikes Back", "Return of the Jedi"]
    # asking for the KG features by name weighs them as the default does
    named = engine.similar("Star Wars", k=10, features="kg")
    default = engine.similar("Star Wars", k=10)
    assert [m.movie_id for m in named.movies] == [m.movie_id for m in default.movies]


def test_resolve_titles_and_ids(engine):
    assert engine.resolve("Godfather, The") == 127 == engine.resolve(127)
    with pytest.raises(AmbiguousTitleError):
        engine.resolve("star trek")
    with pytest.raises(UnknownMovieError):
        engine.resolve(999_999)


def test_recommend_with_reasons_and_genre_filter(engine):
    answer = engine.recommend(42, model="mf", k=5, genres="Comedy")
    assert len(answer.movies) == 5 and all("Comedy" in m.genres for m in answer.movies)
    seen = set(engine.dataset.ratings.query("user_id == 42")["movie_id"])
    assert not seen & {m.movie_id for m in answer.movies}
    assert len(answer.reasons) == 5 and all(HONEST.match(reason) for reason in answer.reasons)
    with pytest.raises(UnknownUserError):
        engine.recommend(10_000, model="mf")


def test_the_default_is_the_hybrid_and_collaborative_neighbours_are_not(tmp_path):
    from movierec.engine.core import COLLAB_MODEL, DEFAULT_MODEL

    engine = Engine(checkerboard(), Home(tmp_path))
    assert engine.default_model() == DEFAULT_MODEL == "hybrid"
    assert engine.serving_model() == "hybrid" and engine.hub.collab_name() == COLLAB_MODEL
    marker = engine.home.models / engine.dataset.name / "DEFAULT"
    marker.parent.mkdir(parents=True)
    for name, collab in (
        ("content-kg", COLLAB_MODEL),
        ("ease", "ease"),
        ("mf", "mf"),
        ("chart", COLLAB_MODEL),
    ):
        marker.write_text(name)
        assert engine.hub.collab_name() == collab


def test_an_unknown_model_name_is_refused_naming_the_field(engine):
    with pytest.raises(InvalidValueError, match="model 'deep-magic' is not allowed") as caught:
        engine.recommend(42, model="deep-magic")
    assert caught.value.field == "model" and "ease" in caught.value.allowed


def test_train_stores_the_model_and_makes_it_default(engine):
    model, seconds = engine.train("mf")
    assert seconds > 0 and engine.default_model() == "mf"
    reopened = Engine(engine.dataset, engine.home)
    loaded = reopened.model("mf")  # from the home folder, not refitted
    np.testing.assert_allclose(loaded.predict([1], [1]), model.predict([1], [1]), atol=1e-6)


def test_models_refit_when_the_data_changes(tmp_path):
    home = Home(tmp_path)
    data = checkerboard()
    first = Engine(data, home).model("mf")
    changed = checkerboard()
    changed.ratings.loc[0, "rating"] = 1.0
    second = Engine(changed, home).model("mf")
    assert first.fingerprint != second.fingerprint


@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(engine, k):
    with pytest.raises(ValueError, match="k must be"):
        engine.similar("Alien", k=k)
    with pytest.raises(ValueError, match="k must be"):
        engine.recommend(1, k=k)


def test_same_genre_prefilter(engine):
    answer = engine.similar("Alien", k=10, same_genre=True)
    alien_genres = set(engine.movie(engine.resolve("Alien")).genres)
    assert all(alien_genres & set(m.genres) for m in answer.movies)


def test_similar_hybrid_fuses_content_and_collab(engine):
    hybrid = engine.similar("Alien", by="hybrid", k=5)
    content = engine.similar("Alien", by="content", k=5)
    collab = engine.similar("Alien", by="collab", k=5)
    assert hybrid.by == "hybrid" and hybrid.features.startswith("kg+")
    assert hybrid.movies[0].title == "Aliens"  # first in both lists
    both = {m.movie_id for m in content.movies} | {m.movie_id for m in collab.movies}
    assert {m.movie_id for m in hybrid.movies} <= both | {
        m.movie_id for m in engine.similar("Alien", by="content", k=100).movies
    }
    with pytest.raises(InvalidValueError, match="content, collab or hybrid") as caught:
        engine.similar("Alien", by="magic")  # a bad value (422 in the service), not a 404
    assert caught.value.field == "by"


def test_fuse_rankings_rewards_agreement():
    from movierec.engine.answers import fuse_rankings
    from movierec.models.base import Ranking

    a = Ranking(np.array([1, 2, 3]), np.array([0.9, 0.8, 0.7]))
    b = Ranking(np.array([3, 4, 1]), np.array([5.0, 4.0, 3.0]))
    fused = fuse_rankings([a, b], k=3)
    assert fused.movie_ids.tolist() == [1, 3, 2]


@pytest.mark.slow
def test_a_newcomer_who_names_genres_gets_the_two_towers_picks(engine, twotower_home):
    # the command line trained it from the same dataset, so the engine loads it, not fits it
    trained = twotower_home[0] / "models" / "ml-100k" / "twotower"
    shutil.copytree(trained, engine.home.models / "ml-100k" / "twotower")
    answer = engine.recommend_for_genres("Animation, Children's", k=10)
    assert engine.hub.versions("twotower").numbers() == [1]  # loaded: no version of its own
    assert answer.user_id is None and answer.model == "twotower" and len(answer.movies) == 10
    kids = sum(bool({"Animation", "Children's"} & set(m.genres)) for m in answer.movies)
    assert kids >= 5, [(m.title, m.genres) for m in answer.movies]
    horror = engine.recommend_for_genres(["Horror"], k=10)
    assert sum("Horror" in m.genres for m in horror.movies) >= 5
    assert not {m.movie_id for m in horror.movies} & {m.movie_id for m in answer.movies}
    filtered = engine.recommend_for_genres("Comedy", k=5, years="1990s")
    assert all(1990 <= m.year <= 1999 for m in filtered.movies)
    with pytest.raises(NoMatchError, match="Westerns"):
        engine.recommend_for_genres("Westerns")


def test_a_users_history_without_a_store_is_their_dataset_rows(engine):
    """Read by the reasons when no store is attached; an id beyond the ids' type is unknown,
    not an overflow."""
    from movierec.engine.personal import PersonalPicks

    picks = PersonalPicks(engine.catalog, engine.hub)
    ratings = engine.catalog.dataset.ratings
    mine = ratings[ratings["user_id"] == 1]
    movies, stars = picks.history(1, None)
    assert sorted(zip(movies.tolist(), stars.tolist(), strict=True)) == sorted(
        zip(mine["movie_id"].tolist(), mine["rating"].tolist(), strict=True)
    )
    last = int(ratings["user_id"].max())
    assert len(picks.history(last, None)[0]) == (ratings["user_id"] == last).sum()
    for unknown in (0, last + 1, 2**40, -(2**40)):
        with pytest.raises(UnknownUserError):
            picks.history(unknown, None)
