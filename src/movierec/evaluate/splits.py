"""Train/test splits of a dataset's ratings: seeded, vectorised, one ``Split`` per fold.

Every split keeps the full catalog in the training :class:`~movierec.data.Dataset` and
subsets only its ratings, so a model's movie index is the same whatever the fold and a test
movie that no training rating touches is still a known (if uninformed) catalog entry.

* :func:`kfold` — k-fold over ratings, the same folds as Surprise's ``KFold``. Surprise
  shuffles ``np.arange(n_ratings)`` with ``np.random.RandomState(random_state).shuffle`` and
  cuts it into ``n_splits`` consecutive slices, the first ``n % n_splits`` one rating larger.
  This module does exactly that, so *given the ratings in the same row order and the same
  seed, both libraries build identical folds*: load Surprise's data with
  ``surprise.Dataset.load_from_df(data.ratings[["user_id", "movie_id", "rating"]], reader)``
  (which keeps the row order) and use ``KFold(n_splits, random_state=seed)``.
* :func:`user_holdout` — per user, a random fraction (or a fixed number) of their ratings.
* :func:`stratified` — per user, a random ``ratio`` share of their ratings to train, the same
  rows as Microsoft Recommenders' ``python_stratified_split`` (their ml-100k top-N protocol).
* :func:`grouplens_fold` — ml-100k only: GroupLens' own ``u1`` … ``u5`` folds (80% / 20%),
  the split behind published ml-100k figures quoted "on u1".
* :func:`user_temporal` — per user, the last ratings by timestamp (leave-last-n-out).
* :func:`temporal` — everything rated after a global time cutoff (or a timestamp quantile).
* :func:`cold_users` — a random share of users withheld from training entirely; each one's
  first few ratings are a "profile" a model is told at query time, the rest are tested. To
  compare profile sizes, draw it once with the largest size and take each smaller profile
  with :meth:`Split.profile_prefix`: the same users, and the same test ratings (those after
  the largest profile), for every size.

In the per-user splits a user keeps at least one training rating, and users with fewer than
``min_ratings`` ratings stay wholly in train: a user with nothing left to learn from says
nothing about a model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset, LoadReport
from movierec.validate import int_at_least, int_in, is_int, number_in, positive_int, require

# ml-100k's ``u.data``: its size and first row, which identify the file in its own row order.
ML100K_RATINGS = 100_000
ML100K_FIRST_ROW = (196, 242, 3.0, 881250949)
GROUPLENS_FOLD_SIZE = 20_000
_ROW = ("user_id", "movie_id", "rating", "timestamp")


@dataclass(frozen=True)
class Split:
    """One train/test split: the training dataset and the held-out ratings.

    ``profile`` is set by :func:`cold_users` only: the ratings of the withheld (cold) users a
    model may be told before it is asked about them (possibly none per user). Every user in
    ``test`` is then cold: no training rating is theirs.
    """

    train: Dataset
    test: pd.DataFrame
    fold: int = 0
    profile: pd.DataFrame | None = None

    def profile_prefix(self, n: int) -> pd.DataFrame:
        """Each cold user's ``n`` earliest profile ratings (all of them when ``n`` is larger).

        :func:`cold_users` orders the profile by user, then time (then row; the seeded random
        order when the data has no timestamps), so the first ``n`` rows of a user's block are
        their ``n`` earliest ratings.
        """
        profile, position = self._profile_positions(n)
        return profile[position < n].reset_index(drop=True)

    def profile_after(self, n: int) -> pd.DataFrame:
        """Each cold user's profile ratings after their ``n`` earliest: told at a larger size,
        neither told nor tested at this one."""
        profile, position = self._profile_positions(n)
        return profile[position >= n].reset_index(drop=True)

    def _profile_positions(self, n: int) -> tuple[pd.DataFrame, np.ndarray]:
        """The profile and each row's place in its user's block (0 = earliest)."""
        if self.profile is None:
            raise ValueError("only a cold-users split has profiles")
        int_at_least(n, "profile size", 0)
        users = self.profile["user_id"].to_numpy()
        starts = (
            np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
            if len(users)
            else np.empty(0, np.int64)
        )
        position = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
        return self.profile, position

    def coverage_of_test(self) -> dict[str, int]:
        """Test ratings whose user, or movie, no training rating mentions.

        Rating metrics drop such ratings (a model can only guess a constant for them), and the
        counts are reported so the drop is visible.
        """
        train = self.train.ratings
        users = train["user_id"].unique()
        if self.profile is not None:  # cold users are told their profile before any question
            users = np.union1d(users, self.test["user_id"].unique())
        unknown_user = ~self.test["user_id"].isin(users).to_numpy()
        unknown_movie = ~self.test["movie_id"].isin(train["movie_id"].unique()).to_numpy()
        return {
            "test_ratings": len(self.test),
            "unknown_user": int(unknown_user.sum()),
            "unknown_movie": int((unknown_movie & ~unknown_user).sum()),
        }


def kfold_indices(
    n_ratings: int, n_splits: int = 5, seed: int | None = 0, shuffle: bool = True
) -> list[np.ndarray]:
    """Test row indices of each fold, as Surprise's ``KFold(n_splits, random_state=seed)``.

    ``seed=None`` draws from numpy's global RandomState, as Surprise does; only an integer seed
    gives reproducible (and Surprise-identical) folds.
    """
    require(
        is_int(n_splits) and 2 <= n_splits <= n_ratings,
        "n_splits",
        f"an integer from 2 to the number of ratings ({n_ratings})",
        n_splits,
    )
    indices = np.arange(n_ratings)
    if shuffle:
        rng = np.random.mtrand._rand if seed is None else np.random.RandomState(seed)
        rng.shuffle(indices)
    sizes = np.full(n_splits, n_ratings // n_splits)
    sizes[: n_ratings % n_splits] += 1
    stops = np.cumsum(sizes)
    return [indices[stop - size : stop] for stop, size in zip(stops, sizes, strict=True)]


def kfold(
    data: Dataset, n_splits: int = 5, *, seed: int | None = 0, shuffle: bool = True
) -> Iterator[Split]:
    """k-fold over ratings: each rating is tested exactly once (Surprise's folds)."""
    _check_data(data)
    for fold, test_rows in enumerate(kfold_indices(len(data.ratings), n_splits, seed, shuffle)):
        mask = np.zeros(len(data.ratings), bool)
        mask[test_rows] = True
        yield _split(data, mask, fold, test_order=np.sort(test_rows))


def user_holdout(
    data: Dataset,
    fraction: float | None = 0.2,
    *,
    n: int | None = None,
    seed: int = 0,
    min_ratings: int = 2,
    repeats: int = 1,
) -> Iterator[Split]:
    """Per user, hold out a random ``fraction`` of their ratings (or exactly ``n``).

    A user with ``c`` ratings gets ``round(fraction·c)`` test ratings (halves round up),
    at least 1 and at most ``c − 1``; with ``n``, ``min(n, c − 1)``. Users with fewer than
    ``min_ratings`` ratings stay wholly in train. ``repeats`` > 1 draws independent holdouts
    with seeds ``seed, seed+1, …`` so a mean ± std can be reported.
    """
    _check_data(data)
    positive_int(repeats, "repeats")
    for repeat in range(repeats):
        keys = np.random.default_rng(seed + repeat).random(len(data.ratings))
        mask = _per_user_tail(data, keys, fraction, n, min_ratings)
        yield _split(data, mask, repeat)


def stratified(data: Dataset, ratio: float = 0.75, *, seed: int = 42) -> Iterator[Split]:
    """Per user, a random ``ratio`` share of their ratings to train, the rest to test.

    This is Microsoft Recommenders' ``python_stratified_split(data, ratio, seed=seed)``
    (``recommenders/datasets/python_splitters.py``, ``_do_stratification``), so their
    published ml-100k top-N table can be reproduced on the same folds: one uniform key per
    rating from ``np.random.seed(seed); np.random.rand(n_ratings)`` (here
    ``np.random.RandomState(seed).rand``, the same stream), each user's ratings ordered by key,
    and the rating of rank ``j`` (1-based) of a user with ``c`` ratings trains when
    ``j / c ≤ ratio`` — ``floor(ratio·c)`` training ratings, not ``round`` — and is tested
    otherwise. *Given the ratings in the same row order* (movierec keeps ml-100k's ``u.data``
    order) *and the same seed, the folds are identical*; hence the default seed 42, theirs.

    One deliberate difference: rank 1 always trains, so every user keeps a training rating
    and a user with a single rating keeps it there (Microsoft's rule would test it, leaving a
    user nothing to learn from). It changes only users with fewer than ``1 / ratio`` ratings
    — none in ml-100k, where every user has 20 or more. One split is yielded.
    """
    _check_data(data)
    number_in(ratio, "ratio", 0, 1, low_open=True, high_open=True)
    users = data.ratings["user_id"].to_numpy()
    keys = np.random.RandomState(seed).rand(len(users))
    rows = np.arange(len(users))
    order = np.lexsort((rows, keys, users))  # by user, then key, then row
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    rank = rows + 1 - np.repeat(starts, counts)  # 1-based within the user's block
    trains = (rank / np.repeat(counts, counts) <= ratio) | (rank == 1)
    mask = np.zeros(len(users), bool)
    mask[order] = ~trains
    yield _split(data, mask, 0)


def grouplens_fold(data: Dataset, fold: int = 1) -> Iterator[Split]:
    """ml-100k's canonical fold ``u{fold}``: its ``u{fold}.test`` tested, ``u{fold}.base`` trained.

    GroupLens ships ml-100k with ``u1.base``/``u1.test`` … ``u5.base``/``u5.test``, made by the
    dataset's ``mku.sh``: ``u{i}.test`` is lines ``(i−1)·20000+1`` … ``i·20000`` of ``u.data``
    and ``u{i}.base`` every other line, so the five tests are disjoint and cover every rating
    (each split 80% train / 20% test; a user may be in both). Published ml-100k figures
    quoted "on u1" (or averaged over u1–u5) use these folds. movierec keeps ``u.data``'s row
    order, so the fold is rebuilt exactly from row positions: rows
    ``[(fold−1)·20000, fold·20000)`` of ``data.ratings``, the test ordered by user then movie
    as in the ``.test`` file (the training ratings keep ``u.data``'s order).

    Row positions only mean something in that order, so anything else is refused: ``data``
    must hold exactly 100,000 ratings, the first ``(196, 242, 3.0, 881250949)``. One split is
    yielded, its ``fold`` the GroupLens number (1 for u1).
    """
    _check_data(data)
    int_in(fold, "fold", 1, ML100K_RATINGS // GROUPLENS_FOLD_SIZE)
    ratings = data.ratings
    first = tuple(ratings[column].iloc[0].item() for column in _ROW)
    if len(ratings) != ML100K_RATINGS or first != ML100K_FIRST_ROW:
        raise ValueError(
            f"the u1..u5 splits need ml-100k's ratings in u.data's row order: "
            f"{ML100K_RATINGS:,} ratings, the first (user, movie, rating, timestamp) = "
            f"{ML100K_FIRST_ROW}; dataset {data.name!r} has {len(ratings):,}, the first {first}"
        )
    start = (fold - 1) * GROUPLENS_FOLD_SIZE
    rows = np.arange(start, start + GROUPLENS_FOLD_SIZE)
    mask = np.zeros(len(ratings), bool)
    mask[rows] = True
    order = rows[
        np.lexsort((ratings["movie_id"].to_numpy()[rows], ratings["user_id"].to_numpy()[rows]))
    ]
    yield _split(data, mask, fold, test_order=order)


def user_temporal(
    data: Dataset, n: int | None = 1, *, fraction: float | None = None, min_ratings: int = 2
) -> Iterator[Split]:
    """Per user, hold out their last ``n`` ratings by timestamp (or the last ``fraction``).

    Ratings with equal timestamps keep their row order (the later row counts as later).
    A ``fraction``, when given, replaces ``n``. Counts follow :func:`user_holdout`'s rules.
    """
    _check_data(data)
    _check_timestamps(data)
    stamps = data.ratings["timestamp"].to_numpy()
    if fraction is not None:
        n = None
    mask = _per_user_tail(data, stamps, fraction, n, min_ratings)
    yield _split(data, mask, 0)


def temporal(data: Dataset, *, cutoff: int | None = None, quantile: float = 0.8) -> Iterator[Split]:
    """Hold out every rating made after a time: ``cutoff`` seconds, or a timestamp quantile.

    With ``quantile`` q the cutoff is the lower q-quantile of all timestamps, so about
    ``1 − q`` of the ratings (those strictly later) are tested. Users first seen after the
    cutoff are in test only, and are reported as unknown.
    """
    _check_data(data)
    _check_timestamps(data)
    stamps = data.ratings["timestamp"].to_numpy()
    if cutoff is None:
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
        cutoff = int(np.quantile(stamps, quantile, method="lower"))
    mask = stamps > cutoff
    if not mask.any() or mask.all():
        raise ValueError(
            f"time cutoff {cutoff} leaves {'no' if not mask.any() else 'every'} "
            f"rating in test; timestamps run {stamps.min()}..{stamps.max()}"
        )
    yield _split(data, mask, 0)


def cold_users(
    data: Dataset,
    fraction: float = 0.2,
    *,
    n_profile: int = 5,
    seed: int = 0,
    min_ratings: int | None = None,
) -> Iterator[Split]:
    """Withhold a random ``fraction`` of users from training entirely (cold-start users).

    Eligible users have more than ``n_profile`` ratings (and at least ``min_ratings``, by
    default ``n_profile + 1``, so each has a test rating); ``round(fraction·eligible)`` of them
    are drawn (at least 1, and at least one user always stays in training). Each withheld user's
    ``n_profile`` *earliest* ratings by timestamp form the profile (ties: the earlier row), or
    ``n_profile`` random ones when the dataset has no timestamps; the rest are the test ratings.
    ``n_profile=0`` tests users of whom nothing is known but that they arrived. The draw (and the
    random profiles) follow ``seed``; one split is yielded. The profile is ordered by user, then
    time, so :meth:`Split.profile_prefix` gives the smaller profiles of the same users.
    """
    _check_data(data)
    number_in(fraction, "fraction", 0, 1, low_open=True, high_open=True)
    int_at_least(n_profile, "n_profile", 0)
    if min_ratings is None:
        min_ratings = n_profile + 1
    positive_int(min_ratings, "min_ratings")
    ratings = data.ratings
    users = ratings["user_id"].to_numpy()
    ids, counts = np.unique(users, return_counts=True)
    eligible = ids[counts >= max(min_ratings, n_profile + 1)]
    if not len(eligible):
        raise ValueError(
            f"no user of {data.name!r} has more than {n_profile} ratings (and at "
            f"least {min_ratings}); lower n_profile or min_ratings"
        )
    n_cold = min(max(int(np.floor(fraction * len(eligible) + 0.5)), 1), len(ids) - 1)
    if n_cold < 1:
        raise ValueError(f"dataset {data.name!r} has one user; cold users need another to train on")
    rng = np.random.default_rng(seed)
    cold = np.sort(rng.choice(eligible, n_cold, replace=False))
    stamps = ratings["timestamp"].to_numpy()
    keys = stamps if (stamps > 0).any() else rng.random(len(ratings))
    is_cold = np.isin(users, cold)
    rows = np.flatnonzero(is_cold)
    order = rows[np.lexsort((rows, keys[rows], users[rows]))]  # by user, then key, then row
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    in_profile = np.zeros(len(ratings), bool)
    in_profile[order[position < n_profile]] = True
    train = dataclasses.replace(
        data,
        ratings=ratings[~is_cold].reset_index(drop=True),
        report=LoadReport(list(data.report.notes)),
    )
    test = ratings[is_cold & ~in_profile].reset_index(drop=True)
    profile = ratings.iloc[order[position < n_profile]].reset_index(drop=True)
    yield Split(train, test, 0, profile)


def _per_user_tail(
    data: Dataset, keys: np.ndarray, fraction: float | None, n: int | None, min_ratings: int
) -> np.ndarray:
    """Mask of each user's test ratings: those with the largest ``keys`` (ties: later row)."""
    if (fraction is None) == (n is None):
        raise ValueError("give exactly one of fraction and n")
    if fraction is not None:
        number_in(fraction, "fraction", 0, 1, low_open=True, high_open=True)
    if n is not None:
        positive_int(n, "n")
    positive_int(min_ratings, "min_ratings")
    users = data.ratings["user_id"].to_numpy()
    rows = np.arange(len(users))
    order = np.lexsort((rows, keys, users))  # by user, then key, then row
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    if n is not None:
        n_test = np.minimum(n, counts - 1)
    else:
        n_test = np.clip(np.floor(fraction * counts + 0.5).astype(np.int64), 1, counts - 1)
    n_test[counts < max(min_ratings, 2)] = 0
    # position from the end of the user's block: 0 for the largest key
    from_end = np.repeat(starts + counts, counts) - 1 - np.arange(len(users))
    mask = np.zeros(len(users), bool)
    mask[order] = from_end < np.repeat(n_test, counts)
    return mask


def _split(
    data: Dataset, test_mask: np.ndarray, fold: int, test_order: np.ndarray | None = None
) -> Split:
    ratings = data.ratings
    train_ratings = ratings[~test_mask].reset_index(drop=True)
    test = ratings.iloc[test_order] if test_order is not None else ratings[test_mask]
    train = dataclasses.replace(
        data, ratings=train_ratings, report=LoadReport(list(data.report.notes))
    )
    return Split(train, test.reset_index(drop=True), fold)


def _check_data(data: Dataset) -> None:
    if not isinstance(data, Dataset):
        raise ValueError(f"a split needs a Dataset, got {type(data).__name__}")
    if len(data.ratings) < 2:
        raise ValueError(
            f"dataset {data.name!r} has {len(data.ratings)} rating(s); a split needs at least 2"
        )


def _check_timestamps(data: Dataset) -> None:
    if not (data.ratings["timestamp"].to_numpy() > 0).any():
        raise ValueError(
            f"dataset {data.name!r} has no timestamps; use a random split (kfold or user-holdout)"
        )
