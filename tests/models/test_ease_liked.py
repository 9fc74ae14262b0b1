"""EASE reading likes only passes the shared contract: a dislike is no feedback, so a folded-in
user keeps their taste."""

from movierec.models.ease import EASE
from tests.models.conformance import RecommenderContract


class TestEASELiked(RecommenderContract):
    model_class = EASE
    params = {"weighting": "liked"}
