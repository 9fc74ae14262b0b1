"""What the model tests build each model with, and what each model must refuse.

The shared contract (:mod:`tests.models.conformance`) reads both tables by model class, along
its bases (the bounded MF is built and refused as MF is), so a model's contract module names
only its class and what makes its variant distinct.

* :data:`SMALL`: settings that learn the 12 × 12 checkerboard in milliseconds, where the
  defaults (which suit ml-100k) are slow or too strongly regularised there; a model without
  an entry is built with its defaults.
* :data:`BAD_PARAMS`: one-parameter dicts the model's config must reject with a ``ValueError``
  naming the parameter. Every model under the contract needs an entry: one without fails the
  check rather than passing it by saying nothing.
"""

from __future__ import annotations

from typing import Any

from movierec.models.als import ALS
from movierec.models.base import Recommender
from movierec.models.bayesmf import BayesianMF
from movierec.models.bayessvdpp import BayesianSVDpp
from movierec.models.content import ContentRecommender
from movierec.models.ease import EASE
from movierec.models.hybrid import Hybrid
from movierec.models.ials import ImplicitALS
from movierec.models.knn import ItemKNN
from movierec.models.lowrankease import LowRankEASE
from movierec.models.mf import MatrixFactorization
from movierec.models.multvae import MultVAE
from movierec.models.popular import ChartRecommender
from movierec.models.ratingblend import RatingBlend
from movierec.models.sar import SAR
from movierec.models.svdpp import SVDpp
from movierec.models.twotower import TwoTower

SMALL: dict[type[Recommender], dict[str, Any]] = {
    ALS: {"n_factors": 8, "n_iterations": 10},
    MatrixFactorization: {"n_factors": 8, "n_epochs": 100, "lr_all": 0.02},
    # the default λ = 60 suits ml-100k; on 12 users × 12 movies it leaves every score ~0
    ImplicitALS: {"factors": 8, "regularization": 1.0},
    TwoTower: {
        "epochs": 120,
        "batch_size": 64,
        "validation": 0.0,
        "layers": "32-16",
        "learning_rate": 0.02,
        "threads": 1,
    },
    # quick parts, and cold users and validation a 12-user checkerboard can spare
    # every checkerboard movie co-occurs with every other alike: only liked ones tell groups apart
    SAR: {"weighting": "liked"},
    RatingBlend: {"parts": "als,knn", "validation": 0.2},
    # binary feedback sees no groups on the checkerboard (everyone rated nearly everything)
    MultVAE: {
        "hidden": 32,
        "latent": 8,
        "epochs": 300,
        "batch_size": 12,
        "weighting": "liked",
        "threads": 1,
    },
    # more factors fit the 4-vs-5 noise of 132 ratings, and that noise then rules the cosine
    BayesianMF: {"n_factors": 2, "n_iterations": 200, "burn_in": 50, "keep": 40},
    BayesianSVDpp: {"n_factors": 2, "n_iterations": 200, "burn_in": 50, "keep": 40},
    Hybrid: {
        "parts": "ease,content,chart",
        "cold_users": 0.2,
        "cold_profile": 3,
        "validation": 0.3,
    },
}

BAD_PARAMS: dict[type[Recommender], list[dict[str, Any]]] = {
    ALS: [
        {"n_factors": 0},
        {"n_iterations": 0},
        {"reg": -1},
        {"reg_bias": -0.5},
        {"scale_reg": 1},
        {"init_std": float("inf")},
        {"shrink_votes": -2},
        {"solver": "newton"},
        {"cg_steps": 0},
    ],
    MatrixFactorization: [
        {"n_factors": 0},
        {"n_epochs": 0},
        {"lr_all": 0},
        {"reg_all": -1},
        {"lr_pu": -0.1},
        {"reg_bi": float("nan")},
        {"init_std": -1},
        {"biased": "yes"},
        {"shrink_votes": -1},
        {"threads": -1},
    ],
    SVDpp: [{"lr_yj": 0}, {"reg_yj": -1}, {"n_factors": 0}, {"lr_all": float("inf")}],
    ItemKNN: [
        {"k": 0},
        {"min_k": 0},
        {"similarity": "jaccard"},
        {"shrinkage": -1.0},
        {"min_support": 0},
        {"max_neighbors": 0},
        {"reg_items": float("nan")},
        {"reg_users": -1},
        {"baseline_epochs": 0},
        {"shrink_votes": -1},
        {"rank_by": "score"},
        {"baseline_weight": -0.1},
    ],
    ImplicitALS: [
        {"factors": 0},
        {"regularization": -1.0},
        {"alpha": float("nan")},
        {"iterations": 0},
        {"weighting": "counts"},
        {"solver": "lu"},
        {"cg_steps": 0},
        {"like_threshold": None},
    ],
    EASE: [
        {"l2": 0},
        {"l2": float("inf")},
        {"weighting": "counts"},
        {"max_items": 0},
        {"like_threshold": float("nan")},
    ],
    MultVAE: [
        {"hidden": 0},
        {"latent": -1},
        {"dropout": 1.0},
        {"beta": -0.1},
        {"epochs": 0},
        {"learning_rate": 0.0},
        {"weighting": "counts"},
        {"threads": -1},
        {"device": "gpu"},
    ],
    LowRankEASE: [
        {"l2": 0},
        {"weighting": "counts"},
        {"rank": 0},
        {"power_iterations": -1},
        {"oversample": 1.5},
    ],
    SAR: [
        {"similarity": "cosine"},
        {"threshold": 0},
        {"threshold": 1.5},
        {"weighting": "counts"},
        {"like_threshold": float("nan")},
        {"time_decay_days": 0},
        {"time_decay_days": float("inf")},
    ],
    ContentRecommender: [
        {"features": "bogus"},
        {"min_df": 0},
        {"max_features": 0},
        {"top_cast": 0},
        {"like_threshold": float("nan")},
        {"idf": "yes"},
    ],
    TwoTower: [
        {"layers": "256-0"},
        {"layers": "wide"},
        {"epochs": 0},
        {"validation": 0.7},
        {"learning_rate": -1.0},
        {"threads": -2},
        {"device": "gpu"},
        {"device": "cuda:x"},
    ],
    Hybrid: [
        {"parts": ""},
        {"parts": "ease,ease"},
        {"parts": "hybrid"},
        {"parts": "ease,hybrid-watch"},
        {"relevance": float("nan")},
        {"validation": 1.5},
        {"cold_users": 0.9},
        {"k": 0},
    ],
    BayesianMF: [
        {"n_factors": 0},
        {"n_iterations": 0},
        {"burn_in": -1},
        {"burn_in": 200},
        {"keep": 0},
        {"keep": 1000},
        {"init_std": -1.0},
    ],
    BayesianSVDpp: [{"n_factors": 0}, {"burn_in": 200}, {"flipped": "yes"}],
    RatingBlend: [
        {"parts": ""},
        {"parts": "als,als"},
        {"parts": "ease"},
        {"parts": "rating-blend"},
        {"validation": 0.6},
        {"penalty": -1.0},
        {"support": "yes"},
    ],
    ChartRecommender: [{"quantile": 1.0}, {"quantile": -0.1}, {"quantile": "high"}],
}


def small_params(model_class: type[Recommender]) -> dict[str, Any]:
    """The model's :data:`SMALL` settings (its class's or a base's); none: its defaults."""
    return next((SMALL[c] for c in model_class.__mro__ if c in SMALL), {})


def bad_params(model_class: type[Recommender]) -> list[dict[str, Any]]:
    """What the model must refuse (its class's :data:`BAD_PARAMS` entry, or a base's)."""
    for cls in model_class.__mro__:
        if cls in BAD_PARAMS:
            return BAD_PARAMS[cls]
    raise LookupError(f"no bad parameters for {model_class.__name__}: add them to {__name__}")
