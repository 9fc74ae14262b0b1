"""Low-rank EASE passes the shared contract (its math and accuracy: test_lowrankease_fit.py)."""

from movierec.models.lowrankease import LowRankEASE
from tests.models.conformance import RecommenderContract


class TestLowRankEASE(RecommenderContract):
    model_class = LowRankEASE
