"""The two-tower model passes the shared contract (what only it can do: test_twotower_fit.py)."""

from movierec.models.twotower import TwoTower
from tests.models.conformance import RecommenderContract


class TestTwoTower(RecommenderContract):
    model_class = TwoTower
    requires = "torch"  # the `neural` extra
