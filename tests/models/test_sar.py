"""SAR passes the shared contract (settings: tests/models/params.py; the rest: test_sar_fit.py)."""

from movierec.models.sar import SAR
from tests.models.conformance import RecommenderContract


class TestSAR(RecommenderContract):
    model_class = SAR
