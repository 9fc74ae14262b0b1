"""The hybrid: the shared contract, plus its weight fitting."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.models.hybrid import Hybrid, _coordinate_ascent
from tests.conftest import shared_dataset
from tests.models.conformance import RecommenderContract

pytest.importorskip("torch", reason="the default hybrid includes the two-tower model")

# small parts so the contract runs in seconds; the checkerboard has 12 users
PARTS = {"parts": "ease,content,chart", "cold_users": 0.2, "cold_profile": 3,
         "validation": 0.3}


class TestHybrid(RecommenderContract):
    model_class = Hybrid
    bad_params = [{"parts": ""}, {"parts": "ease,ease"}, {"parts": "hybrid"},
                  {"validation": 1.5}, {"cold_users": 0.9}, {"k": 0}]

    def make_model(self, **overrides):
        return Hybrid(**{**PARTS, **overrides})

    def test_fold_in_of_a_withheld_user_ranks_as_training_with_them(self, fitted):
        pytest.skip("EASE's rating weighting counts a 1★ as feedback (see test_ease.py)")

    def test_fold_in_of_a_new_movie_makes_it_recommendable(self):
        pytest.skip("EASE and content cannot place a movie known only from ratings before "
                    "a refit (see test_ease.py, test_content.py)")


def test_parts_must_fold_in_users():
    from tests.models.conformance import checkerboard

    with pytest.raises(ValueError, match="knn"):
        Hybrid(parts="knn,chart").fit(checkerboard())


def test_coordinate_ascent_finds_the_blend_that_ranks_relevant_movies_first():
    rng = np.random.default_rng(0)
    sets = []
    for _ in range(50):
        relevant = rng.random(40) < 0.2
        signal = relevant.astype(float)
        # part 0 sees half the signal, part 1 the other half; noise part 2
        half = rng.random(40) < 0.5
        z = np.stack([signal * half + rng.normal(0, 0.3, 40),
                      signal * ~half + rng.normal(0, 0.3, 40),
                      rng.normal(0, 1, 40)], axis=1)
        sets.append((z, relevant, int(relevant.sum())))
    weights, ndcg = _coordinate_ascent(sets, 3, 10)
    assert ndcg[-1] >= ndcg[:3].max()  # never worse than its best part on validation
    assert ndcg[-1] > ndcg[:2].max() + 0.05  # the blend of the two halves wins clearly
    assert weights[2] < min(weights[0], weights[1])
    assert weights.sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_on_ml_100k_the_hybrid_beats_each_part():
    from movierec.data.sources import load_path
    from movierec.evaluate import evaluate

    data = load_path(shared_dataset("ml-100k-recbole"))
    # content and twotower-rank are far behind (bench/neural.py); the close ones are checked
    result = evaluate(data, ["hybrid", "ease", "chart"], split="user-holdout")
    ndcg = {m.name: m.summary()["ndcg"]["mean"] for m in result.models}
    assert ndcg["hybrid"] > max(v for name, v in ndcg.items() if name != "hybrid"), ndcg
