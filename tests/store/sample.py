"""Small deterministic datasets for the store tests (importable by the writer subprocess too)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.dataset import HALF_STARS, Dataset

N_USERS = 20
N_MOVIES = 30
FIRST_NEW_USER = 10_000  # ids the tests write, far above the base users


def sample_dataset(
    name: str = "tiny",
    *,
    n_users: int = N_USERS,
    n_movies: int = N_MOVIES,
    n_ratings: int = 200,
    seed: int = 0,
) -> Dataset:
    """Unique (user, movie) pairs on the half-star scale, with demographics for every user."""
    rng = np.random.default_rng(seed)
    pairs = rng.choice(n_users * n_movies, n_ratings, replace=False)
    ratings = pd.DataFrame(
        {
            "user_id": pairs // n_movies + 1,
            "movie_id": pairs % n_movies + 1,
            "rating": rng.integers(1, 11, n_ratings) / 2,
            "timestamp": rng.integers(1_000_000_000, 1_600_000_000, n_ratings),
        }
    )
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(1, n_movies + 1),
            "title": [f'Movie {i}, "quoted"' for i in range(1, n_movies + 1)],
            "year": [1990 + i % 30 if i % 7 else None for i in range(1, n_movies + 1)],
            "genres": [["Drama", "Comedy"][: i % 3] for i in range(1, n_movies + 1)],
        }
    )
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1),
            "age": rng.integers(18, 70, n_users),
            "gender": np.where(np.arange(n_users) % 2, "F", "M"),
        }
    )
    return Dataset(name, catalog, ratings, users, scale=HALF_STARS)
