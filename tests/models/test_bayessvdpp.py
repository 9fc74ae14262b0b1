"""Bayesian SVD++ passes the shared contract (its sampler and accuracy: test_bayessvdpp_fit.py)."""

from movierec.models.bayessvdpp import BayesianSVDpp
from tests.models.conformance import RecommenderContract


class TestBayesianSVDpp(RecommenderContract):
    model_class = BayesianSVDpp
