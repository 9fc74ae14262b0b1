"""Curation on hand-made data whose right answers are known: each filter, the order, the sample."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from movierec.data.curate import CurateConfig, EmptyCurationError, curate
from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.errors import InvalidValueError, NoMatchError

#   movie:   1    2    3    4       counts 4, 4, 2, 3; means 5, 2, 5, 4 (movie 5 unrated)
# user 1:    5    2    5    4
# user 2:    5    2    5    4
# user 3:    5    2                 2 ratings in all, 1 once movies 2 and 3 are gone
# user 4:    5    2
# user 5:                   4       (user 6 has demographics but no rating)
RATINGS = [
    (1, 1, 5), (1, 2, 2), (1, 3, 5), (1, 4, 4),
    (2, 1, 5), (2, 2, 2), (2, 3, 5), (2, 4, 4),
    (3, 1, 5), (3, 2, 2),
    (4, 1, 5), (4, 2, 2),
    (5, 4, 4),
]  # fmt: skip
FAN = CurateConfig(min_movie_ratings=3, min_mean=3.5, min_user_ratings=2)


def hand_made() -> Dataset:
    ratings = pd.DataFrame(RATINGS, columns=["user_id", "movie_id", "rating"])
    ratings["timestamp"] = np.arange(len(ratings))
    catalog = pd.DataFrame({"movie_id": [1, 2, 3, 4, 5], "title": list("ABCDE")})
    users = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6], "age": [18, 25, 35, 45, 50, 56]})
    return Dataset("hand", catalog, ratings, users, FIVE_STARS, "test")


def triples(data: Dataset) -> list[tuple[int, int, float]]:
    return list(data.ratings[["user_id", "movie_id", "rating"]].itertuples(index=False, name=None))


def test_movie_filter_counts_and_means_on_the_input():
    data, report = curate(hand_made(), CurateConfig(min_movie_ratings=3, min_mean=3.5))
    assert sorted(set(data.ratings["movie_id"])) == [1, 4]  # 2: mean 2; 3: only 2 ratings
    movies = report.steps[0]
    assert movies.name == "movies" and movies.criterion == "≥ 3 ratings and mean ≥ 3.5"
    assert movies.before.to_json() == {"ratings": 13, "users": 5, "movies": 4}
    assert movies.after.to_json() == {"ratings": 7, "users": 5, "movies": 2}
    assert movies.removed.to_json() == {"ratings": 6, "users": 0, "movies": 2}


def test_min_mean_is_inclusive_and_either_rule_alone():
    data, _ = curate(hand_made(), CurateConfig(min_mean=4.0))
    assert sorted(set(data.ratings["movie_id"])) == [1, 3, 4]  # movie 4's mean is exactly 4
    data, _ = curate(hand_made(), CurateConfig(min_movie_ratings=4))
    assert sorted(set(data.ratings["movie_id"])) == [1, 2]


def test_users_are_counted_after_the_movie_filter():
    # User 3 has 2 ratings in the input but 1 once movie 2 is gone, so the order removes them.
    data, report = curate(hand_made(), FAN)
    assert triples(data) == [(1, 1, 5), (1, 4, 4), (2, 1, 5), (2, 4, 4)]
    users = report.steps[1]
    assert users.before.to_json() == {"ratings": 7, "users": 5, "movies": 2}
    assert users.after.to_json() == {"ratings": 4, "users": 2, "movies": 2}
    assert users.removed.ratings == 3 and users.removed.users == 3


def test_one_pass_not_a_fixed_point_and_the_report_says_so():
    data, report = curate(hand_made(), FAN)
    # Movies 1 and 4 passed with 4 and 3 ratings; after the user filter each has 2 < 3: kept.
    assert data.ratings.groupby("movie_id").size().to_dict() == {1: 2, 4: 2}
    assert report.movies_below_min_after_users == 2


def test_catalog_and_demographics_keep_only_what_still_has_ratings():
    data, report = curate(hand_made(), FAN, name="fan")
    assert data.name == "fan" and data.scale == FIVE_STARS and data.source_format == "test"
    assert data.catalog["movie_id"].tolist() == [1, 4] and report.catalog == (5, 2)
    assert data.users is not None and data.users["user_id"].tolist() == [1, 2]
    assert report.users_table == (6, 2)
    assert "curated from hand" in str(list(data.report)[-1])


def test_without_a_users_table_and_with_no_filter_everything_stays():
    source = hand_made()
    source.users = None
    data, report = curate(source, CurateConfig())
    assert triples(data) == triples(source) and report.users_table is None
    assert [step.criterion for step in report.steps] == ["none", "none", "none"]
    assert all(step.removed.ratings == 0 for step in report.steps)
    assert report.catalog == (5, 4)  # movie 5 was never rated


def test_the_input_is_not_changed():
    source = hand_made()
    before = source.ratings.copy()
    curate(source, CurateConfig(min_movie_ratings=3, sample=0.5, stratify="rating"))
    pd.testing.assert_frame_equal(source.ratings, before)


def test_report_json_round_trips_and_chains():
    _, report = curate(hand_made(), FAN)
    document = json.loads(json.dumps(report.to_json()))
    assert [s["step"] for s in document["steps"]] == ["movies", "users", "sample"]
    for earlier, later in zip(document["steps"], document["steps"][1:], strict=False):
        assert earlier["after"] == later["before"]
    assert document["before"]["ratings"] == 13 and document["after"]["ratings"] == 4
    assert CurateConfig.from_json(document["config"]) == FAN


def many_ratings(n_users: int = 300, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    per_user = rng.integers(1, 40, n_users)
    users = np.repeat(np.arange(1, n_users + 1), per_user)
    movies = np.concatenate([rng.choice(200, k, replace=False) + 1 for k in per_user])
    ratings = rng.choice([1, 2, 3, 4, 5], len(users), p=[0.05, 0.1, 0.25, 0.35, 0.25])
    frame = pd.DataFrame({"user_id": users, "movie_id": movies, "rating": ratings, "timestamp": 0})
    catalog = pd.DataFrame({"movie_id": np.arange(1, 201), "title": "x"})
    return Dataset("many", catalog, frame, None, FIVE_STARS)


@pytest.mark.parametrize("fraction", [0.1, 0.33, 0.5, 0.9])
def test_stratified_by_rating_keeps_each_values_share(fraction):
    source = many_ratings()
    data, _ = curate(source, CurateConfig(sample=fraction, stratify="rating", seed=4))
    wanted = source.ratings["rating"].value_counts()
    kept = data.ratings["rating"].value_counts().reindex(wanted.index, fill_value=0)
    assert (abs(kept - fraction * wanted) <= 0.5).all()
    assert set(triples(data)) <= set(triples(source))
    position = {pair: i for i, pair in enumerate(triples(source))}
    assert pd.Series([position[t] for t in triples(data)]).is_monotonic_increasing  # input order


def test_stratified_by_user_keeps_each_users_share_and_at_least_one():
    source = many_ratings()
    data, report = curate(source, CurateConfig(sample=0.1, stratify="user"))
    wanted = source.ratings.groupby("user_id").size()
    kept = data.ratings.groupby("user_id").size().reindex(wanted.index, fill_value=0)
    assert (kept >= 1).all()  # nobody is sampled away
    assert (kept == np.maximum(np.floor(0.1 * wanted + 0.5), 1)).all()
    assert report.steps[2].removed.users == 0


def test_unstratified_sample_keeps_the_rounded_fraction():
    source = many_ratings()
    data, _ = curate(source, CurateConfig(sample=0.25))
    assert len(data.ratings) == int(np.floor(0.25 * len(source.ratings) + 0.5))


def test_the_same_seed_gives_the_same_sample():
    source = many_ratings()
    first, _ = curate(source, CurateConfig(sample=0.3, stratify="rating", seed=7))
    again, _ = curate(source, CurateConfig(sample=0.3, stratify="rating", seed=7))
    other, _ = curate(source, CurateConfig(sample=0.3, stratify="rating", seed=8))
    pd.testing.assert_frame_equal(first.ratings, again.ratings)
    assert triples(first) != triples(other)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_movie_ratings", -1),
        ("min_movie_ratings", 2.5),
        ("min_mean", float("nan")),
        ("min_mean", -1.0),
        ("min_user_ratings", True),
        ("sample", 0.0),
        ("sample", 1.5),
        ("stratify", "genre"),
        ("seed", -3),
    ],
)
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(InvalidValueError, match=f"^{field} must be") as caught:
        CurateConfig(**{field: value})
    assert caught.value.field == field


def test_unknown_json_parameter_is_named():
    with pytest.raises(ValueError, match="min_votes"):
        CurateConfig.from_json({"min_votes": 3})


@pytest.mark.parametrize(
    ("config", "step"),
    [
        (CurateConfig(min_mean=5.5), "movies"),
        (CurateConfig(min_movie_ratings=5), "movies"),
        (dataclasses.replace(FAN, min_user_ratings=3), "users"),  # users 1, 2 had 4 before
        (CurateConfig(sample=0.01, stratify="rating"), "sample"),  # every quota rounds to 0
    ],
)
def test_an_empty_result_names_the_filter_that_emptied_it(config, step):
    with pytest.raises(EmptyCurationError, match=f"the {step} filter") as caught:
        curate(hand_made(), config)
    assert caught.value.step == step and isinstance(caught.value, NoMatchError)
