"""Reasons are true: a named film is near its pick in the model's own space, else a fallback
whose claim holds (co-raters, a liked genre, the pick's own votes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from movierec.data.dataset import Dataset, RatingScale
from movierec.data.idmap import IdMap
from movierec.data.sources import load_path
from movierec.engine.catalog import Catalog
from movierec.engine.core import Engine
from movierec.engine.reasons import REASON_NEIGHBOURS, Explainer
from tests.conftest import shared_dataset
from tests.engine.wording import BECAUSE, HONEST

# --- on real data: every film named is among its pick's nearest ---------------------------------


@pytest.fixture(scope="module")
def engine():
    return Engine(load_path(shared_dataset("ml-100k-recbole"), "ml-100k"))


#: the newcomer of issue 11, whose ALS picks once said "Pather Panchali, because you rated
#: Raiders of the Lost Ark 5★": Star Wars, Empire, Raiders 5★; Titanic 1★; Casablanca and
#: Schindler's List 2★
NEWCOMER = 90_001, np.array([50, 172, 174, 313, 483, 318]), np.array([5, 5, 5, 1, 2, 2.0])


def _answers(engine, name):
    """(user, picks, reasons) for some regulars, and the newcomer folded into the model."""
    for user in (1, 13, 42, 200, 405, 655, 900):
        answer = engine.recommend(user, model=name, k=10)
        yield user, [m.movie_id for m in answer.movies], answer.reasons
    user, movies, ratings = NEWCOMER
    model = engine.model(name)
    model.fold_in_user(user, movies, ratings)
    picks = model.recommend(user, 10).movie_ids
    reasons = Explainer(engine.catalog).explain(model, user, (movies, ratings), picks)
    yield user, picks.tolist(), reasons


@pytest.mark.parametrize("name", ["als", "mf"])
def test_every_named_film_is_among_the_picks_nearest_neighbours(engine, name):
    model = engine.model(name)
    every = np.array(model.movies.ids)
    named = 0
    newcomer = pd.DataFrame(
        {"user_id": NEWCOMER[0], "movie_id": NEWCOMER[1], "rating": NEWCOMER[2]}
    )
    ratings = pd.concat([engine.dataset.ratings, newcomer], ignore_index=True)
    for user, picks, reasons in _answers(engine, name):
        assert len(reasons) == len(picks) == 10
        rated = ratings[ratings["user_id"] == user]
        rated = rated.assign(title=rated["movie_id"].map(lambda m: engine.movie(m).title))
        for movie_id, reason in zip(picks, reasons, strict=True):
            assert HONEST.match(reason), reason
            found = BECAUSE.match(reason)
            if found is None:
                continue
            named += 1
            # titles repeat (two Cape Fears): one of the user's films so named, so rated, is near
            sources = rated.loc[
                (rated["title"] == found.group(1)) & (rated["rating"] == float(found.group(2))),
                "movie_id",
            ]
            row = model.pair_similarity(np.array([movie_id]), every)[0]
            row[every == movie_id] = -np.inf  # a movie is not its own neighbour
            nearest = every[np.argsort(-row, kind="stable")[:REASON_NEIGHBOURS]]
            assert np.isin(sources.to_numpy(), nearest).any(), (user, movie_id, reason)
    assert named > 0  # regulars have liked films close to most picks


@pytest.mark.parametrize("name", ["als", "ease"])
def test_kept_cutoffs_give_the_reasons_a_whole_row_gives(engine, name):
    """Picks repeat between users: their neighbour cut-offs are computed once per generation,
    and the reasons are those of computing every pick's whole similarity row afresh."""
    model = engine.model(name)
    ratings = engine.dataset.ratings
    keeping, afresh = Explainer(engine.catalog), Explainer(engine.catalog)
    asked = 0
    for user in range(1, 80):
        mine = ratings[ratings["user_id"] == user]
        history = (mine["movie_id"].to_numpy(), mine["rating"].to_numpy())
        picks = model.recommend(user, 10).movie_ids
        asked += len(picks)
        kept = keeping.explain(model, user, history, picks, generation=(0, 0))
        assert kept == afresh.explain(model, user, history, picks), user
    assert len(keeping._reaches.cutoffs) < asked / 2  # most picks were asked about before
    keeping.explain(model, 1, history, picks, generation=(1, 0))  # a rating stored since
    assert len(keeping._reaches.cutoffs) <= 10


def test_a_model_that_ranks_the_same_for_everyone_never_says_because(engine):
    answer = engine.recommend(42, model="chart", k=10)
    assert all(HONEST.match(r) and not r.startswith("because") for r in answer.reasons)


def test_without_reasons_nothing_is_explained(engine):
    answer = engine.recommend(42, model="als", k=5, reasons=False)
    assert len(answer.movies) == 5 and answer.reasons == []


# --- each wording, on a small dataset whose answer is known -------------------------------------

X, Y, PAIRED, SCIFI, HIT, OBSCURE, LIKED_SCIFI = 1, 2, 3, 4, 5, 6, (7, 8)
FILLERS = range(9, 81)
ME = 999  # the user being explained: not in the dataset


def _small() -> Dataset:
    """100 users: 1-10 love X and Y and rated PAIRED; 11-100 rate every filler 2★, HIT 5★,
    and 11-40 SCIFI 4★; user 11 alone rated OBSCURE, 1★."""
    rows = [(u, m, 5.0) for u in range(1, 11) for m in (X, Y)]
    rows += [(u, PAIRED, 4.0) for u in range(1, 11)]
    rows += [(u, m, 2.0) for u in range(11, 101) for m in FILLERS]
    rows += [(u, HIT, 5.0) for u in range(11, 101)]
    rows += [(u, SCIFI, 4.0) for u in range(11, 41)]
    rows += [(11, OBSCURE, 1.0)]
    genres = {
        X: ["Adventure"],
        Y: ["Adventure"],
        PAIRED: ["Drama"],
        SCIFI: ["Sci-Fi"],
        HIT: ["Comedy"],
        OBSCURE: ["Horror"],
        7: ["Sci-Fi"],
        8: ["Sci-Fi"],
    }
    ids = list(range(1, 81))
    catalog = pd.DataFrame(
        {
            "movie_id": ids,
            "title": [f"Film {m}" for m in ids],
            "year": [1990] * len(ids),
            "genres": [genres.get(m, ["Documentary"]) for m in ids],
        }
    )
    users, movies, ratings = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {"user_id": users, "movie_id": movies, "rating": ratings, "timestamp": np.arange(len(rows))}
    )
    return Dataset("small", catalog, frame, scale=RatingScale(1, 5, 1))


class Fixed:
    """A stand-in model whose item space is a given similarity matrix (movie ids 1..80)."""

    kind = "fixed"

    def __init__(self, similarity: np.ndarray):
        self.movies = IdMap(np.arange(1, 81))
        self.similarity = similarity

    def pair_similarity(self, movie_ids: np.ndarray, other_ids: np.ndarray) -> np.ndarray:
        rows = self.movies.indices(movie_ids)
        return self.similarity[rows][:, self.movies.indices(other_ids)]


@pytest.fixture(scope="module")
def small():
    return Explainer(Catalog(_small()))


HISTORY = (np.array([X, Y, 7, 8, 9, 10]), np.array([5.0, 5.0, 5.0, 5.0, 1.0, 1.0]))
FLAT = np.zeros((80, 80))  # every movie as near as every other: nothing is "near"


def test_each_fallback_says_what_holds(small):
    picks = np.array([PAIRED, SCIFI, HIT, OBSCURE])
    assert small.explain(Fixed(FLAT), ME, HISTORY, picks) == [
        "popular with people who rated Film 1 and Film 2 highly",  # all 10 co-raters, 10% of all
        "well rated in Sci-Fi, which you rate highly",  # 4.0★ from 30, above the mean; 7 and 8
        "popular and well rated (90 votes, 5.0★ average)",
        "a lesser-known pick (1 vote, 1.0★ average)",
    ]


@pytest.mark.parametrize(
    ("above", "named"), [(REASON_NEIGHBOURS - 1, True), (REASON_NEIGHBOURS, False)]
)
def test_a_liked_film_is_named_only_among_the_nearest(small, above, named):
    similarity = FLAT.copy()
    row = similarity[HIT - 1]
    row[FILLERS[0] - 1 : FILLERS[0] - 1 + above] = 0.9  # this many films nearer than X
    row[X - 1] = 0.5
    reason = small.explain(Fixed(similarity), ME, HISTORY, np.array([HIT]))[0]
    assert (reason == "because you rated Film 1 5★") is named, reason


def test_ties_count_against_the_named_film(small):
    similarity = FLAT.copy()
    similarity[HIT - 1, FILLERS[0] - 1 :] = 0.5
    similarity[HIT - 1, X - 1] = 0.5  # as near as 72 fillers: not among the nearest 50
    reason = small.explain(Fixed(similarity), ME, HISTORY, np.array([HIT]))[0]
    assert not reason.startswith("because")


def test_the_cutoffs_give_the_rank_with_ties_counted_against():
    """The linear-time test of "within the nearest N" equals counting, ties included."""
    from movierec.engine.nearness import row_cutoffs, within

    rng = np.random.default_rng(0)
    for _ in range(200):
        row = rng.integers(0, 6, rng.integers(1, 40)).astype(np.float64)  # many ties
        top = int(rng.integers(1, 12))
        values = row[rng.integers(0, len(row), 5)]
        counted = np.array([(row >= v).sum() <= top for v in values])
        v, w = row_cutoffs(row, top)
        np.testing.assert_array_equal(within(values, v, w), counted)


def test_co_rater_counts_equal_counting_by_hand():
    """The bit-mask kernel counts, per pair of pooled films, the users who liked both, and
    among them those who rated each pick, as a users × pool 0/1 block's products do; asked for
    fewer co-raters, it counts the first chunks of users that hold them, and no further."""
    from movierec.engine._raterkernels import co_rater_counts
    from movierec.engine.reasons import PAIR_POOL

    assert PAIR_POOL <= 32  # one bit per pooled film
    rng = np.random.default_rng(0)
    n_users, n_movies, size = 300, 40, 30
    liked = sp.random(n_users, n_movies, density=0.2, random_state=1, format="csc")
    rated = sp.random(n_users, n_movies, density=0.3, random_state=2, format="csc")
    liked.sort_indices()
    rated.sort_indices()
    pool = rng.choice(n_movies, size, replace=False)
    picks = np.array([3, 17, 25])
    block = (liked[:, pool].toarray() > 0).astype(np.float32)  # users × pool
    user = np.arange(n_users)
    skip = int(np.flatnonzero(block.sum(axis=1) >= 2)[5])
    two = (block.sum(axis=1) >= 2) & (user != skip)
    upper = np.triu(np.ones((size, size), bool), k=1)
    for most, chunk in [(n_users, 7), (40, 16), (1, 1000)]:
        pairs, also, raters, read = co_rater_counts(
            liked.indptr, liked.indices, pool, rated.indptr, rated.indices, picks,
            n_users, most, skip, chunk,
        )  # fmt: skip
        if most == n_users or chunk >= n_users:
            assert read == n_users
        else:  # whole chunks, up to the first that brings the count to `most`
            assert read % chunk == 0 and read < n_users
            assert two[:read].sum() >= most > two[: read - chunk].sum()
        counted = two & (user < read)
        mine = block[counted]
        np.testing.assert_array_equal(pairs[upper], (mine.T @ mine)[upper])
        for j, pick in enumerate(picks):
            who = block[counted & (rated[:, pick].toarray().ravel() > 0)]
            np.testing.assert_array_equal(also[j][upper], (who.T @ who)[upper])
            assert raters[j] == len(who)


def test_column_structure_equals_scipys_with_repeats_dropped():
    """Two counting sorts give each column's rows sorted and unique, as scipy's CSC with
    its duplicates summed does (rows given shuffled, repeats included), of the kept pairs."""
    from movierec.engine._raterkernels import column_structure

    rng = np.random.default_rng(3)
    for n_rows, n_columns, nnz in [(50, 30, 400), (1, 1, 3), (7, 9, 0), (1000, 5, 5000)]:
        rows = rng.integers(0, n_rows, nnz)
        columns = rng.integers(0, n_columns, nnz)
        keep = rng.random(nnz) < 0.8
        indptr, indices = column_structure(rows, columns, keep, n_rows, n_columns)
        want = sp.csc_matrix(
            (np.ones(keep.sum()), (rows[keep], columns[keep])), shape=(n_rows, n_columns)
        )
        want.sum_duplicates()
        np.testing.assert_array_equal(indptr, want.indptr)
        np.testing.assert_array_equal(indices, want.indices)
        bounds = zip(indptr[:-1], indptr[1:], strict=True)
        assert all((np.diff(indices[a:b]) > 0).all() for a, b in bounds)


def test_the_chart_words_follow_votes_that_arrive(small):
    """The word "popular" follows a quantile of the live vote counts: kept between votes only."""
    picks = np.array([HIT])
    assert small.explain(Fixed(FLAT), ME, HISTORY, picks) == [
        "popular and well rated (90 votes, 5.0★ average)"
    ]
    for movie in FILLERS:  # the other films overtake it: 90 votes are no longer many
        for _ in range(100):
            small.catalog.count_vote(movie, 2.0, None)
    assert small.explain(Fixed(FLAT), ME, HISTORY, picks) == ["well rated (90 votes, 5.0★ average)"]
