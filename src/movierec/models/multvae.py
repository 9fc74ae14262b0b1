"""Multinomial variational autoencoder for top-N (Liang, Krishnan, Hoffman & Jebara, "Variational
Autoencoders for Collaborative Filtering", WWW 2018).

A user's feedback row is encoded (L2-normalised, dropout, ``hidden`` tanh units) into a Gaussian
in a ``latent``-dimensional space and decoded back (``hidden`` tanh units, one logit per movie);
training maximises the multinomial log-likelihood of the row under the softmax of the logits
minus β times the KL divergence to a standard normal, β annealed from 0 to ``beta``
(0.2, the paper's best on MovieLens-20M). The multinomial puts the movies of a row in
competition for one probability budget, which suits ranking: the paper's point, and why it
beats Gaussian or logistic likelihoods there.

Training runs in PyTorch on the CPU, or a GPU named by ``device`` (:mod:`movierec.models._vaetrain`,
the ``neural`` extra);
the weights are then plain arrays and scoring, fold-in, saving and loading need numpy only. A
user's scores are the logits decoded from the mean of their encoding: deterministic, and a
function of their history alone, so a fold-in is exact and immediate (a new user's history is
encoded at once). A movie added after training has no logit: it scores below every trained
movie, and is similar to nothing, until a refit. Similar movies are the cosine of the decoder's
output weights (each movie's vector in the last hidden layer).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Self

import numpy as np

from movierec.data.dataset import Dataset
from movierec.models.base import Config
from movierec.models.factors import unit_rows
from movierec.models.feedback import (
    check_weighting,
    feedback_matrix,
    feedback_values,
    low_ratings_are_interest,
)
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.models.ranking import padded
from movierec.models.twotower import DEVICE
from movierec.validate import int_at_least, number_at_least, number_in, positive_int, require

logger = logging.getLogger(__name__)

# the saved arrays: each layer's weight and bias (PyTorch's names, "." written "_")
_LAYER_ARRAYS = tuple(
    f"{layer}_{part}"
    for layer in ("encode", "latent", "decode", "out")
    for part in ("weight", "bias")
)


@dataclasses.dataclass(frozen=True)
class MultVAEConfig(Config):
    """Hyper-parameters of :class:`MultVAE` (the paper's architecture: 600 hidden, 200 latent).

    Attributes:
        hidden, latent: widths of the hidden layers and of the latent space.
        dropout: share of the input row dropped while training.
        beta: the largest weight of the KL term (annealed linearly up to it).
        epochs, batch_size, learning_rate, weight_decay: Adam over minibatches of users. 25
            epochs: on a validation split carved from a training part of Microsoft's ml-100k
            protocol (NDCG@10 0.267 at 25, 0.265 at 35, 0.259 at 15, 0.213 at 200: it
            overfits 943 users fast); the paper's 200 suit its millions of ratings.
        weighting, like_threshold: how ratings become feedback, as EASE's.
        threads: PyTorch's intra-op threads while training (0: PyTorch's default).
        device: where PyTorch trains, ``cpu`` or ``cuda[:N]`` (a GPU where there is one; the
            weights come back to numpy either way, so serving never needs it).
    """

    hidden: int = 600
    latent: int = 200
    dropout: float = 0.5
    beta: float = 0.2
    epochs: int = 25
    batch_size: int = 100
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    weighting: str = "binary"
    like_threshold: float = 4.0
    threads: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        super().validate()
        positive_int(self.hidden, "hidden")
        positive_int(self.latent, "latent")
        number_in(self.dropout, "dropout", 0, 1, high_open=True)
        number_at_least(self.beta, "beta")
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        number_at_least(self.learning_rate, "learning_rate", strict=True)
        number_at_least(self.weight_decay, "weight_decay")
        check_weighting(self)
        int_at_least(self.threads, "threads", 0)
        require(
            isinstance(self.device, str) and DEVICE.fullmatch(self.device) is not None,
            "device",
            "cpu, cuda or cuda:N",
            self.device,
        )


class MultVAE(OnlineRecommender):
    """Mult-VAE: a user's row encoded, decoded into a softmax over every movie."""

    kind = "multvae"
    config_class = MultVAEConfig
    config: MultVAEConfig
    keeps_ratings = True  # a user's scores are decoded from their history row
    fold_in_matches_training = True
    weights: dict[str, np.ndarray]  # the trained layers, float32, PyTorch's names

    def __init__(self, config: MultVAEConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.low_ratings_count_as_interest = low_ratings_are_interest(self.config.weighting)

    def fit(self, data: Dataset) -> Self:
        try:
            from movierec.models._vaetrain import train_vae
        except ImportError as exc:  # pragma: no cover - torch is in the `neural` extra
            raise ImportError(
                "the multinomial VAE needs PyTorch: pip install 'movierec[neural]' (torch==2.13.0)"
            ) from exc
        matrix = self._index_dataset(data)
        cfg = self.config
        x = feedback_matrix(matrix, cfg.weighting, cfg.like_threshold)
        self._install(train_vae(x, cfg))
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        return self

    def _install(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = {
            name: np.asarray(value, dtype=np.float32) for name, value in weights.items()
        }
        self._movie_unit = unit_rows(self.weights["out.weight"])  # movies × hidden

    def _user_scores(self, user: int) -> np.ndarray:
        w = self.weights
        movies, ratings = self._seen_lists.rated(user)
        values = feedback_values(ratings, self.config.weighting, self.config.like_threshold)
        trained = len(w["out.bias"])
        inside = movies < trained
        movies, values = movies[inside], values[inside]
        norm = float(np.linalg.norm(values))
        h = w["encode.bias"].copy()
        if norm > 0:
            h += (values / norm) @ w["encode.weight"].T[movies]
        mu = (np.tanh(h) @ w["latent.weight"].T + w["latent.bias"])[: self.config.latent]
        logits = np.tanh(mu @ w["decode.weight"].T + w["decode.bias"]) @ w["out.weight"].T
        logits = (logits + w["out.bias"]).astype(np.float64)
        return padded(logits, len(self.movies), float(logits.min()) - 1.0)

    def _similar_scores(self, movie: int) -> np.ndarray:
        unit = self._movie_unit
        if movie >= len(unit):
            return np.zeros(len(self.movies))
        return padded((unit @ unit[movie]).astype(np.float64), len(self.movies))

    def _learn_movie(self, row: FoldIn) -> None:
        """Append a new movie: counted and seen by its raters, scored below every trained one."""
        if row.new:
            votes = self._fitted(self.movie_votes)
            self.movie_votes = np.append(votes[: row.index], float(len(row.idx)))

    def _state(self) -> dict[str, np.ndarray]:
        return {name.replace(".", "_"): value for name, value in self.weights.items()}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self._install({name.replace("_", "."): arrays[name] for name in _LAYER_ARRAYS})
        indices = self._seen_lists.indices
        self.movie_votes = np.bincount(indices, minlength=len(self.movies)).astype(np.float64)
