"""EASE reading every rating as feedback passes the shared contract (the rest: test_ease_fit.py)."""

from movierec.models.ease import EASE
from tests.models.conformance import RecommenderContract


class TestEASE(RecommenderContract):
    model_class = EASE
