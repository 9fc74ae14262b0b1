"""The content model on its metadata soup passes the shared contract (test_content_fit.py: the
fast path, featurisation and real catalogs)."""

from movierec.models.content import ContentRecommender
from tests.models.conformance import RecommenderContract


class TestSoup(RecommenderContract):
    model_class = ContentRecommender
    params = {"features": "soup"}
