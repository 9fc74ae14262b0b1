"""The multinomial VAE passes the shared contract (training and accuracy: test_multvae_fit.py)."""

from movierec.models.multvae import MultVAE
from tests.models.conformance import RecommenderContract


class TestMultVAE(RecommenderContract):
    model_class = MultVAE
    requires = "torch"  # the `neural` extra
