"""Metrics: a tiny case computed by hand, and trec_eval as an independent implementation."""

import math

import numpy as np
import pandas as pd
import pytest

from movierec.evaluate import metrics


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
    test = pairs([(1, 20, 5), (1, 40, 4), (1, 30, 2),            # user 1: relevant {20, 40}
                  (2, 40, 4), (2, 50, 5), (2, 60, 4.5), (2, 70, 4),  # user 2: four relevant
                  (3, 10, 1)])                                     # user 3: nothing relevant
    relevant = metrics.relevant_items(test, 4.0)
    recommended, lengths = metrics.stack_rankings(
        [np.array([10, 20, 30]), np.array([40, 50]), np.array([10, 20, 30])], k=3)
    scores = metrics.ranking_scores(np.array([1, 2, 3]), recommended, lengths, relevant, k=3)
    assert scores.skipped_users == 1 and scores.users.tolist() == [1, 2]
    d2, d3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3
    expected = {
        "precision": [1 / 3, 2 / 3],        # the short list of user 2 still divides by k
        "recall": [1 / 2, 2 / 4],
        "ndcg": [d2 / (1 + d2), (1 + d2) / (1 + d2 + d3)],  # ideal over min(|R|, k) places
        "map": [(1 / 2) / 2, (1 / 1 + 2 / 2) / 3],          # normalised by min(|R|, k)
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
    scores = metrics.ranking_scores(np.array([1]), recommended, lengths,
                                    metrics.relevant_items(test, None), k=2)
    assert scores.means()["ndcg"] == pytest.approx(1.0)
    strict = metrics.ranking_scores(np.array([1]), recommended, lengths,
                                    metrics.relevant_items(test, 4.0), k=2)
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
    run = {str(u): {f"m{m}": float(k - j) for j, m in enumerate(lists[u])}  # distinct scores
           for u in ours.users}
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
        assert ours.per_user["map"][index] == pytest.approx(t["map_cut_10"] * n / min(n, k),
                                                            abs=1e-9)
    assert ours.skipped_users == n_users - len(qrels)
    assert (n_rel > k).any() and (lengths < k).any()  # both edge cases were exercised


def test_ranking_scores_checks_its_input():
    recommended, lengths = metrics.stack_rankings([np.array([1])], k=1)
    with pytest.raises(ValueError, match="k must be"):
        metrics.ranking_scores(np.array([1]), recommended, lengths, pairs([]), k=0)
    with pytest.raises(ValueError, match="one row per user"):
        metrics.ranking_scores(np.array([1, 2]), recommended, lengths, pairs([]), k=1)
