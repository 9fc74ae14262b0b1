"""Matrix factorisation bounded by a sigmoid passes the shared contract (test_mf_fit.py: math)."""

from movierec.models.mf import BoundedMatrixFactorization
from tests.models.conformance import RecommenderContract


class TestBoundedMatrixFactorization(RecommenderContract):
    model_class = BoundedMatrixFactorization
