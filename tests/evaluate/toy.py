"""A tiny rating predictor and tiny datasets, so the evaluation layer is tested on its own."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.models.base import RatingPredictor


class BiasModel(RatingPredictor):
    """Global mean plus damped user and movie biases: a real, if humble, baseline."""

    kind = "test-bias"

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data).tocoo()
        ratings = matrix.data.astype(np.float64)
        self.global_mean = float(ratings.mean())
        n_users, n_movies = matrix.shape
        residual = ratings - self.global_mean
        movie_sum = np.bincount(matrix.col, residual, n_movies)
        self.movie_votes = np.bincount(matrix.col, minlength=n_movies).astype(np.float64)
        self.movie_bias = movie_sum / (self.movie_votes + 5.0)
        residual = residual - self.movie_bias[matrix.col]
        self.user_bias = np.bincount(matrix.row, residual, n_users) / (
            np.bincount(matrix.row, minlength=n_users) + 5.0
        )
        return self

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        return self.global_mean + self.user_bias[users] + self.movie_bias[movies]

    def _user_scores(self, user: int) -> np.ndarray:
        return self.global_mean + self.user_bias[user] + self.movie_bias

    def _similar_scores(self, movie: int) -> np.ndarray:
        return -np.abs(self.movie_bias - self.movie_bias[movie])

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "movie_bias": self.movie_bias,
            "user_bias": self.user_bias,
            "movie_votes": self.movie_votes,
            "global_mean": np.array([self.global_mean]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.movie_bias, self.user_bias = arrays["movie_bias"], arrays["user_bias"]
        self.movie_votes = arrays["movie_votes"]
        self.global_mean = float(arrays["global_mean"][0])


def random_dataset(
    n_users: int = 30, n_movies: int = 40, density: float = 0.3, seed: int = 0, name: str = "toy"
) -> Dataset:
    """Random 1–5 star ratings with a planted movie quality, and distinct timestamps."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_movies)) < density
    mask[:, 0] = True  # every user has a rating; most have several
    users, movies = np.nonzero(mask)
    quality = rng.normal(0, 1, n_movies)
    stars = np.clip(np.round(3 + quality[movies] + rng.normal(0, 0.8, len(users))), 1, 5)
    ratings = pd.DataFrame(
        {
            "user_id": users + 1,
            "movie_id": movies + 100,
            "rating": stars,
            "timestamp": rng.permutation(len(users)) + 1_000_000,
        }
    )
    ratings = ratings.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(n_movies) + 100,
            "title": [f"Movie {m}" for m in range(n_movies)],
            "year": 1990 + np.arange(n_movies) % 20,
            "genres": [["Drama"] for _ in range(n_movies)],
        }
    )
    return Dataset(name, catalog, ratings, None, FIVE_STARS, "test")
