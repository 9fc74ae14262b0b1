"""SVD++ passes the shared contract (its math, fold-in and accuracy: test_svdpp_fit.py)."""

from movierec.models.svdpp import SVDpp
from tests.models.conformance import RecommenderContract


class TestSVDpp(RecommenderContract):
    model_class = SVDpp
