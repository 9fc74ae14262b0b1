"""SVD++ (Koren, "Factorization meets the neighborhood", KDD 2008): which films you rated counts.

A user is ``p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j``: their explicit factors plus one learned vector
per movie they rated, whatever the stars. Two newcomers who gave the same stars to different
films are told apart by the films, and a rating's mere presence (people rate what they chose
to watch) carries taste. It is Surprise's ``SVDpp`` to the update — the same defaults
(20 factors, 20 epochs, learning rate 0.007, penalty 0.02, every parameter but the biases drawn
from N(0, 0.1)) and the same per-rating steps in the same user-grouped order — computed in
O(n·k) per user instead of Surprise's O(n²·k) (:mod:`movierec.models._svdppkernels` says
how), so it fits ml-100k in a fraction of a second where Surprise takes seconds.

Serving needs nothing new: after training each user's implicit sum is added into their factors
once, and the model scores, ranks and compares movies as every factor model does
(:class:`~movierec.models.factors.FactorModel`). Online, a folded-in user's implicit sum comes
from the ``y`` of the films in their history (held fixed, as the movie factors are), and their
``p_u`` is then solved against the rest — by a replay of training's steps by default, as
:class:`~movierec.models.mf.MatrixFactorization` does.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Self

import numpy as np

from movierec.data.dataset import Dataset
from movierec.models._svdppkernels import implicit_sums, svdpp_epoch
from movierec.models.mf import MatrixFactorization, MFConfig
from movierec.validate import number_at_least

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SVDppConfig(MFConfig):
    """Hyper-parameters, named and defaulted as Surprise's ``SVDpp``.

    As :class:`~movierec.models.mf.MFConfig` (whose defaults differ: Surprise's ``SVD`` has 100
    factors and learning rate 0.005), plus the step and penalty of the implicit vectors ``y_j``
    (``lr_all`` and ``reg_all`` unless set). ``shuffle`` visits users in a fresh seeded order
    each epoch (a user's ratings stay together: the implicit vectors are updated per user).
    """

    n_factors: int = 20
    lr_all: float = 0.007
    lr_yj: float | None = None
    reg_yj: float | None = None

    def validate(self) -> None:
        super().validate()
        number_at_least(self.lr_yj, "lr_yj", strict=True, optional=True)
        number_at_least(self.reg_yj, "reg_yj", optional=True)

    def implicit_rates(self) -> np.ndarray:
        """``[lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj]``."""
        rates = self.rates()
        lr_yj = self.lr_all if self.lr_yj is None else self.lr_yj
        reg_yj = self.reg_all if self.reg_yj is None else self.reg_yj
        return np.r_[rates[:4], lr_yj, rates[4:], reg_yj].astype(np.float32)


class SVDpp(MatrixFactorization):
    """SVD++: ``μ + b_u + b_i + q_i·(p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j)``, Surprise's ``SVDpp``.

    ``user_factors`` hold each user's whole vector, implicit part included; the implicit
    vectors ``y`` are kept beside them for fold-in.
    """

    kind = "svdpp"
    config_class = SVDppConfig
    config: SVDppConfig
    implicit_factors: np.ndarray  # Y, movies × k: one vector per movie, added for who rated it

    def fit(self, data: Dataset) -> Self:
        matrix = self._prepare(data)
        cfg = self.config
        n_users, n_movies = matrix.shape
        rng = np.random.default_rng(cfg.seed)

        def draw(rows: int) -> np.ndarray:
            return rng.normal(cfg.init_mean, cfg.init_std, (rows, cfg.n_factors)).astype(np.float32)

        P, Q, Y = draw(n_users), draw(n_movies), draw(n_movies)
        bu = np.zeros(n_users, np.float32)
        bi = np.zeros(n_movies, np.float32)
        indptr = matrix.indptr.astype(np.int64)
        items = np.ascontiguousarray(matrix.indices, dtype=np.int32)
        ratings = np.ascontiguousarray(matrix.data, dtype=np.float32)
        offset = np.float32(self._initial_offset())
        rates = cfg.implicit_rates()
        users = np.arange(n_users, dtype=np.int64)
        started = time.perf_counter()
        for _ in range(cfg.n_epochs):
            order = rng.permutation(users) if cfg.shuffle else users
            svdpp_epoch(indptr, items, ratings, P, Q, Y, bu, bi, offset, rates, cfg.biased, order)
        logger.info(
            "svdpp: %d epochs over %d ratings, %d factors in %.3f s",
            cfg.n_epochs,
            len(ratings),
            cfg.n_factors,
            time.perf_counter() - started,
        )
        if not (np.isfinite(P).all() and np.isfinite(Q).all() and np.isfinite(Y).all()):
            raise ValueError(f"svdpp diverged: lower lr_all (now {cfg.lr_all})")
        Y[np.asarray(self.movie_votes) == 0] = 0.0  # no one's implicit sum ever held these
        self.implicit_factors = Y
        self._install(P + implicit_sums(indptr, items, Y), Q, bu, bi, float(offset))
        return self

    def _implicit_sum(self, idx: np.ndarray) -> np.ndarray:
        """``|N|^-½ Σ_{j∈N} y_j`` of the movies ``idx``; movies added since training have none."""
        Y = self.implicit_factors
        if not len(idx):
            return np.zeros(Y.shape[1], np.float32)
        known = idx[idx < len(Y)]
        return (Y[known].sum(axis=0, dtype=np.float64) / np.sqrt(len(idx))).astype(np.float32)

    def _fold_in_row(
        self, idx: np.ndarray, ratings: np.ndarray, *, item: bool
    ) -> tuple[np.ndarray, float]:
        """A user: their implicit sum from the films rated, then ``p_u`` solved on the rest.

        With the movie side fixed, ``q_i·(p_u + z)`` is ``q_i·p_u`` against ratings less
        ``q_i·z``, so the matrix-factorisation solve (replay or ridge) serves unchanged. A
        movie's solve is matrix factorisation's: the users' whole vectors are fixed.
        """
        if item:
            return super()._fold_in_row(idx, ratings, item=True)
        idx = np.asarray(idx, dtype=np.int64)
        implicit = self._implicit_sum(idx)
        shift = self._side.factors[idx].astype(np.float64) @ implicit.astype(np.float64)
        vector, bias = super()._fold_in_row(
            idx, np.asarray(ratings, dtype=np.float64) - shift, item=False
        )
        return (vector + implicit).astype(np.float32), bias

    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), "implicit_factors": self.implicit_factors}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.implicit_factors = np.asarray(arrays["implicit_factors"])
        super()._set_state(arrays)
