"""Recent answers are reused only while nothing they came from has changed: no rating stored
(by this process or another), no model swapped in."""

import pytest

from movierec.data.storage import save_dataset
from movierec.engine.answer_cache import AnswerCache
from movierec.engine.answers import RecommendAnswer
from movierec.engine.core import Engine
from movierec.engine.online import RetrainPolicy
from movierec.home import Home


def _answer(user: int) -> RecommendAnswer:
    return RecommendAnswer(user, "als", [], [])


G0, G5, G6, G7 = (0, 0), (5, 0), (6, 0), (7, 0)  # (store sequence number, models swapped in)


class _Model:  # the cache only compares model objects by identity
    pass


def test_an_answer_is_kept_for_its_model_and_sequence_number():
    cache, model = AnswerCache(entries=2), _Model()
    assert cache.get("als", model, G5, (1,)) is None
    first = _answer(1)
    cache.put("als", model, G5, (1,), first)
    assert cache.get("als", model, G5, (1,)) is first
    assert cache.get("mf", model, G5, (1,)) is None  # another name, another answer
    assert cache.get("als", _Model(), G5, (1,)) is None  # a swapped-in model
    cache.put("als", model, G5, (1,), first)
    assert cache.get("als", model, G6, (1,)) is None  # a rating stored since
    assert len(cache) == 0


def test_a_slow_request_never_stores_an_answer_from_an_older_state():
    cache, model = AnswerCache(), _Model()
    cache.get("als", model, G7, (1,))
    cache.put("als", model, G6, (2,), _answer(2))  # computed before seq 7 was seen
    assert cache.get("als", model, G7, (2,)) is None


def test_the_least_recently_used_answer_goes_first_and_zero_keeps_none():
    cache, model = AnswerCache(entries=2), _Model()
    for user in (1, 2):
        cache.put("als", model, G0, (user,), _answer(user))
    cache.get("als", model, G0, (1,))  # 2 is now the least recently used
    cache.put("als", model, G0, (3,), _answer(3))
    assert cache.get("als", model, G0, (2,)) is None
    assert cache.get("als", model, G0, (1,)) is not None
    cache.resize(0)
    cache.put("als", model, G0, (4,), _answer(4))
    assert len(cache) == 0 and cache.get("als", model, G0, (4,)) is None


@pytest.fixture
def home(dataset, tmp_path):
    home = Home(tmp_path / "home")
    save_dataset(dataset, home)
    Engine.open(home, "ml-100k").train("als")
    return home


def test_the_engine_reuses_an_answer_until_another_process_stores_a_rating(home):
    policy = RetrainPolicy(after_ratings=1_000_000)
    worker, other = (Engine.open(home, "ml-100k", policy=policy) for _ in range(2))
    first = worker.recommend(1, k=5)
    assert worker.recommend(1, k=5) is first  # nothing changed: the same answer
    assert worker.recommend(1, k=6) is not first  # another question
    top = first.movies[0].movie_id
    other.rate(1, top, 1)  # another worker of the same service
    after = worker.recommend(1, k=5)
    assert top not in [m.movie_id for m in after.movies]  # seen now, wherever it was rated


def test_the_engine_reuses_no_answer_across_a_retrain_or_when_told_to_keep_none(home):
    engine = Engine.open(home, "ml-100k", policy=RetrainPolicy(after_ratings=1_000_000))
    first = engine.recommend(2, k=5)
    engine.online().retrain(block=True)  # a new model swapped in, no rating since
    assert engine.recommend(2, k=5) is not first
    engine.cache_answers(0)
    assert engine.recommend(2, k=5) is not engine.recommend(2, k=5)
