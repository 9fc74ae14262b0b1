"""Splits: folds partition the ratings, holdouts are per user, time order is respected."""

import numpy as np
import pandas as pd
import pytest

from movierec.evaluate.splits import (
    cold_users,
    kfold,
    kfold_indices,
    temporal,
    user_holdout,
    user_temporal,
)
from tests.evaluate.toy import random_dataset


def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user_id"].tolist(), frame["movie_id"].tolist(), strict=True))


@pytest.fixture(scope="module")
def data():
    return random_dataset(n_users=40, n_movies=50, seed=3)


def test_kfold_partitions_the_ratings(data):
    everything = keys(data.ratings)
    tested = []
    for part in kfold(data, 5, seed=1):
        assert keys(part.train.ratings) | keys(part.test) == everything
        assert not keys(part.train.ratings) & keys(part.test)
        assert part.train.catalog["movie_id"].tolist() == data.catalog["movie_id"].tolist()
        tested.append(keys(part.test))
    assert set().union(*tested) == everything
    assert sum(len(t) for t in tested) == len(everything)


def test_kfold_sizes_and_seeds_follow_surprise_arithmetic():
    folds = kfold_indices(23, 5, seed=4)
    assert [len(f) for f in folds] == [5, 5, 5, 4, 4]  # the first n % k folds get one more
    expected = np.arange(23)
    np.random.RandomState(4).shuffle(expected)
    np.testing.assert_array_equal(np.concatenate(folds), expected)
    np.testing.assert_array_equal(np.concatenate(kfold_indices(23, 5, seed=4)), expected)
    assert not np.array_equal(np.concatenate(kfold_indices(23, 5, seed=5)), expected)
    with pytest.raises(ValueError, match="from 2 to the number of ratings"):
        kfold_indices(23, 1)


def test_kfold_folds_are_surprises_folds(data):
    surprise = pytest.importorskip("surprise")
    reader = surprise.Reader(rating_scale=(1, 5))
    frame = data.ratings[["user_id", "movie_id", "rating"]]
    theirs = surprise.Dataset.load_from_df(frame, reader)
    folds = surprise.model_selection.KFold(n_splits=5, random_state=11)
    for (_, their_test), part in zip(folds.split(theirs), kfold(data, 5, seed=11), strict=True):
        assert {(int(u), int(m)) for u, m, _ in their_test} == keys(part.test)


def test_user_holdout_is_per_user_and_seeded(data):
    (part,) = user_holdout(data, 0.25, seed=2)
    counts = data.ratings.groupby("user_id").size()
    tested = part.test.groupby("user_id").size().reindex(counts.index, fill_value=0)
    expected = np.clip(np.floor(0.25 * counts + 0.5), 1, counts - 1).where(counts >= 2, 0)
    np.testing.assert_array_equal(tested.to_numpy(), expected.to_numpy())
    assert keys(part.train.ratings) | keys(part.test) == keys(data.ratings)
    assert set(part.test["user_id"]) <= set(part.train.ratings["user_id"])
    (again,) = user_holdout(data, 0.25, seed=2)
    assert keys(again.test) == keys(part.test)
    (other,) = user_holdout(data, 0.25, seed=3)
    assert keys(other.test) != keys(part.test)
    first, second = user_holdout(data, 0.25, seed=2, repeats=2)
    assert keys(first.test) == keys(part.test) and keys(second.test) == keys(other.test)


def test_user_holdout_fixed_n_leaves_small_users_in_train():
    data = random_dataset(n_users=20, n_movies=30, density=0.1, seed=5)
    (part,) = user_holdout(data, None, n=2, min_ratings=4, seed=0)
    counts = data.ratings.groupby("user_id").size()
    tested = part.test.groupby("user_id").size().reindex(counts.index, fill_value=0)
    assert (tested[counts < 4] == 0).all()
    assert (tested[counts >= 4] == 2).all()
    with pytest.raises(ValueError, match="exactly one of fraction and n"):
        next(user_holdout(data, 0.2, n=2))
    with pytest.raises(ValueError, match="fraction must be in"):
        next(user_holdout(data, 1.5))


def test_user_temporal_leaves_each_users_last_ratings_out(data):
    (part,) = user_temporal(data, 2)
    last_train = part.train.ratings.groupby("user_id")["timestamp"].max()
    first_test = part.test.groupby("user_id")["timestamp"].min()
    assert (first_test > last_train.reindex(first_test.index)).all()
    counts = data.ratings.groupby("user_id").size()
    assert (
        part.test.groupby("user_id").size() == np.minimum(2, counts - 1).reindex(first_test.index)
    ).all()


def test_user_temporal_breaks_timestamp_ties_by_row_order():
    data = random_dataset(n_users=3, n_movies=6, density=1.0, seed=1)
    data.ratings["timestamp"] = 5
    (part,) = user_temporal(data, 1)
    last_rows = data.ratings.reset_index().groupby("user_id")["index"].max()
    assert keys(part.test) == keys(data.ratings.loc[last_rows.to_numpy()])


def test_temporal_tests_everything_after_the_cutoff(data):
    (part,) = temporal(data, quantile=0.7)
    assert part.test["timestamp"].min() > part.train.ratings["timestamp"].max()
    assert abs(len(part.test) / len(data.ratings) - 0.3) < 0.02
    cutoff = int(data.ratings["timestamp"].median())
    (by_time,) = temporal(data, cutoff=cutoff)
    assert (by_time.test["timestamp"] > cutoff).all()
    assert (by_time.train.ratings["timestamp"] <= cutoff).all()


def test_splits_that_need_time_refuse_data_without_it(data):
    undated = random_dataset(seed=1)
    undated.ratings["timestamp"] = 0
    with pytest.raises(ValueError, match="no timestamps"):
        next(temporal(undated))
    with pytest.raises(ValueError, match="no timestamps"):
        next(user_temporal(undated))
    with pytest.raises(ValueError, match="leaves every rating"):
        next(temporal(data, cutoff=0))


def test_unknown_test_users_and_movies_are_counted(data):
    (part,) = temporal(data, quantile=0.5)
    counts = part.coverage_of_test()
    train_users = set(part.train.ratings["user_id"])
    train_movies = set(part.train.ratings["movie_id"])
    assert counts["unknown_user"] == (~part.test["user_id"].isin(train_users)).sum()
    assert (
        counts["unknown_movie"]
        == (
            part.test["user_id"].isin(train_users) & ~part.test["movie_id"].isin(train_movies)
        ).sum()
    )


# --- cold users -----------------------------------------------------------------------------


def test_cold_users_are_withheld_whole(data):
    (part,) = cold_users(data, 0.25, n_profile=3, seed=1)
    cold = set(part.test["user_id"]) | set(part.profile["user_id"])
    assert cold and not cold & set(part.train.ratings["user_id"])  # no training rating of theirs
    assert keys(part.train.ratings) | keys(part.test) | keys(part.profile) == keys(data.ratings)
    assert len(part.train.ratings) + len(part.test) + len(part.profile) == len(data.ratings)
    assert set(part.test["user_id"]) == set(part.profile["user_id"])  # each has a test rating
    eligible = (data.ratings.groupby("user_id").size() > 3).sum()
    assert len(cold) == round(0.25 * eligible)
    assert part.train.catalog["movie_id"].tolist() == data.catalog["movie_id"].tolist()
    assert part.coverage_of_test()["unknown_user"] == 0  # they are told their profile


def test_cold_profiles_are_each_users_earliest_ratings(data):
    (part,) = cold_users(data, 0.3, n_profile=4, seed=2)
    assert (part.profile.groupby("user_id").size() == 4).all()
    last_profile = part.profile.groupby("user_id")["timestamp"].max()
    first_test = part.test.groupby("user_id")["timestamp"].min()
    assert (first_test > last_profile.reindex(first_test.index)).all()


def test_cold_profiles_break_time_ties_by_row_and_are_random_without_time():
    data = random_dataset(n_users=30, n_movies=20, density=0.6, seed=4)
    data.ratings["timestamp"] = 7  # all tied: the earlier rows are the profile
    (part,) = cold_users(data, 0.2, n_profile=2, seed=0)
    rows = data.ratings.reset_index().groupby("user_id")["index"].apply(lambda r: r.iloc[:2])
    cold = set(part.profile["user_id"])
    assert keys(part.profile) == keys(
        data.ratings.loc[[r for (u, _), r in rows.items() if u in cold]]
    )
    data.ratings["timestamp"] = 0  # no time at all: a seeded random profile
    (first,) = cold_users(data, 0.2, n_profile=2, seed=0)
    (again,) = cold_users(data, 0.2, n_profile=2, seed=0)
    assert keys(first.profile) == keys(again.profile) and keys(first.test) == keys(again.test)
    assert keys(first.profile) != keys(part.profile)


def test_cold_users_are_seeded(data):
    (a,), (b,), (c,) = (cold_users(data, 0.2, seed=s) for s in (5, 5, 6))
    assert keys(a.test) == keys(b.test) and keys(a.profile) == keys(b.profile)
    assert set(a.test["user_id"]) != set(c.test["user_id"])


def test_cold_users_with_an_empty_profile(data):
    (part,) = cold_users(data, 0.2, n_profile=0, seed=0)
    assert part.profile is not None and part.profile.empty
    assert set(part.test["user_id"]).isdisjoint(part.train.ratings["user_id"])
    assert part.coverage_of_test()["unknown_user"] == 0


def test_cold_users_only_among_users_with_enough_ratings():
    data = random_dataset(n_users=40, n_movies=30, density=0.15, seed=8)
    counts = data.ratings.groupby("user_id").size()
    (part,) = cold_users(data, 0.5, n_profile=3, min_ratings=6, seed=0)
    assert (counts[sorted(set(part.test["user_id"]))] >= 6).all()
    assert len(set(part.test["user_id"])) == round(0.5 * (counts >= 6).sum())
    (one,) = cold_users(data, 0.001, n_profile=1, seed=0)  # at least one user
    assert one.test["user_id"].nunique() == 1
    (most,) = cold_users(data, 0.999, n_profile=0, seed=0)  # at least one stays in training
    assert most.train.ratings["user_id"].nunique() >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fraction": 0.0}, "fraction must be in"),
        ({"fraction": 1.0}, "fraction must be in"),
        ({"fraction": True}, "fraction must be in"),
        ({"n_profile": -1}, "n_profile must be an integer"),
        ({"n_profile": 2.5}, "n_profile must be an integer"),
        ({"min_ratings": 0}, "min_ratings must be a positive integer"),
        ({"n_profile": 10_000}, "no user of 'toy' has more than 10000 ratings"),
    ],
)
def test_cold_users_bad_input(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        next(cold_users(data, **{"fraction": 0.2, **kwargs}))
