"""The hybrid passes the shared contract (its own weight fitting: test_hybrid_fit.py)."""

from movierec.models.hybrid import Hybrid
from tests.models.conformance import RecommenderContract


class TestHybrid(RecommenderContract):
    model_class = Hybrid
