"""Title search: normalisation, ranking, year handling, resolve's rules, real catalogs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import Dataset, empty_ratings
from movierec.data.search import Match, TitleIndex, popularity_of
from movierec.data.sources import load_path
from movierec.data.title_text import aliases, normalise, readings
from movierec.errors import AmbiguousTitleError, NoMatchError
from tests.conftest import shared_dataset

MOVIES = [  # movie_id, title, year, popularity
    (1, "The Godfather", 1972, 500),
    (2, "The Godfather: Part II", 1974, 300),
    (3, "The Godfather: Part III", 1990, 100),
    (4, "Tokyo Godfathers", 2003, 900),
    (5, "Amélie", 2001, 200),
    (6, "Hamlet", 1948, 10),
    (7, "Hamlet", 1996, 40),
    (8, "Hamlet 2", 2008, 5),
    (9, "1984 (Nineteen Eighty-Four)", 1984, 30),
    (10, "2001: A Space Odyssey", 1968, 250),
    (11, "Seven (a.k.a. Se7en)", 1995, 400),
    (12, "Seven Samurai (Shichinin no samurai)", 1954, 150),
    (13, "Schindler's List", 1993, 450),
    (14, "Death Race 2000", 1975, 3),
    (15, "Death Race", 2008, 9),
    (16, "Avventura, L'", 1960, 7),
    (1984, "Halloween III", 1982, 20),
]


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    catalog = pd.DataFrame(MOVIES, columns=["movie_id", "title", "year", "popularity"])
    return TitleIndex.build(catalog, catalog["popularity"].to_numpy())


def ids(matches: list[Match]) -> list[int]:
    return [m.movie_id for m in matches]


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Amélie", "amelie"),
        ("Schindler's List", "schindlers list"),
        ("E.T. the Extra-Terrestrial", "et the extra terrestrial"),
        ("Star Wars: Episode IV - A New Hope", "star wars episode 4 a new hope"),
        ("L'Avventura", "l avventura"),
        ("Fast & Furious", "fast and furious"),
        ("Æon Flux", "aeon flux"),
        ("  SE7EN!! ", "se7en"),
    ],
)
def test_normalise_folds_case_accents_punctuation(raw, expected):
    assert normalise(raw) == expected


def test_aliases_cover_articles_and_alternative_titles():
    assert aliases("Godfather, The") == ["the godfather", "godfather"]
    assert {"seven", "se7en"} <= set(aliases("Seven (a.k.a. Se7en)"))
    amelie = aliases("Amelie (Fabuleux destin d'Amélie Poulain, Le)")
    assert amelie[0] == "amelie" and "le fabuleux destin d amelie poulain" in amelie
    assert aliases("Die Hard") == ["die hard"]  # "die" is not dropped: "hard" is not this film


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Toy Story (1995)", [("toy story", 1995)]),
        ("toy story 1995", [("toy story", 1995), ("toy story 1995", None)]),
        ("Godfather, The (1972)", [("the godfather", 1972)]),
        ("1984", [("1984", None)]),
        ("2001: A Space Odyssey", [("2001 a space odyssey", None)]),
        ("Metropolis 1869", [("metropolis 1869", None)]),  # not a plausible film year
    ],
)
def test_readings_take_the_year_only_where_plausible(query, expected):
    assert readings(query) == expected


# --- search -----------------------------------------------------------------------------------


def test_exact_then_prefix_then_popularity(index):
    # Tokyo Godfathers is the most popular, but only a fuzzy match of the word.
    assert ids(index.search("godfather"))[:4] == [1, 2, 3, 4]
    first = index.search("godfather")[0]
    assert (first.title, first.year, first.score, first.popularity) == (
        "The Godfather",
        1972,
        100.0,
        500.0,
    )


@pytest.mark.parametrize(
    "query", ["godfather", "the godfather", "Godfather, The", "GODFATHER", "  the  godfather!! "]
)
def test_articles_case_and_punctuation_do_not_matter(index, query):
    assert index.search(query, k=1)[0].movie_id == 1


@pytest.mark.parametrize(
    ("query", "movie_id"),
    [
        ("amelie", 5),
        ("Amélie", 5),
        ("AMELIE", 5),
        ("schindlers list", 13),
        ("schindler's list", 13),
        ("godfather part 2", 2),
        ("the godfather part ii", 2),
        ("se7en", 11),
        ("seven", 11),
        ("nineteen eighty four", 9),
        ("avventura", 16),
        ("l'avventura", 16),
        ("godfater", 1),
        ("amelei", 5),
        ("schindlr list", 13),  # typos
    ],
)
def test_finds_the_intended_movie(index, query, movie_id):
    assert index.search(query, k=1)[0].movie_id == movie_id


def test_year_in_query_prefers_that_version(index):
    assert ids(index.search("hamlet 1996", k=2)) == [7, 6]
    assert ids(index.search("Hamlet (1948)", k=2)) == [6, 7]
    off_by_one = index.search("Hamlet (1997)", k=2)
    assert off_by_one[0].movie_id == 7 and off_by_one[0].score > off_by_one[1].score
    # A wrong year costs points but still finds the film.
    assert index.search("schindler's list 1950", k=1)[0].movie_id == 13


def test_titles_made_of_numbers_stay_findable(index):
    assert index.search("1984", k=1)[0].movie_id == 9
    assert index.search("2001", k=1)[0].movie_id == 10
    assert index.search("2001: A Space Odyssey", k=1)[0].score == 100.0
    # "death race 2000" is a title, not Death Race of the year 2000.
    assert ids(index.search("death race 2000", k=2)) == [14, 15]


def test_k_min_score_and_empty_queries(index):
    assert len(index.search("hamlet", k=2)) == 2
    assert index.search("xyzzyplugh") == []
    assert len(index.search("xyzzyplugh", k=3, min_score=0)) == 3
    assert index.search("") == [] and index.search(" ?! ") == []
    with pytest.raises(ValueError, match="k must be a positive integer"):
        index.search("hamlet", k=0)


def test_scores_are_ordered_and_bounded(index):
    matches = index.search("godfather", k=20, min_score=0)
    keys = [(-m.score, -m.popularity) for m in matches]
    assert keys == sorted(keys)
    assert all(0 <= m.score <= 100 for m in matches)


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_exact_title_and_year(index):
    assert index.resolve("The Godfather") == 1
    assert index.resolve("godfather") == 1
    assert index.resolve("Hamlet (1996)") == 7
    assert index.resolve("hamlet 1948") == 6
    assert index.resolve("Hamlet 2") == 8
    assert index.resolve("godfater") == 1


def test_resolve_ids_win_over_digit_titles_only_when_the_id_exists(index):
    assert index.resolve("13") == 13
    assert index.resolve(" 1984 ") == 1984  # an id: Halloween III
    assert index.resolve("1984 (1984)") == 9  # the year makes it a title
    assert index.resolve("2001") == 10  # no movie 2001: the title


def test_resolve_same_title_without_year_is_ambiguous(index):
    with pytest.raises(AmbiguousTitleError) as caught:
        index.resolve("hamlet")
    message = str(caught.value)
    assert "Hamlet (1948)" in message and "Hamlet (1996)" in message and "Hamlet 2" not in message
    assert caught.value.candidates == [
        {"movie_id": 6, "title": "Hamlet", "year": 1948},
        {"movie_id": 7, "title": "Hamlet", "year": 1996},
    ]


def test_resolve_without_a_good_match_suggests(index):
    with pytest.raises(NoMatchError, match="no movie title matches 'xyzzyplugh'; did you mean"):
        index.resolve("xyzzyplugh")
    with pytest.raises(NoMatchError, match="expected a movie title or id"):
        index.resolve("   ")
    with pytest.raises(NoMatchError, match="no movie has id 999999, and no title matches it"):
        index.resolve("999999")


def test_resolve_on_an_empty_catalog():
    empty = TitleIndex.build(pd.DataFrame({"movie_id": [], "title": []}).astype({"movie_id": int}))
    assert len(empty) == 0 and empty.search("anything") == []
    with pytest.raises(NoMatchError, match="no movie title matches 'anything'$"):
        empty.resolve("anything")


# --- building ---------------------------------------------------------------------------------


def test_build_checks_its_input():
    catalog = pd.DataFrame({"movie_id": [1, 2], "title": ["A", "B"]})
    with pytest.raises(ValueError, match="one number per catalog row"):
        TitleIndex.build(catalog, np.ones(3))
    with pytest.raises(ValueError, match="lacks column 'title'"):
        TitleIndex.build(catalog[["movie_id"]])
    no_years = TitleIndex.build(catalog)
    assert no_years.search("b")[0] == Match(2, "B", None, 100.0, 0.0)


def test_ties_without_popularity_follow_catalog_order():
    catalog = pd.DataFrame(
        {"movie_id": [30, 10, 20], "title": ["Crash", "Crash", "Crash"], "year": [2004, 1996, None]}
    )
    assert ids(TitleIndex.build(catalog).search("crash")) == [30, 10, 20]
    assert Match(1, "Crash", None, 1.0, 0.0).label() == "Crash"


def test_popularity_of_prefers_ratings_then_votes():
    catalog = pd.DataFrame(
        {"movie_id": [1, 2, 3], "title": ["A", "B", "C"], "vote_count": [5, None, 7]}
    )
    ratings = pd.DataFrame(
        {
            "user_id": [1, 2, 2],
            "movie_id": [3, 3, 1],
            "rating": [4.0, 5.0, 3.0],
            "timestamp": [0, 0, 0],
        }
    )
    assert popularity_of(Dataset("d", catalog, ratings)).tolist() == [1.0, 0.0, 2.0]
    assert popularity_of(Dataset("d", catalog, empty_ratings())).tolist() == [5.0, 0.0, 7.0]
    plain = Dataset("d", catalog.drop(columns="vote_count"), empty_ratings())
    assert popularity_of(plain).tolist() == [0.0, 0.0, 0.0]


# --- real catalogs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml_small() -> TitleIndex:
    return TitleIndex.from_dataset(load_path(shared_dataset("ml-latest-small")))


@pytest.fixture(scope="module")
def ml_100k() -> TitleIndex:
    return TitleIndex.from_dataset(load_path(shared_dataset("ml-100k-recbole")))


def test_real_ml_latest_small_godfather_films_in_order(ml_small):
    top = ml_small.search("godfather", k=3)
    assert [(m.title, m.year) for m in top] == [
        ("The Godfather", 1972),
        ("The Godfather: Part II", 1974),
        ("The Godfather: Part III", 1990),
    ]
    assert ml_small.search("star wars", k=1)[0].title == "Star Wars: Episode IV - A New Hope"


@pytest.mark.parametrize("query", ["toy story 1995", "Toy Story (1995)", "toy story"])
def test_real_ml_latest_small_toy_story(ml_small, query):
    assert ml_small.search(query, k=1)[0].movie_id == 1
    assert ml_small.resolve(query) == 1


def test_real_ml_latest_small_accents_numbers_and_aliases(ml_small):
    amelie = ml_small.search("amelie", k=1)[0]
    assert amelie.title.startswith("Amelie") and amelie.year == 2001
    assert ml_small.resolve("Amélie") == amelie.movie_id
    assert ml_small.resolve("seven") == ml_small.resolve("se7en") == 47  # Seven (a.k.a. Se7en)
    assert ml_small.search("1984", k=1)[0].title == "1984 (Nineteen Eighty-Four)"
    assert ml_small.search("2001 a space odyssey", k=1)[0].movie_id == 924


def test_real_ml_latest_small_resolve_errors(ml_small):
    with pytest.raises(AmbiguousTitleError) as caught:
        ml_small.resolve("hamlet")
    assert {c["year"] for c in caught.value.candidates} == {1948, 1964, 1990, 1996, 2000}
    assert all(f"Hamlet ({y})" in str(caught.value) for y in (1948, 1964, 1990, 1996, 2000))
    with pytest.raises(NoMatchError, match="did you mean"):
        ml_small.resolve("xyzzyplugh")


def test_real_ml100k_recbole(ml_100k):
    assert ids(ml_100k.search("godfather", k=2)) == [127, 187]
    assert ml_100k.resolve("Star Wars") == 50
    assert ml_100k.resolve("Toy Story (1995)") == 1
    assert ml_100k.resolve("se7en") == 11
    assert ml_100k.resolve("Godfather, The") == 127


def test_real_ml100k_partial_title_of_a_series_is_ambiguous(ml_100k):
    with pytest.raises(AmbiguousTitleError) as info:
        ml_100k.resolve("star trek")
    years = [c["year"] for c in info.value.candidates]
    assert len(years) == 8 and years == sorted(years)  # all eight films, oldest first
    assert ml_100k.resolve("star trek first contact") == 222


# --- latency ----------------------------------------------------------------------------------


@pytest.mark.bench
def test_bench_query_latency_on_86k_titles():
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = np.array(
        ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(20_000)]
    )
    words = vocabulary[rng.integers(0, len(vocabulary), (86_537 - len(MOVIES), 5))]
    titles = [
        " ".join(row[:n]).title()
        for row, n in zip(words, rng.integers(1, 6, len(words)), strict=True)
    ]
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(100, 100 + len(titles)),
            "title": titles,
            "year": rng.integers(1900, 2024, len(titles)),
        }
    )
    catalog = pd.concat(
        [catalog, pd.DataFrame(MOVIES, columns=["movie_id", "title", "year", "popularity"])]
    )
    index = TitleIndex.build(catalog, rng.zipf(1.9, len(catalog)).astype(float))
    queries = [
        "godfather",
        "godfater",
        "amelie",
        "hamlet 1996",
        "Toy Story (1995)",
        "xyzzyplugh",
        "the",
        "schindlr list",
        "death race 2000",
        "a",
    ]
    timings = []
    for query in queries * 5:
        start = time.perf_counter()
        index.search(query)
        timings.append(time.perf_counter() - start)
    assert index.search("godfather", k=1)[0].title == "The Godfather"
    assert np.median(timings) < 0.005
