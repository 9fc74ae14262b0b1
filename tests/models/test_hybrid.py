"""The hybrid passes the shared contract (its own weight fitting: test_hybrid_fit.py)."""

from movierec.models.hybrid import Hybrid
from tests.models.conformance import RecommenderContract

# small parts so the contract runs in seconds; the checkerboard has 12 users
PARTS = {"parts": "ease,content,chart", "cold_users": 0.2, "cold_profile": 3, "validation": 0.3}
BAD = ["", "ease,ease", "hybrid"]


class TestHybrid(RecommenderContract):
    model_class = Hybrid
    bad_params = [{"parts": p} for p in BAD] + [{"validation": 1.5}, {"cold_users": 0.9}, {"k": 0}]

    def make_model(self, **overrides):
        return Hybrid(**{**PARTS, **overrides})
