"""Charts: the weighted rating, its filters and segments, on small data and on real data."""

import numpy as np
import pandas as pd
import pytest

from movierec.data.charts import (
    Segment,
    SegmentTooSmallError,
    movie_votes,
    shrunk_ratings,
    weighted_chart,
)
from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.data.filters import CatalogFilter, GenreIndex, parse_years
from movierec.data.sources import load_path
from movierec.errors import NoMatchError
from tests.conftest import shared_dataset


def tiny() -> Dataset:
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 3, 4],
            "title": ["Loved by many", "Loved by two", "Fine", "Old comedy"],
            "year": [1995, 1996, 1997, 1955],
            "genres": [["Drama"], ["Drama"], ["Comedy"], ["Comedy"]],
        }
    )
    rows = []
    for u in range(1, 41):  # 40 users
        rows.append((u, 1, 5.0 if u % 4 else 4.0))  # mean 4.75 over 40 votes
        rows.append((u, 3, 3.0))
        if u <= 20:
            rows.append((u, 4, 4.0))
    rows += [(1, 2, 5.0), (2, 2, 5.0)]  # two perfect votes
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    ratings["timestamp"] = 0
    users = pd.DataFrame(
        {
            "user_id": range(1, 41),
            "gender": ["F" if u % 2 else "M" for u in range(1, 41)],
            "age": [20 + u for u in range(1, 41)],
            "occupation": ["technician/engineer" if u < 30 else "writer" for u in range(1, 41)],
        }
    )
    return Dataset("tiny", catalog, ratings, users, FIVE_STARS, "test")


def test_weighted_rating_arithmetic():
    data = tiny()
    chart = weighted_chart(data, k=10, quantile=0.5)
    votes, means, _ = movie_votes(data)
    C, m = means.mean(), np.quantile(votes, 0.5)
    assert chart.C == pytest.approx(C) and chart.m == pytest.approx(m)
    first = chart.entries[0]
    assert first.title == "Loved by many"
    assert first.score == pytest.approx(40 / (40 + m) * 4.75 + m / (40 + m) * C, abs=1e-4)
    assert "Loved by two" not in [e.title for e in chart.entries]  # 2 votes < m
    assert chart.source == "ratings"


def test_filters_recompute_C_and_m_within_the_selection():
    data = tiny()
    chart = weighted_chart(data, filters=CatalogFilter.parse(genres="comedy"), quantile=0.0)
    assert [e.title for e in chart.entries] == ["Old comedy", "Fine"]
    assert chart.C == pytest.approx((3.0 + 4.0) / 2)
    fifties = weighted_chart(data, filters=CatalogFilter.parse(years="1950s"), quantile=0.0)
    assert [e.title for e in fifties.entries] == ["Old comedy"]


def test_segment_uses_only_its_users_ratings():
    data = tiny()
    chart = weighted_chart(data, segment=Segment.parse("gender=F"), quantile=0.0, k=1)
    assert chart.segment == "gender=F" and chart.source == "ratings of the segment"
    assert chart.entries[0].votes == 20
    engineers = weighted_chart(data, segment=Segment.parse("occupation=engineer"), quantile=0.0)
    assert engineers.entries[0].votes == 29


def test_small_segment_says_so():
    with pytest.raises(SegmentTooSmallError, match="5 users"):
        weighted_chart(tiny(), segment=Segment.parse("age=56-60"))


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("height=180", ValueError, "unknown key 'height'"),
        ("gender", ValueError, "key=value"),
        ("age=old", ValueError, "age must be like"),
        ("occupation=astronaut", NoMatchError, "no user has occupation"),
    ],
)
def test_bad_segments(text, error, message):
    with pytest.raises(error, match=message):
        weighted_chart(tiny(), segment=Segment.parse(text))


def test_segment_key_the_dataset_lacks():
    data = tiny()
    data.users = data.users.drop(columns=["occupation"])
    with pytest.raises(NoMatchError, match="no 'occupation'"):
        weighted_chart(data, segment=Segment.parse("occupation=writer"))
    data.users = None
    with pytest.raises(NoMatchError, match="no user demographics"):
        weighted_chart(data, segment=Segment.parse("gender=F"))


def test_unknown_genre_lists_the_valid_ones():
    with pytest.raises(NoMatchError, match="unknown genre 'Western'.*Comedy, Drama"):
        weighted_chart(tiny(), filters=CatalogFilter.parse(genres="Western"))


@pytest.mark.parametrize("k", [0, -3, 1.5])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        weighted_chart(tiny(), k=k)


def test_tmdb_votes_need_the_columns():
    with pytest.raises(NoMatchError, match="no TMDB vote counts"):
        weighted_chart(tiny(), source="tmdb")


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("1950-1959", (1950, 1959)),
        ("1950s", (1950, 1959)),
        ("1995", (1995, 1995)),
        ("-1970", (None, 1970)),
        ("2000-", (2000, None)),
        ("1990..1999", (1990, 1999)),
    ],
)
def test_parse_years(text, years):
    assert parse_years(text) == years


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1959-1950", "reversed"),
        ("fifties", "expected a range"),
        ("19-20", "expected a range"),
        ("-", "expected a range"),
    ],
)
def test_parse_years_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_years(text)


def test_genre_bitsets():
    index = GenreIndex(pd.Series([["Drama"], ["Comedy", "Drama"], [], ["Horror"]]))
    assert index.having_any(["comedy", "horror"]).tolist() == [False, True, False, True]
    assert index.overlapping(0).tolist() == [True, True, False, False]
    assert index.masks[2] == 0


def test_genres_match_as_people_type_them():
    index = GenreIndex(pd.Series([["Sci-Fi"], ["Children's", "Film-Noir"], ["Drama"]]))
    assert index.having_any(["scifi"]).tolist() == [True, False, False]
    assert index.having_any(["Sci Fi", "childrens"]).tolist() == [True, True, False]
    assert index.having_any(["film noir"]).tolist() == [False, True, False]
    with pytest.raises(NoMatchError, match="unknown genre 'fi'"):
        index.mask_of(["fi"])


def test_shrunk_ratings_keep_two_perfect_votes_off_the_top():
    votes = np.array([100.0, 2.0, 30.0, 40.0, 10.0, 0.0])
    means = np.array([4.2, 5.0, 3.0, 3.2, 3.5, np.nan])
    shrunk = shrunk_ratings(votes, means)
    assert shrunk[0] > shrunk[1] > shrunk[3] and np.isnan(shrunk[5])


# --- real data -----------------------------------------------------------------------------


def test_tmdb5000_chart_begins_with_shawshank():
    data = load_path(shared_dataset("tmdb-5000"))
    chart = weighted_chart(data)
    assert chart.C == pytest.approx(6.09, abs=0.005) and chart.m == pytest.approx(1838, abs=1)
    assert chart.entries[0].title == "The Shawshank Redemption"
    assert chart.source.startswith("tmdb")


def test_ml100k_charts_by_genre_decade_and_segment():
    data = load_path(shared_dataset("ml-100k-recbole"))
    overall = weighted_chart(data)
    assert overall.entries[0].title == "Star Wars"
    noir = weighted_chart(data, filters=CatalogFilter.parse(genres="Film-Noir"), k=3)
    assert all(
        "Film-Noir" in data.catalog.set_index("movie_id").loc[e.movie_id, "genres"]
        for e in noir.entries
    )
    women = weighted_chart(data, segment=Segment.parse("gender=F,age=25-34"))
    assert women.entries and women.entries[0].votes < overall.entries[0].votes
