"""Similar films: what each has in common with the one asked about (the metadata both lists
were built from, or the people who liked both; never a claim that does not hold), and the
collaborative list's support shrinkage, the content list's equally near films best rated first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import Dataset, RatingScale
from movierec.data.sources import load_path
from movierec.engine.catalog import Catalog
from movierec.engine.core import Engine
from movierec.engine.likeness import co_liking, shared_metadata
from movierec.engine.reasons import Explainer
from movierec.engine.similar import COLLAB_SUPPORT, SimilarMovies
from tests.conftest import shared_dataset


def _catalog(**columns: list) -> Catalog:
    n = len(next(iter(columns.values())))
    table = pd.DataFrame(
        {
            "movie_id": np.arange(1, n + 1),
            "title": [f"Film {i}" for i in range(1, n + 1)],
            "year": [2000] * n,
            "genres": columns.pop("genres", [[] for _ in range(n)]),
            **columns,
        }
    )
    ratings = pd.DataFrame({"user_id": [1], "movie_id": [1], "rating": [5.0], "timestamp": [0]})
    return Catalog(Dataset("hand", table, ratings, scale=RatingScale(1, 5, 1)))


def test_soup_names_shared_directors_top_cast_and_keywords_as_the_film_spells_them():
    catalog = _catalog(
        director=[["James Cameron"], ["james cameron"], ["Ridley Scott"], [], ["Ridley Scott"]],
        cast=[
            ["Sigourney Weaver", "Michael Biehn", "Lance Henriksen", "Bill Paxton"],
            ["Sigourney Weaver", "Bill Paxton"],  # Paxton is 4th in film 1: not in its soup
            [],
            ["MichaelBiehn", "Lance Henriksen", "Sigourney Weaver"],
            [],
        ],
        keywords=[["alien", "space marine", "android", "colony"], ["alien"], [], [], []],
        genres=[["Sci-Fi", "Action"], ["Sci-Fi"], ["Sci-Fi", "Horror"], [], ["Drama"]],
    )
    assert shared_metadata(catalog, 1, [2, 3, 4, 5], "soup") == [
        "the same director: James Cameron; an actor in common: Sigourney Weaver; "
        "a keyword in common: alien",
        "a genre in common: Sci-Fi",  # genres only when nothing else is shared
        "actors in common: Sigourney Weaver, Michael Biehn and 1 more",
        None,
    ]
    # overview words are not named; a catalog without the columns says nothing either
    assert shared_metadata(catalog, 1, [2], "tfidf") == [None]
    assert shared_metadata(_catalog(genres=[["Drama"], ["Drama"]]), 1, [2], "kg") == [None]


def test_kg_says_the_most_telling_relations_two_films_share():
    catalog = _catalog(
        kg_tokens=[
            ["actor:m.a", "actor:m.b", "directed_by:m.d", "written_by:m.w", "genre:m.g"]
            + ["award_nomination:m.n1", "award_nomination:m.n2", "language:m.en"],
            ["actor:m.a", "actor:m.b", "written_by:m.w", "genre:m.g"],
            ["actor:m.a", "directed_by:m.d", "award_nomination:m.n1", "award_nomination:m.n2"]
            + ["genre:m.g"],  # four facts: the genre, least telling, is not said
            ["award_nomination:m.n1", "award_nomination:m.n2", "genre:m.g"],
            ["language:m.en"],  # nearly every film shares a language: nothing said
        ]
    )
    assert shared_metadata(catalog, 1, [2, 3, 4, 5], "kg") == [
        "the same writer, 2 actors in common, a genre in common",
        "the same director, an actor in common, nominated for 2 of the same awards",
        "nominated for 2 of the same awards, a genre in common",
        None,
    ]


def test_co_liking_counts_the_people_who_rated_both_highly():
    # movie 1 liked by users 1-4; movie 2 liked by 1-3 (4 rated it 3★); movie 3 by nobody of them
    rows = [(u, 1, 5.0) for u in (1, 2, 3, 4)] + [(u, 2, 4.0) for u in (1, 2, 3)]
    rows += [(4, 2, 3.0), (5, 3, 5.0), (1, 3, 2.0)]
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"]).assign(timestamp=0)
    table = pd.DataFrame(
        {"movie_id": [1, 2, 3], "title": ["Alien", "Aliens", "Heat"], "year": [1979, 1986, 1995]}
    ).assign(genres=[[], [], []])
    catalog = Catalog(Dataset("hand", table, ratings, scale=RatingScale(1, 5, 1)))
    explainer = Explainer(catalog)
    explainer.warm()  # as a service starts: the kernels run once on the real structures
    assert co_liking(explainer, catalog, 1, [2, 3]) == [
        "rated highly by 3 of the 4 people who rated Alien highly",
        None,
    ]


# --- on real data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    data = load_path(
        shared_dataset("ml-100k-recbole"), "ml-100k", extra=[shared_dataset("ml-1m") / "movies.dat"]
    )
    return Engine(data)


def _liked_by(ratings: pd.DataFrame, movie_id: int) -> set[int]:
    return set(ratings.loc[(ratings.movie_id == movie_id) & (ratings.rating >= 4), "user_id"])


def test_every_list_says_what_holds_for_each_film(engine):
    ratings = engine.dataset.ratings
    fans = _liked_by(ratings, 50)  # Star Wars
    content = engine.similar("Star Wars", k=10)
    assert content.by == "content" and content.features == "kg"
    assert len(content.reasons) == 10 and all(content.reasons)
    assert "11 actors in common" in content.reasons[0]  # The Empire Strikes Back
    for by in ("collab", "hybrid"):
        answer = engine.similar("Star Wars", by=by, k=10)
        for movie, reason in zip(answer.movies, answer.reasons, strict=True):
            both = len(fans & _liked_by(ratings, movie.movie_id))
            said = (
                f"rated highly by {both:,} of the {len(fans):,} people who rated Star Wars highly"
            )
            facts = content_facts(engine, movie) if by == "hybrid" else set()
            assert reason in facts - {None} or reason == (said if both else None)
    documented = engine.similar("Star Wars", by="collab", k=3).to_json()["movies"]
    assert all(row["reason"].startswith("rated highly by ") for row in documented)


def test_a_fused_list_speaks_from_the_list_that_ranked_each_film_higher(engine):
    lists = SimilarMovies(engine.catalog, engine.hub, Explainer(engine.catalog))
    content_rank = _ranks(lists.content_neighbours(engine.model("content"), 50, 100, None))
    collab_rank = _ranks(lists.collab_neighbours(50, 100, engine.catalog.voted(None)))
    answer = engine.similar("Star Wars", by="hybrid", k=20)
    picks = [m.movie_id for m in answer.movies]
    shared = shared_metadata(engine.catalog, 50, picks, "kg")
    liked = co_liking(Explainer(engine.catalog), engine.catalog, 50, picks)
    leads = []
    for pick, mine, co, reason in zip(picks, shared, liked, answer.reasons, strict=True):
        content_leads = content_rank.get(pick, 100) <= collab_rank.get(pick, 100)
        first, second = (mine, co) if content_leads else (co, mine)
        assert reason == (first if first is not None else second)
        leads.append(content_leads)
    assert any(leads) and not all(leads)  # each list leads somewhere in the top 20


def _ranks(ranking) -> dict[int, int]:
    return {m: r for r, m in enumerate(ranking.movie_ids.tolist())}


def content_facts(engine, movie) -> set[str | None]:
    return set(shared_metadata(engine.catalog, 50, [movie.movie_id], "kg"))


def test_collab_neighbours_shrink_the_cosine_by_the_people_who_rated_both(engine):
    model = engine.model(engine.hub.collab_name())
    nearest = model.similar_movies(50, 100, candidates=engine.catalog.voted(None))
    raters = engine.dataset.ratings.groupby("movie_id")["user_id"].apply(set)
    both = np.array([len(raters[50] & raters[m]) for m in nearest.movie_ids.tolist()])
    shrunk = nearest.scores * both / (both + COLLAB_SUPPORT)
    order = np.argsort(-shrunk, kind="stable")[:10]
    answer = engine.similar("Star Wars", by="collab", k=10)
    assert [m.movie_id for m in answer.movies] == nearest.movie_ids[order].tolist()
    np.testing.assert_allclose([m.score for m in answer.movies], shrunk[order], atol=1e-6)
    # films few Star Wars raters rated leave the top: the plain cosine's 10 had fewer in common
    assert both[order].min() > both[:10].min()


def test_equally_near_content_neighbours_come_best_rated_first(tmp_path):
    # films 2-4 and 6 have film 1's very genres (equally near it), film 5 only one of them
    genres = [["Animation", "Comedy"]] * 4 + [["Animation"], ["Animation", "Comedy"]]
    table = pd.DataFrame(
        {"movie_id": [1, 2, 3, 4, 5, 6], "title": list("ABCDEF"), "year": [1995] * 6}
    ).assign(genres=genres)
    means = {2: 3.0, 3: 4.5, 4: 4.0, 5: 5.0}
    rows = [(u, m, mean) for m, mean in means.items() for u in range(1, 21)]
    rows += [(1, 6, 2.5), (2, 6, 2.5)]  # two votes: not enough to say it is better than 2
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"]).assign(timestamp=0)
    engine = Engine(Dataset("hand", table, ratings, scale=RatingScale(1, 5, 0.5)))
    answer = engine.similar(1, k=5)
    assert answer.features == "soup"
    # shrunk toward the overall mean (4.1★), film 6 would have come before film 2
    assert [m.movie_id for m in answer.movies] == [3, 4, 2, 6, 5]
