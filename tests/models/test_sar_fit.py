"""SAR: similarity and affinity by hand, fold-ins, and top-10 quality on ml-100k in Microsoft
Recommenders' protocol (the shared contract is in test_sar.py)."""

import numpy as np
import pandas as pd
import pytest

from movierec.data.sources import load_path
from movierec.evaluate import evaluate
from movierec.models.sar import SAR
from tests.conftest import shared_dataset
from tests.models.toy import drama_dataset

DAY = 86_400


def three_users(stamps=(30 * DAY, 60 * DAY, 0, 0, 0, 0, 0)):
    """User 1 rated movies 1 (a 4, 30 days before the latest rating) and 2 (a 2, the latest);
    user 2 rated 1, 2, 3; user 3 rated 2, 3. Binary co-occurrence: C11 = 2, C22 = 3, C33 = 2,
    C12 = 2, C13 = 1, C23 = 2."""
    ratings = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 2, 3, 3],
            "movie_id": [1, 2, 1, 2, 3, 2, 3],
            "rating": [4.0, 2.0, 5.0, 3.0, 1.0, 4.0, 2.0],
            "timestamp": np.asarray(stamps, dtype=np.int64),
        }
    )
    return drama_dataset("three", ratings, 3)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [[1, 2 / 3, 1 / 3], [2 / 3, 1, 2 / 3], [1 / 3, 2 / 3, 1]]),  # jaccard
        ({"threshold": 2}, [[1, 2 / 3, 0], [2 / 3, 1, 2 / 3], [0, 2 / 3, 1]]),
        (
            {"similarity": "lift"},
            [[1 / 2, 1 / 3, 1 / 4], [1 / 3, 1 / 3, 1 / 3], [1 / 4, 1 / 3, 1 / 2]],
        ),
        ({"similarity": "cooccurrence"}, [[2, 2, 1], [2, 3, 2], [1, 2, 2]]),
    ],
)
def test_similarity_by_hand(params, expected):
    model = SAR(**params).fit(three_users())
    for movie in (1, 2, 3):
        np.testing.assert_allclose(model.similarities(movie), expected[movie - 1], rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "stamps", "affinity"),
    [
        ({}, None, [4 * 0.5, 2]),  # 30 days old at a 30-day half-life: half
        ({"time_decay_days": 60.0}, None, [4 * 2**-0.5, 2]),
        ({"time_decay_days": None}, None, [4, 2]),
        ({}, (0,) * 7, [4, 2]),  # no timestamps: no decay
        ({"weighting": "binary"}, None, [0.5, 1]),
        ({"weighting": "liked"}, None, [0.5, 0]),  # the 2 is not liked
    ],
)
def test_scores_are_decayed_affinity_times_similarity(params, stamps, affinity):
    data = three_users() if stamps is None else three_users(stamps)
    model = SAR(**params).fit(data)
    a1, a2 = affinity
    if params.get("weighting") == "liked":  # movie 2 is liked by user 3 alone, 1 by 1 and 2
        similarity = np.array([[1, 0, 0], [0, 1, 0]])
    else:
        similarity = np.array([[1, 2 / 3, 1 / 3], [2 / 3, 1, 2 / 3]])
    np.testing.assert_allclose(model.scores(1), a1 * similarity[0] + a2 * similarity[1], rtol=1e-6)


def test_a_folded_in_history_counts_as_rated_now():
    model = SAR().fit(three_users())
    np.testing.assert_allclose(model.scores(1)[2], 2 / 3 + 4 / 3, rtol=1e-6)  # decayed
    model.fold_in_user(1, [2, 1], [2.0, 4.0])
    np.testing.assert_allclose(model.scores(1), [4 + 4 / 3, 8 / 3 + 2, 4 / 3 + 4 / 3], rtol=1e-6)
    model.fold_in_user(9, [3], [5.0])  # a new user: their row times S
    np.testing.assert_allclose(model.scores(9), [5 / 3, 10 / 3, 5], rtol=1e-6)


def test_a_new_movie_stays_outside_the_similarity_until_a_refit(tmp_path):
    model = SAR().fit(three_users())
    s = model.similarity
    model.fold_in_movie(7, [1, 3], [5.0, 5.0])
    assert model.similarity is s and model.history(1)[0].tolist() == [0, 1, 3]
    assert model.scores(1)[3] == 0.0 and not model.similarities(7).any()
    model.save(tmp_path / "sar")
    loaded = SAR.load(tmp_path / "sar")
    for user in (1, 2, 3):
        np.testing.assert_allclose(loaded.scores(user), model.scores(user), atol=1e-6)


@pytest.mark.slow
def test_ml100k_ndcg_is_near_the_published_sar():
    """Microsoft Recommenders' protocol (75/25 stratified, every held-out rating relevant);
    their SAR: NDCG@10 0.3825. Measured here, seed 42: 0.3809 (0.3844 without the decay)."""
    data = load_path(shared_dataset("ml-100k-recbole"))
    result = evaluate(data, ["sar"], split="stratified", ratio=0.75, seed=42, relevance=None, k=10)
    (fold,) = result.models[0].folds
    assert 0.36 < fold["ndcg"] < 0.41, fold["ndcg"]
