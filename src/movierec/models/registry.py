"""Models by name, for the command line, the service and the evaluation harness.

Entries are import paths, so naming a model does not import every model's kernels.
A name may carry a variant after a dash: ``content-soup`` is the content model with
``features="soup"``.
"""

from __future__ import annotations

import importlib
from typing import Any

from movierec.errors import NoMatchError
from movierec.models.base import Config, Recommender

# name → (module:class, config overrides)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "mf": ("movierec.models.mf:MatrixFactorization", {}),
    "mf-bounded": ("movierec.models.mf:BoundedMatrixFactorization", {}),
    # tuned on a validation split of ml-100k's training part: 5-fold RMSE 0.908
    "mf-tuned": (
        "movierec.models.mf:MatrixFactorization",
        {
            "n_epochs": 120,
            "reg_all": 0.1,
            "reg_bu": 0.02,
            "reg_bi": 0.02,
            "lr_bu": 0.002,
            "lr_bi": 0.002,
        },
    ),
    # Surprise's SVDpp to the update: the films a user rated count, not only their stars
    "svdpp": ("movierec.models.svdpp:SVDpp", {}),
    # tuned on a validation split of one ml-100k fold's training part: 5-fold RMSE 0.899
    "svdpp-tuned": (
        "movierec.models.svdpp:SVDpp",
        {
            "n_factors": 100,
            "n_epochs": 150,
            "lr_all": 0.003,
            "reg_all": 0.11,
            "lr_yj": 0.001,
            "reg_yj": 0.005,
            "lr_bu": 0.002,
            "lr_bi": 0.002,
            "reg_bu": 0.02,
            "reg_bi": 0.02,
        },
    ),
    # Bayesian MF by Gibbs sampling: the posterior mean, no penalty to tune
    "bmf": ("movierec.models.bayesmf:BayesianMF", {}),
    # Bayesian SVD++ flipped: the films a user rated and the users who rated a film count too
    "bsvdpp": ("movierec.models.bayessvdpp:BayesianSVDpp", {}),
    # bsvdpp, svdpp-tuned, knn and als, weighted by user and movie support on held-out training
    # ratings: ml-100k 5-fold RMSE 0.879, u1 0.888
    "rating-blend": ("movierec.models.ratingblend:RatingBlend", {}),
    "als": ("movierec.models.als:ALS", {}),
    "twotower": ("movierec.models.twotower:TwoTower", {}),
    # also fitted to sampled unrated movies: ranks far better, predicts ratings worse
    "twotower-rank": ("movierec.models.twotower:TwoTower", {"negatives": 1}),
    # blend weights fitted on validation data (coordinate ascent on NDCG@10)
    "hybrid": ("movierec.models.hybrid:Hybrid", {}),
    # what a user will rate next, whatever the stars (every rating relevant, as Microsoft
    # Recommenders' top-N protocol counts): EASE and binary iALS, blended on validation users
    "hybrid-watch": (
        "movierec.models.hybrid:Hybrid",
        {"parts": "ease-watch,ials-binary", "relevance": 0.0, "genre_quotas": False},
    ),
    "knn": ("movierec.models.knn:ItemKNN", {}),
    "knn-cosine": ("movierec.models.knn:ItemKNN", {"similarity": "cosine"}),
    "ease": ("movierec.models.ease:EASE", {}),
    # a 1★ counts as interest like any rating: what a user watches next, not what they like
    "ease-watch": ("movierec.models.ease:EASE", {"dislike": 0.0}),
    # every rating counts as interest, a 1★ too, and as much as a 5★
    "ease-binary": (
        "movierec.models.ease:EASE",
        {"weighting": "binary", "l2": 500.0, "dislike": 0.0},
    ),
    # EASE's closed form through a rank-1024 Woodbury inverse: no movies × movies matrix
    "ease-lowrank": ("movierec.models.lowrankease:LowRankEASE", {}),
    # Microsoft Recommenders' quick-start default: jaccard, rating weights, 30-day half-life
    "sar": ("movierec.models.sar:SAR", {}),
    # Liang et al.'s multinomial VAE, 600-200-600, binary feedback (PyTorch to train)
    "multvae": ("movierec.models.multvae:MultVAE", {}),
    "ials": ("movierec.models.ials:ImplicitALS", {}),
    "ials-binary": (
        "movierec.models.ials:ImplicitALS",
        {"weighting": "binary", "alpha": 6.0, "regularization": 45.0},
    ),
    # idf keeps genre-only movies from crowding neighbour lists of partly enriched catalogs
    "content": ("movierec.models.content:ContentRecommender", {"features": "auto", "idf": True}),
    "content-soup": (
        "movierec.models.content:ContentRecommender",
        {"features": "soup", "idf": True},
    ),
    "content-tfidf": ("movierec.models.content:ContentRecommender", {"features": "tfidf"}),
    # as `content` weighs them on the RecBole ml-100k: an actor or director shared by few films
    # outweighs a genre (user-holdout NDCG@10 0.038 -> 0.126, newcomers 0.117 -> 0.173)
    "content-kg": ("movierec.models.content:ContentRecommender", {"features": "kg", "idf": True}),
    "chart": ("movierec.models.popular:ChartRecommender", {}),
}


def names() -> list[str]:
    return sorted(MODELS)


def resolve(name: str, **overrides: Any) -> tuple[type[Recommender], Config]:
    """The class and a validated config for a model name (overrides win over the entry's)."""
    if name not in MODELS:
        raise NoMatchError(f"unknown model {name!r}; known models: {', '.join(names())}")
    path, defaults = MODELS[name]
    module_name, _, class_name = path.partition(":")
    model_class = getattr(importlib.import_module(module_name), class_name)
    return model_class, model_class.config_class(**{**defaults, **overrides})


def create(name: str, **overrides: Any) -> Recommender:
    model_class, config = resolve(name, **overrides)
    return model_class(config)
