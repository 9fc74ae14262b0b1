"""Implicit ALS passes the shared contract (the solver's math and quality: test_ials_fit.py)."""

from movierec.models.ials import ImplicitALS
from tests.models.conformance import RecommenderContract


class TestImplicitALSContract(RecommenderContract):
    model_class = ImplicitALS
