"""The rating blend passes the shared contract (fitting and accuracy: test_ratingblend_fit.py)."""

from movierec.models.ratingblend import RatingBlend
from tests.models.conformance import RecommenderContract


class TestRatingBlend(RecommenderContract):
    model_class = RatingBlend
