"""The content model on TF-IDF of overviews passes the shared contract."""

from movierec.models.content import ContentRecommender
from tests.models.conformance import RecommenderContract


class TestTfidf(RecommenderContract):
    model_class = ContentRecommender
    params = {"features": "tfidf"}
