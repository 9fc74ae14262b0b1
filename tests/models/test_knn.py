"""Item-kNN passes the shared contract (Surprise's definitions and accuracy: test_knn_fit.py)."""

from movierec.models.knn import ItemKNN
from tests.models.conformance import RecommenderContract


class TestItemKNNContract(RecommenderContract):
    model_class = ItemKNN
