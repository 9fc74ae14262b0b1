"""Elicitation strategies on hand-made data whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import Dataset
from movierec.engine import onboarding
from movierec.engine.film_groups import FilmGroups
from movierec.engine.onboarding import (
    STRATEGIES,
    Answers,
    ElicitationPool,
    elicitor,
)
from movierec.errors import InvalidValueError

SCI_FI, ROMANCE = [1, 2, 3, 4], [11, 12, 13, 14]


def two_tastes(n_per_side: int = 30) -> Dataset:
    """Sci-fi fans watch films 1–4, romance fans 11–14; everyone has seen the chart film 99.

    Film 99 is loved by all (5★: no entropy); films 1 and 11 split their watchers (1★, 3★ or
    5★: log2(3) bits), the other films get 4★ or 5★ (1 bit).
    """
    rows = []
    for side, films in ((0, SCI_FI), (1, ROMANCE)):
        for u in range(n_per_side):
            user = side * 1000 + u
            rows.append((user, 99, 5.0))
            for film in films:
                divisive = film in (1, 11)
                stars = (1.0, 3.0, 5.0)[u % 3] if divisive else (4.0, 5.0)[u % 2]
                rows.append((user, film, stars))
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    ratings["timestamp"] = np.arange(len(ratings))
    ids = [*SCI_FI, *ROMANCE, 99]
    genres = [["Sci-Fi"]] * 4 + [["Romance"]] * 4 + [["Drama"]]
    catalog = pd.DataFrame({"movie_id": ids, "title": [f"m{i}" for i in ids], "genres": genres})
    return Dataset("two-tastes", catalog, ratings)


@pytest.fixture(scope="module")
def pool() -> ElicitationPool:
    return ElicitationPool.build(two_tastes())


def test_pool_knows_each_films_popularity_and_how_divisive_it_is(pool):
    at = dict(zip(pool.movie_ids.tolist(), range(len(pool)), strict=True))
    assert pool.votes[at[99]] == 60 and pool.share[at[99]] == 1.0
    assert pool.entropy[at[99]] == 0.0  # everyone gave 5★
    assert pool.entropy[at[1]] == pytest.approx(np.log2(3))  # a third each of 1★, 3★, 5★
    assert pool.entropy[at[2]] == pytest.approx(1.0)
    assert pool.positions(np.array([99, 12345])).tolist() == [at[99], -1]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_shows_each_film_once_and_at_most_n(pool, name):
    strategy = elicitor(name, pool)
    answers = Answers({2: 4.0}, [12])
    films = strategy.next_films(answers, 4)
    assert len(films) == 4 and len(set(films.tolist())) == 4
    assert not {2, 12} & set(films.tolist())
    everything = strategy.next_films(answers, 100)
    assert sorted(everything.tolist()) == sorted(set(pool.movie_ids.tolist()) - {2, 12})
    assert strategy.next_films(answers, 4).tolist() == films.tolist()  # deterministic


def test_chart_asks_the_best_loved_film_first(pool):
    assert elicitor("chart", pool).next_films(Answers(), 1).tolist() == [99]


def test_popularity_entropy_asks_well_known_divisive_films_first(pool):
    assert set(elicitor("pop-entropy", pool).next_films(Answers(), 2).tolist()) == {1, 11}


def test_adaptive_learns_what_the_newcomer_has_likely_seen(pool):
    adaptive = elicitor("adaptive", pool)
    at = dict(zip(pool.movie_ids.tolist(), range(len(pool)), strict=True))
    share = adaptive.seen_share(Answers({2: 4.0}))
    assert share[at[3]] > 0.75 > 0.25 > share[at[13]]
    share = adaptive.seen_share(Answers({12: 4.0}))
    assert share[at[13]] > 0.75 > 0.25 > share[at[3]]


def test_adaptive_does_not_ask_about_a_near_copy_of_an_answered_film(pool):
    """Films 3 and 4 are watched and rated exactly as film 2: answering them adds nothing."""
    first = elicitor("adaptive", pool).next_films(Answers({2: 4.0}), 2).tolist()
    assert not {3, 4} & set(first)


def test_adaptive_turns_away_from_a_taste_the_newcomer_skipped(pool):
    adaptive = elicitor("adaptive", pool)
    first = adaptive.next_films(Answers(skipped=[2, 3]), 3)
    assert set(first.tolist()) <= {11, 12, 13, 14}


def test_adaptive_leans_to_genres_the_answers_have_not_covered(pool, monkeypatch):
    """Two sci-fi answers leave a sci-fi film a ninth of its pull; genres unanswered keep it."""
    adaptive = elicitor("adaptive", pool)
    at = dict(zip(pool.movie_ids.tolist(), range(len(pool)), strict=True))
    rated = pool.positions(np.array([1, 2]))
    novelty = adaptive.genre_novelty(rated)
    assert novelty[at[3]] == pytest.approx(1 / 3) and novelty[at[12]] == novelty[at[99]] == 1.0
    assert (adaptive.genre_novelty(rated[:0]) == 1.0).all()  # nothing answered yet
    answers = Answers({1: 5.0, 2: 4.0})
    pushed = adaptive.scores(answers)
    monkeypatch.setattr(onboarding, "GENRE_PUSH", 0.0)
    plain = adaptive.scores(answers)
    assert pushed[at[3]] == pytest.approx(plain[at[3]] / 9) and pushed[at[12]] == plain[at[12]]


def test_coverage_spreads_the_first_films_over_both_tastes(pool):
    first = elicitor("coverage", pool).next_films(Answers({99: 5.0}), 2).tolist()
    assert {1 if f in SCI_FI else 2 for f in first} == {1, 2}


def test_groups_split_the_tastes_and_are_named_by_their_genre(pool):
    groups = FilmGroups.build(pool, n_groups=2, per_group=3)
    names = sorted(g.name for g in groups.groups)
    assert names[0].startswith("Romance") and names[1].startswith("Sci-Fi")
    for group in groups.groups:
        films = set(group.movie_ids.tolist())
        assert len(films) == 3
        assert films <= set(SCI_FI) | {99} or films <= set(ROMANCE) | {99}
    chosen = groups.films_of([0])
    assert chosen.tolist() == groups.groups[0].movie_ids.tolist()


def test_bad_requests_name_the_field():
    pool = ElicitationPool.build(two_tastes(6))
    with pytest.raises(InvalidValueError, match="strategy"):
        elicitor("astrology", pool)
    with pytest.raises(InvalidValueError, match="groups"):
        FilmGroups.build(pool, n_groups=2).films_of([7])
    with pytest.raises(InvalidValueError, match="k"):
        elicitor("chart", pool).next_films(Answers(), 0)
    empty = two_tastes(1)
    empty.ratings = empty.ratings.iloc[:0]
    with pytest.raises(InvalidValueError, match="dataset"):
        ElicitationPool.build(empty)


def test_adaptive_counts_look_alikes_by_the_stars_they_gave():
    """A third of the sci-fi fans gave film 1 5★, a third 1★, and only the first third saw film
    777: answering 5★ leans toward them, so film 777 becomes the likelier seen."""
    data = two_tastes()
    extra = data.ratings[(data.ratings["movie_id"] == 1) & (data.ratings["rating"] == 5.0)]
    extra = extra.assign(movie_id=777, rating=4.0, timestamp=10_000 + extra.index)
    data.ratings = pd.concat([data.ratings, extra], ignore_index=True)
    data.catalog = pd.concat(
        [
            data.catalog,
            pd.DataFrame({"movie_id": [777], "title": ["m777"], "genres": [["Sci-Fi"]]}),
        ],
        ignore_index=True,
    )
    pool = ElicitationPool.build(data)
    at = dict(zip(pool.movie_ids.tolist(), range(len(pool)), strict=True))
    adaptive = elicitor("adaptive", pool)
    loved, hated = adaptive.seen_share(Answers({1: 5.0})), adaptive.seen_share(Answers({1: 1.0}))
    assert loved[at[777]] > hated[at[777]]
