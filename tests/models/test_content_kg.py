"""The content model on knowledge-graph tokens passes the shared contract."""

from movierec.models.content import ContentRecommender
from tests.models.conformance import RecommenderContract


class TestKnowledgeGraph(RecommenderContract):
    model_class = ContentRecommender
    params = {"features": "kg"}
    data_params = {"kg_tokens": True}
