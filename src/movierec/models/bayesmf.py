"""Bayesian matrix factorisation by Gibbs sampling: no penalty to tune, the data sets it.

``μ + b_u + b_i + p_u·q_i`` as the other factor models, but every user's and movie's row has a
Gaussian prior whose mean and per-coordinate precision are themselves drawn (Normal–Gamma
hyperpriors), and the rating noise has a Gamma-distributed precision — the model of
Salakhutdinov & Mnih, "Bayesian Probabilistic Matrix Factorization using MCMC" (ICML 2008),
with the diagonal priors and biases of Rendle's libFM MCMC. Gibbs sampling alternates: the
hyperparameters of each side given its rows, every user row given the movies, every movie row
given the users (each a Gaussian draw, :mod:`movierec.models._bayeskernels`), the noise given
the fit. Predictions average the sampled models after ``burn_in`` steps: the posterior mean,
which does not overfit the way a point estimate does, so it beats SGD and ALS on small data
without a grid search (Rendle et al., "On the Difficulty of Evaluating Baselines", 2019).

Serving is a factor model's: the average of S kept samples' predictions is
``μ + mean(b_u) + mean(b_i) + Σ_s p_u^s·q_i^s / S``, so the S samples' factors, concatenated
and scaled by ``1/√S``, are the user and movie factors (S·k wide). A folded-in row is its
posterior mean under each kept sample, given that sample's factors of the other side, its
noise precision and its prior — with the other side's *mean* bias, the one approximation
(per-sample biases are not kept).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Self

import numpy as np
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.models._bayeskernels import posterior_means, sample_rows, squared_error
from movierec.models.factors import FactorConfig
from movierec.models.foldin import OnlineFactorModel, Penalty
from movierec.validate import int_at_least, number_at_least, positive_int, require

logger = logging.getLogger(__name__)

# Normal–Gamma hyperprior of each coordinate's prior (mean μ0, strength γ0, Gamma(a0, b0) on
# the precision) and Gamma(a0, b0) on the noise precision: libFM's weak defaults.
_MU0, _GAMMA0, _A0, _B0 = 0.0, 1.0, 1.0, 1.0


@dataclasses.dataclass(frozen=True)
class BayesMFConfig(FactorConfig):
    """Hyper-parameters of :class:`BayesianMF`: only the sampler's, no penalty or step.

    Attributes:
        n_factors: latent dimensions of one sample.
        n_iterations: Gibbs steps in all.
        burn_in: first steps whose samples are thrown away.
        keep: samples kept for serving, spread evenly over the steps after ``burn_in``;
            the served factors are ``keep · n_factors`` wide.
        init_std: standard deviation of the starting rows.
        taste_weight: as the other factor models' (:meth:`FactorModel.taste_scores`), larger:
            the served factors average S samples, and the user–movie affinity of an average
            shrinks where the samples disagree, so at the point models' 3 the chart decides
            (ml-100k, bench/taste.py's splits: bsvdpp's regulars' personalization 0.54 and
            newcomers' 0.34; a horror fan told six horror films got Titanic, Star Wars and
            Casablanca). At 15: bsvdpp NDCG@10 0.108 → 0.137 (regulars) and 0.230 → 0.242
            (newcomers, 5 ratings), personalization 0.82 and 0.72; bmf 0.128 → 0.137 and
            0.261 → 0.288, personalization 0.85 and 0.62; miscalibration 0.1–0.2 higher.
    """

    n_factors: int = 10
    n_iterations: int = 200
    burn_in: int = 50
    keep: int = 100
    init_std: float = 0.1
    taste_weight: float = 15.0

    def validate(self) -> None:
        super().validate()
        positive_int(self.n_factors, "n_factors")
        positive_int(self.n_iterations, "n_iterations")
        int_at_least(self.burn_in, "burn_in", 0)
        require(
            self.burn_in < self.n_iterations,
            "burn_in",
            f"fewer steps than n_iterations ({self.n_iterations})",
            self.burn_in,
        )
        positive_int(self.keep, "keep")
        require(
            self.keep <= self.n_iterations - self.burn_in,
            "keep",
            f"at most the steps after burn_in ({self.n_iterations - self.burn_in})",
            self.keep,
        )
        number_at_least(self.init_std, "init_std")


@dataclasses.dataclass
class _Chain:
    """One side's current rows and their prior."""

    factors: np.ndarray
    bias: np.ndarray
    prior_mean: np.ndarray
    prior_precision: np.ndarray


class BayesianMF(OnlineFactorModel):
    """Bayesian biased matrix factorisation (module docstring): the posterior mean of
    ``μ + b_u + b_i + p_u·q_i`` over Gibbs samples."""

    kind = "bmf"
    config_class = BayesMFConfig
    config: BayesMFConfig
    # per kept sample: noise precision; prior mean and precision of each side's rows
    noise_precision: np.ndarray  # S
    user_prior: np.ndarray  # S × 2 × (k+1): mean, precision
    movie_prior: np.ndarray  # S × 2 × (k+1)

    def fit(self, data: Dataset) -> Self:
        matrix = self._prepare(data)
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        by_movie = sp.csr_matrix(matrix.T)
        rated = np.asarray(self.movie_votes) > 0
        sides = [self._start(n, rng) for n in matrix.shape]
        users, movies = sides
        offset = self.global_mean
        ratings = matrix.data.astype(np.float64)
        movie_ratings = by_movie.data.astype(np.float64)
        kept_at = set(np.linspace(cfg.burn_in, cfg.n_iterations - 1, cfg.keep).round().astype(int))
        kept: list[tuple[_Chain, _Chain, float]] = []
        alpha = 1.0
        started = time.perf_counter()
        for step in range(cfg.n_iterations):
            for chain, other, csr, values, use in (
                (users, movies, matrix, ratings, None),
                (movies, users, by_movie, movie_ratings, rated),
            ):
                self._sample_prior(chain, use, rng)
                sample_rows(
                    csr.indptr,
                    csr.indices,
                    values,
                    other.factors,
                    other.bias,
                    offset,
                    alpha,
                    chain.prior_mean,
                    chain.prior_precision,
                    rng.standard_normal((len(chain.bias), cfg.n_factors + 1)),
                    chain.factors,
                    chain.bias,
                )
            error = squared_error(
                matrix.indptr,
                matrix.indices,
                ratings,
                users.factors,
                users.bias,
                movies.factors,
                movies.bias,
                offset,
            )
            alpha = rng.gamma(_A0 + len(ratings) / 2, 1.0 / (_B0 + error / 2))
            if step in kept_at:
                kept.append((_copy(users), _copy(movies), float(alpha)))
        logger.info(
            "bmf: %d Gibbs steps over %d ratings, %d factors in %.2f s; RMSE on training %.4f",
            cfg.n_iterations,
            len(ratings),
            cfg.n_factors,
            time.perf_counter() - started,
            float(np.sqrt(error / max(len(ratings), 1))),
        )
        self._keep(kept)
        return self

    def _start(self, n: int, rng: np.random.Generator) -> _Chain:
        d = self.config.n_factors + 1
        return _Chain(
            rng.normal(0.0, self.config.init_std, (n, d - 1)),
            np.zeros(n),
            np.zeros(d),
            np.ones(d),
        )

    @staticmethod
    def _sample_prior(chain: _Chain, use: np.ndarray | None, rng: np.random.Generator) -> None:
        """Draw the side's prior given its rows (``use``: the rows with ratings; unrated
        movies say nothing), bias included."""
        rows = np.column_stack([chain.factors, chain.bias])
        chain.prior_mean, chain.prior_precision = draw_prior(
            rows if use is None else rows[use], rng
        )

    def _keep(self, kept: list[tuple[_Chain, _Chain, float]]) -> None:
        """Install the kept samples as one factor model (module docstring) and their priors."""
        scale = 1.0 / np.sqrt(len(kept))
        user_factors = np.concatenate([u.factors for u, _, _ in kept], axis=1) * scale
        movie_factors = np.concatenate([m.factors for _, m, _ in kept], axis=1) * scale
        user_bias = np.mean([u.bias for u, _, _ in kept], axis=0)
        movie_bias = np.mean([m.bias for _, m, _ in kept], axis=0)
        self.noise_precision = np.array([a for _, _, a in kept])
        self.user_prior = np.array([[u.prior_mean, u.prior_precision] for u, _, _ in kept])
        self.movie_prior = np.array([[m.prior_mean, m.prior_precision] for _, m, _ in kept])
        self._install(user_factors, movie_factors, user_bias, movie_bias, self.global_mean)

    # --- online -------------------------------------------------------------------------------

    def _fold_in_reg(self, item: bool = False) -> Penalty:
        """Unused: a fold-in is the posterior mean under each kept sample (`_fold_in_row`)."""
        return Penalty(0.0, 0.0, False)

    def _fold_in_row(
        self, idx: np.ndarray, ratings: np.ndarray, *, item: bool
    ) -> tuple[np.ndarray, float]:
        """The row's posterior mean under each kept sample, concatenated as the served rows."""
        fixed = self._fixed_side(item)
        n_samples = len(self.noise_precision)
        k = self.config.n_factors
        idx = np.asarray(idx, dtype=np.int64)
        samples = fixed.factors[idx].astype(np.float64) * np.sqrt(n_samples)
        samples = np.ascontiguousarray(samples.reshape(len(idx), n_samples, k).transpose(1, 0, 2))
        prior = self.movie_prior if item else self.user_prior
        factors, biases = posterior_means(
            samples,
            fixed.bias[idx].astype(np.float64),
            np.broadcast_to(np.asarray(ratings, dtype=np.float64), (n_samples, len(idx))),
            self.offset,
            self.noise_precision,
            np.ascontiguousarray(prior[:, 0]),
            np.ascontiguousarray(prior[:, 1]),
        )
        vector = (factors / np.sqrt(n_samples)).reshape(-1).astype(np.float32)
        return vector, float(biases.mean())

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "noise_precision": self.noise_precision,
            "user_prior": self.user_prior,
            "movie_prior": self.movie_prior,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.noise_precision = np.asarray(arrays["noise_precision"])
        self.user_prior = np.asarray(arrays["user_prior"])
        self.movie_prior = np.asarray(arrays["movie_prior"])
        super()._set_state(arrays)


def draw_prior(rows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each coordinate's prior mean and precision drawn from their Normal–Gamma posterior
    given a group's rows (n × d): returns (means, precisions)."""
    n = len(rows)
    mean = rows.mean(axis=0) if n else np.zeros(rows.shape[1])
    spread = ((rows - mean) ** 2).sum(axis=0)
    gamma = _GAMMA0 + n
    centre = (_GAMMA0 * _MU0 + n * mean) / gamma
    shape = _A0 + n / 2
    rate = _B0 + spread / 2 + _GAMMA0 * n * (mean - _MU0) ** 2 / (2 * gamma)
    precision = rng.gamma(shape, 1.0 / rate)
    return rng.normal(centre, 1.0 / np.sqrt(gamma * precision)), precision


def _copy(chain: _Chain) -> _Chain:
    return _Chain(
        chain.factors.copy(),
        chain.bias.copy(),
        chain.prior_mean.copy(),
        chain.prior_precision.copy(),
    )
