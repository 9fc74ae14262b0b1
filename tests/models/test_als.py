"""Explicit ALS passes the shared contract (its math and accuracy: test_als_fit.py)."""

from movierec.models.als import ALS
from tests.models.conformance import RecommenderContract


class TestALS(RecommenderContract):
    model_class = ALS
