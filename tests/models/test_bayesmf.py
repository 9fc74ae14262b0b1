"""Bayesian MF passes the shared contract (its sampler and accuracy: test_bayesmf_fit.py)."""

from movierec.models.bayesmf import BayesianMF
from tests.models.conformance import RecommenderContract


class TestBayesianMF(RecommenderContract):
    model_class = BayesianMF
