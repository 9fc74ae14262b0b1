"""EASE passes the shared contract, reading every rating as feedback and reading likes only."""

from movierec.models.ease import EASE
from tests.models.conformance import RecommenderContract


class TestEASE(RecommenderContract):
    model_class = EASE
    bad_params = [{"l2": 0}, {"l2": float("inf")}, {"weighting": "counts"}, {"max_items": 0}]
    bad_params += [{"like_threshold": float("nan")}]


class TestEASELiked(TestEASE):  # a dislike is no feedback: a folded-in user keeps their taste
    def make_model(self, **overrides):
        return EASE(**{"weighting": "liked", **overrides})
