"""The chart passes the shared contract; it is not ``personal``: one list for everyone."""

from movierec.models.popular import ChartRecommender
from tests.models.conformance import RecommenderContract


class TestChart(RecommenderContract):
    model_class = ChartRecommender
