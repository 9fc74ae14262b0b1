"""Metrics: a tiny case computed by hand, and trec_eval as an independent implementation."""

import math

import numpy as np
import pandas as pd
import pytest

from movierec.evaluate import beyond, metrics
from movierec.models.calibration import GenreMatrix, personalization


def pairs(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])


def test_rating_errors():
    truth, predicted = np.array([4.0, 2.0, 5.0]), np.array([3.0, 2.5, 5.0])
    assert metrics.rmse(truth, predicted) == pytest.approx(math.sqrt((1 + 0.25) / 3))
    assert metrics.mae(truth, predicted) == pytest.approx(1.5 / 3)
    assert math.isnan(metrics.rmse(np.array([]), np.array([])))
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.mae(truth, predicted[:2])


def test_ranking_metrics_by_hand():
    test = pairs(
        [
            (1, 20, 5),
            (1, 40, 4),
            (1, 30, 2),  # user 1: relevant {20, 40}
            (2, 40, 4),
            (2, 50, 5),
            (2, 60, 4.5),
            (2, 70, 4),  # user 2: four relevant
            (3, 10, 1),
        ]
    )  # user 3: nothing relevant
    relevant = metrics.relevant_items(test, 4.0)
    recommended, lengths = metrics.stack_rankings(
        [np.array([10, 20, 30]), np.array([40, 50]), np.array([10, 20, 30])], k=3
    )
    scores = metrics.ranking_scores(np.array([1, 2, 3]), recommended, lengths, relevant, k=3)
    assert scores.skipped_users == 1 and scores.users.tolist() == [1, 2]
    d2, d3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3
    expected = {
        "precision": [1 / 3, 2 / 3],  # the short list of user 2 still divides by k
        "recall": [1 / 2, 2 / 4],
        "ndcg": [d2 / (1 + d2), (1 + d2) / (1 + d2 + d3)],  # ideal over min(|R|, k) places
        "map": [(1 / 2) / 2, (1 / 1 + 2 / 2) / 3],  # normalised by min(|R|, k)
        "hit_rate": [1.0, 1.0],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(scores.per_user[name], values, rtol=0, atol=1e-12)
    assert scores.means()["map"] == pytest.approx((0.25 + 2 / 3) / 2)

    train = pairs([(9, 10, 3), (9, 20, 3), (8, 20, 4), (7, 20, 1), (7, 50, 2)])
    assert metrics.coverage(recommended, lengths, catalog_size=10) == 5 / 10
    # slots: 10, 20, 30 | 40, 50 | 10, 20, 30 → training counts 1, 3, 0 | 0, 1 | 1, 3, 0
    assert metrics.mean_popularity(recommended, lengths, train) == pytest.approx(9 / 8)


def test_relevance_none_makes_every_test_item_relevant():
    test = pairs([(1, 20, 1), (1, 30, 2)])
    recommended, lengths = metrics.stack_rankings([np.array([30, 20])], k=2)
    scores = metrics.ranking_scores(
        np.array([1]), recommended, lengths, metrics.relevant_items(test, None), k=2
    )
    assert scores.means()["ndcg"] == pytest.approx(1.0)
    strict = metrics.ranking_scores(
        np.array([1]), recommended, lengths, metrics.relevant_items(test, 4.0), k=2
    )
    assert strict.skipped_users == 1 and math.isnan(strict.means()["ndcg"])


def test_ranking_metrics_match_trec_eval_on_random_data():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = np.random.default_rng(42)
    k, n_users, n_movies = 10, 300, 60
    lists, rows = [], []
    for user in range(n_users):
        length = k if rng.random() < 0.8 else int(rng.integers(0, k))
        lists.append(rng.choice(n_movies, length, replace=False))
        n_rel = int(rng.integers(0, 25))  # some users with none, some with more than k
        for movie in rng.choice(n_movies, n_rel, replace=False):
            rows.append((user, int(movie), 5.0))
    relevant = pairs(rows)
    recommended, lengths = metrics.stack_rankings(lists, k)
    ours = metrics.ranking_scores(np.arange(n_users), recommended, lengths, relevant, k)

    qrels = {str(u): {} for u in ours.users}
    for user, movie, _ in rows:
        qrels[str(user)][f"m{movie}"] = 1
    run = {
        str(u): {f"m{m}": float(k - j) for j, m in enumerate(lists[u])}  # distinct scores
        for u in ours.users
    }
    measures = {"P_10", "recall_10", "ndcg_cut_10", "map_cut_10", "success_10"}
    theirs = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    n_rel = relevant.groupby("user_id").size()
    for index, user in enumerate(ours.users):
        t = theirs[str(user)]
        n = n_rel[user]
        assert ours.per_user["precision"][index] == pytest.approx(t["P_10"], abs=1e-9)
        assert ours.per_user["recall"][index] == pytest.approx(t["recall_10"], abs=1e-9)
        assert ours.per_user["ndcg"][index] == pytest.approx(t["ndcg_cut_10"], abs=1e-9)
        assert ours.per_user["hit_rate"][index] == pytest.approx(t["success_10"], abs=1e-9)
        # trec_eval divides AP by |R|; ours by min(|R|, k)
        assert ours.per_user["map"][index] == pytest.approx(
            t["map_cut_10"] * n / min(n, k), abs=1e-9
        )
    assert ours.skipped_users == n_users - len(qrels)
    assert (n_rel > k).any() and (lengths < k).any()  # both edge cases were exercised


def test_ranking_scores_checks_its_input():
    recommended, lengths = metrics.stack_rankings([np.array([1])], k=1)
    with pytest.raises(ValueError, match="k must be"):
        metrics.ranking_scores(np.array([1]), recommended, lengths, pairs([]), k=0)
    with pytest.raises(ValueError, match="one row per user"):
        metrics.ranking_scores(np.array([1, 2]), recommended, lengths, pairs([]), k=1)


# --- beyond accuracy (movierec.evaluate.beyond), each on a case worked out by hand ----------


def world():
    """Four training users; movie 1 rated by all, 2 and 3 by three, 4..12 by one each."""
    rows = [(u, 1, 4) for u in (101, 102, 103, 104)]
    rows += [(u, 2, 4) for u in (101, 102, 103)] + [(u, 3, 4) for u in (102, 103, 104)]
    rows += [(101, m, 3) for m in range(4, 13)]
    return beyond.TrainingPopularity.from_ratings(pairs(rows))


def genre_world():
    """Names sort to (Action, Comedy, Drama); movie 4 has no genre."""
    return GenreMatrix.build(
        np.arange(1, 7), [["Drama"], ["Comedy"], ["Drama", "Comedy"], [], ["Action"], ["Drama"]]
    )


def test_short_head_is_the_most_rated_tenth_ties_by_id():
    popularity = world()
    assert popularity.n_users == 4 and popularity.count_of(np.array([1, 2, 99])).tolist() == [
        4,
        3,
        0,
    ]
    # 12 rated movies: ⌈1.2⌉ = 2 head movies; 2 and 3 tie at 3 ratings, the lower id wins
    assert beyond.short_head(popularity).tolist() == [1, 2]
    assert beyond.short_head(popularity, 0.25).tolist() == [1, 2, 3]  # ⌈3⌉, not 4
    assert beyond.short_head(popularity, 0.0).tolist() == []
    thirty = beyond.TrainingPopularity(np.arange(30), np.arange(30, 0, -1), 40)
    assert beyond.short_head(thirty).tolist() == [0, 1, 2]  # 0.1·30 is 3.0000000000000004
    with pytest.raises(ValueError, match="head share"):
        beyond.short_head(popularity, 1.0)


def test_longtail_ranking_drops_the_head_from_hits_and_relevant_sets():
    relevant = pairs(
        [
            (1, 1, 5),
            (1, 5, 4),
            (1, 8, 5),  # user 1: head movie 1 is not counted
            (2, 2, 5),
        ]
    )  # user 2: only a head movie → skipped
    recommended, lengths = metrics.stack_rankings([np.array([1, 5, 6]), np.array([2, 3, 7])], 3)
    scores = beyond.longtail_scores(
        np.array([1, 2]), recommended, lengths, relevant, 3, head=np.array([1, 2])
    )
    assert scores.users.tolist() == [1] and scores.skipped_users == 1
    d2 = 1 / math.log2(3)
    # movie 1 takes slot 1 without being a hit; 5 hits at rank 2; R \ H = {5, 8}
    assert scores.per_user["longtail_ndcg"][0] == pytest.approx(d2 / (1 + d2))
    assert scores.per_user["longtail_recall"][0] == pytest.approx(1 / 2)
    plain = metrics.ranking_scores(np.array([1, 2]), recommended, lengths, relevant, 3)
    assert plain.per_user["ndcg"][0] > scores.per_user["longtail_ndcg"][0]


def test_novelty_is_the_mean_self_information_of_the_slots():
    recommended, lengths = metrics.stack_rankings([np.array([1, 5, 99]), np.array([2, 3])], 3)
    # shares 4/4, 1/4, 99 unrated counts as 1/4 | 3/4, 3/4 → bits 0, 2, 2 | log2(4/3) twice
    expected = (0 + 2 + 2 + 2 * math.log2(4 / 3)) / 5
    assert beyond.novelty(recommended, lengths, world()) == pytest.approx(expected)


def test_popularity_lift_compares_the_lists_gap_with_the_profiles():
    recommended, lengths = metrics.stack_rankings(
        [np.array([1, 5, 99]), np.array([2, 3]), np.array([1]), np.array([1])], 3
    )
    profile_rows = np.array([0, 0, 1, 1, 3])
    profile_movies = np.array([4, 5, 1, 2, 99])  # row 2: no profile; row 3: only unrated → out
    # row 0: list (1 + 1/4 + 0)/3 = 5/12 over profile (1/4 + 1/4)/2 → (5/12 − 1/4)/(1/4) = 2/3
    # row 1: list (3/4 + 3/4)/2 over profile (1 + 3/4)/2 = 7/8 → (3/4 − 7/8)/(7/8) = −1/7
    lift = beyond.popularity_lift(recommended, lengths, profile_rows, profile_movies, world())
    assert lift == pytest.approx((2 / 3 - 1 / 7) / 2)


def test_personalization_is_one_minus_the_mean_jaccard_of_pairs():
    recommended, lengths = metrics.stack_rankings(
        [np.array([1, 2, 3]), np.array([1, 2, 4]), np.array([5, 6]), np.array([], int)], 3
    )
    # A·B share 2 of 4 movies, A·C and B·C none; the empty list is left out
    assert personalization(recommended, lengths) == pytest.approx(1 - (1 / 2) / 3)
    sampled = personalization(recommended, lengths, all_pairs_up_to=2, seed=3)
    assert sampled == pytest.approx(5 / 6, abs=0.01)  # no user is paired with themselves
    same, lengths = metrics.stack_rankings([np.array([1, 2])] * 3, 2)
    assert personalization(same, lengths) == 0.0
    assert math.isnan(personalization(same[:1], lengths[:1]))


def test_miscalibration_is_the_mean_kl_from_the_profile_to_the_list():
    genres = genre_world()
    taste = np.array([[0, 0.5, 0.5], [0, 0, 1], [0, 0, 0]])
    recommended, lengths = metrics.stack_rankings(
        [np.array([1, 2, 4]), np.array([5, 6]), np.array([1])], 3
    )
    # row 0: q = (Drama 1 + Comedy 1)/2, movie 4 without genres adds nothing → KL 0
    # row 1: q = Action ½, Drama ½; q̃(Drama) = 0.99·½ + 0.01·1 = 0.505 → KL = ln(1/0.505)
    # row 2: no taste known → left out
    value = beyond.miscalibration(recommended, lengths, taste, genres)
    assert value == pytest.approx(math.log(1 / 0.505) / 2)


def test_intra_list_diversity_is_the_mean_genre_distance_of_pairs():
    genres = genre_world()
    recommended, lengths = metrics.stack_rankings(
        [np.array([1, 2, 3, 4]), np.array([1, 6]), np.array([4, 5])], 4
    )
    # row 0: (1,2) distance 1, (1,3) and (2,3) 1 − ½; pairs with genre-less 4 skipped → 2/3
    # row 1: Drama and Drama → 0; row 2: no pair of movies with genres → left out
    assert beyond.intra_list_diversity(recommended, lengths, genres) == pytest.approx(1 / 3)
