"""The live engine: ratings stored durably, folded in at once, retrained in the background."""

import json

import pytest

from movierec.data.storage import save_dataset
from movierec.engine.core import Engine, ModelCannotFoldInError
from movierec.engine.online import RetrainPolicy
from movierec.errors import InvalidRatingError, UnknownMovieError, UnknownUserError
from movierec.home import Home
from tests.conftest import shared_dataset
from tests.engine.wording import HONEST
from tests.evaluate.toy import BiasModel
from tests.test_cli_data import movierec


@pytest.fixture
def engine(dataset, tmp_path):
    home = Home(tmp_path / "home")
    save_dataset(dataset, home)
    engine = Engine.open(home, "ml-100k", policy=RetrainPolicy(after_ratings=1_000_000))
    engine.train("als")
    return engine


def test_a_rating_is_stored_and_folded_in_at_once(engine):
    before = engine.recommend(1, k=5)
    top = before.movies[0].movie_id
    result = engine.rate(1, top, 1)
    assert result.folded_in and result.seq == 1 and result.fold_in_ms >= 0
    after = engine.recommend(1, k=5)
    assert top not in [m.movie_id for m in after.movies]  # now seen
    assert (
        engine.online().store.user_ratings(1)[1][
            list(engine.online().store.user_ratings(1)[0]).index(top)
        ]
        == 1
    )


@pytest.mark.bench
def test_a_fold_in_takes_milliseconds(engine):
    """Timing, deselected by default (``pytest -m bench``): once compiled, folding a rating
    into the serving ALS model takes a few milliseconds, not a retrain."""
    engine.rate(1, "Alien", 4)  # the first fold-in may compile the kernels
    times = [engine.rate(1, movie, 3).fold_in_ms for movie in range(100, 120)]
    assert sorted(times)[len(times) // 2] < 5, times


def test_a_new_user_gets_factors_from_their_first_ratings(engine):
    for title in ("Alien", "Aliens", "The Terminator"):
        engine.rate(5000, title, 5)
    answer = engine.recommend(5000, k=5)
    assert answer.model == "als" and len(answer.movies) == 5
    assert all(HONEST.match(r) for r in answer.reasons)


def test_a_user_without_ratings_gets_the_chart(engine):
    live = engine.online()
    user = live.store.add_user(None, gender="F")
    answer = engine.recommend(user, k=3)
    assert answer.model == "charts" and answer.movies[0].title == "Star Wars"
    with pytest.raises(UnknownUserError):
        engine.recommend(987_654)


def test_a_restarted_engine_folds_in_what_was_stored(engine):
    engine.rate(5001, "Toy Story", 5)
    engine.rate(5001, "Aladdin", 5)
    again = Engine.open(engine.home, "ml-100k")
    a = engine.recommend(5001, k=5)
    b = again.recommend(5001, k=5)
    assert [m.movie_id for m in a.movies] == [m.movie_id for m in b.movies]


def test_chart_counts_move_with_new_ratings(engine):
    star_wars = engine.resolve("Star Wars")
    votes = engine.top(k=1).entries[0].votes
    engine.rate(5002, star_wars, 5)
    assert engine.top(k=1).entries[0].votes == votes + 1
    engine.rate(5002, star_wars, 4)  # a change of mind is not a new vote
    assert engine.top(k=1).entries[0].votes == votes + 1


def test_users_tokens_and_health_through_the_facade(engine):
    star_wars, alien = engine.resolve("Star Wars"), engine.resolve("Alien")
    user = engine.create_user([(star_wars, 5)], gender="F")
    assert engine.token_matches(user.user_id, user.token)
    assert not engine.token_matches(user.user_id, "not-the-token")
    assert not engine.token_matches(1, user.token)  # a dataset user has no token
    written = engine.add_ratings(user.user_id, [(alien, 4), (star_wars, 3)])
    assert written.stored == 2 and written.folded_in
    rows = engine.user_ratings(user.user_id)
    assert [(r["movie_id"], r["rating"]) for r in rows] == [(alien, 4.0), (star_wars, 3.0)]
    health = engine.health()
    assert health["serving_model"] == "als" and health["ratings_pending"] == 3
    engine.close()  # the store is reopened on next use
    assert engine.user_ratings(user.user_id) == rows


def test_bad_ratings_are_refused_and_nothing_is_stored(engine):
    live = engine.online()
    seq = live.store.last_seq()
    with pytest.raises(InvalidRatingError, match="rating"):
        engine.rate(1, "Alien", 3.5)  # ml-100k is whole stars
    with pytest.raises(InvalidRatingError):
        engine.rate(1, "Alien", float("nan"))
    with pytest.raises(UnknownMovieError):
        engine.rate(1, 999_999, 4)
    with pytest.raises(ValueError, match="user_id"):
        engine.rate(-3, "Alien", 4)
    assert live.store.last_seq() == seq


def test_retrain_after_enough_ratings_publishes_and_swaps(dataset, tmp_path):
    home = Home(tmp_path / "home")
    save_dataset(dataset, home)
    engine = Engine.open(home, "ml-100k", policy=RetrainPolicy(after_ratings=3))
    engine.train("als")
    serving = engine.model("als")
    results = [
        engine.rate(6000, title, 5, background=False) for title in ("Alien", "Aliens", "Heat")
    ]
    assert [r.retrain for r in results] == ["", "", "ran"]
    versions = engine.versions("als").list()
    assert len(versions) == 2 and versions[-1].current
    assert versions[-1].metrics["trained_from"] == "store"
    assert versions[-1].metrics["ratings"] == 100_003
    assert engine.model("als") is not serving  # swapped
    assert 6000 in engine.model("als").users  # trained on the store's ratings
    assert engine.online().pending() == 0


def test_of_two_workers_one_retrains_and_the_other_adopts_its_version(dataset, tmp_path):
    """Service workers share a home: a worker due for a retrain serves the version another
    just published from the same ratings instead of fitting it again."""
    home = Home(tmp_path / "home")
    save_dataset(dataset, home)
    policy = RetrainPolicy(after_ratings=2, after_seconds=None)
    first = Engine.open(home, "ml-100k", policy=policy)
    first.train("als")
    second = Engine.open(home, "ml-100k", policy=policy)  # another worker, same home and store
    second.online()
    results = [first.rate(6000, title, 5, background=False) for title in ("Alien", "Aliens")]
    assert results[-1].retrain == "ran" and len(first.versions("als").list()) == 2
    live = second.online()
    live.sync()  # the worker reads what the other stored: now it is due too
    assert live.due()
    live.retrain(block=True)
    assert len(second.versions("als").list()) == 2  # adopted v2, published nothing
    assert live.last_retrain_error is None and live.pending() == 0
    assert 6000 in second.model("als").users  # the version fitted on the store's ratings


def test_a_failed_retrain_keeps_the_old_model_serving(engine, monkeypatch):
    live = engine.online()
    serving = engine.model("als")
    engine.rate(7000, "Alien", 5)

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(live, "training_data", broken)
    live.retrain(block=True)
    assert "out of memory" in live.last_retrain_error
    assert engine.model("als") is serving and len(engine.versions("als").list()) == 1
    assert len(engine.recommend(7000, k=3).movies) == 3


def test_rate_then_recommend_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    movierec("train", "--model", "als", home=home)
    out = movierec("rate", "--user", "8000", "Alien", "5", "--json", home=home).stdout
    assert '"folded_in": true' in out
    movierec("rate", "--user", "8000", "Aliens", "5", home=home)
    result = movierec("recommend", "--user", "8000", "-k", "3", "--json", home=home)
    assert '"model": "als"' in result.stdout and "because you rated Alien" in result.stdout
    other = json.loads(
        movierec(
            "recommend", "--user", "8000", "--model", "mf", "-k", "3", "--json", home=home
        ).stdout
    )  # folded into mf on first use
    assert other["model"] == "mf" and len(other["movies"]) == 3
    assert all(HONEST.match(m["reason"]) for m in other["movies"])
    assert "--model" in movierec("recommend", "--help", home=home).stdout
    bad = movierec("rate", "--user", "8000", "Alien", "3.7", home=home, check=False)
    assert bad.returncode == 1 and "rating 3.7 is not allowed" in bad.stderr


def test_ratings_from_another_process_are_folded_in_on_read(engine):
    other = Engine.open(engine.home, "ml-100k")  # a second worker on the same store
    assert len(other.recommend(1, k=3).movies) == 3  # attaches to the live store
    engine.rate(9000, "Alien", 5)
    engine.rate(9000, "Aliens", 5)
    answer = other.recommend(9000, k=3)  # known to `other` only through the store
    assert answer.model == "als" and len(answer.movies) == 3


def test_stored_ratings_reach_every_model_asked_for(engine):
    for title in ("Alien", "Aliens", "The Terminator"):
        engine.rate(9100, title, 5)  # folded into the serving model (als) only
    rated = set(engine.online().store.user_ratings(9100)[0].tolist())
    answer = engine.recommend(9100, model="mf", k=5)
    assert answer.model == "mf" and len(answer.movies) == 5
    assert not rated & {m.movie_id for m in answer.movies}
    assert all(HONEST.match(r) for r in answer.reasons)
    top = answer.movies[0].movie_id
    engine.rate(9100, top, 2)  # mf is told again: its view of the user is stale
    assert top not in [m.movie_id for m in engine.recommend(9100, model="mf", k=5).movies]
    other = Engine.open(engine.home, "ml-100k")  # another process, on the same store
    assert other.recommend(9100, model="chart", k=3).model == "chart"


def test_a_regulars_new_ratings_reach_another_model(engine):
    top = engine.recommend(1, model="mf", k=1).movies[0].movie_id
    engine.rate(1, top, 1)
    assert top not in [m.movie_id for m in engine.recommend(1, model="mf", k=5).movies]


def test_a_model_that_cannot_fold_in_names_itself(engine):
    model = BiasModel().fit(engine.dataset)  # a RatingPredictor, not an OnlineRecommender
    engine.hub.swap("chart", model)
    engine.rate(9200, "Alien", 5)
    with pytest.raises(ModelCannotFoldInError, match="'chart' model cannot fold in"):
        engine.recommend(9200, model="chart")
    assert engine.recommend(9200, model="als", k=3).model == "als"
