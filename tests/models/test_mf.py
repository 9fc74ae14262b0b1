"""SGD matrix factorisation passes the shared contract (its math and accuracy: test_mf_fit.py)."""

from movierec.models.mf import MatrixFactorization
from tests.models.conformance import RecommenderContract


class TestMatrixFactorization(RecommenderContract):
    model_class = MatrixFactorization
