"""Tiny datasets the model tests build from ratings alone: a catalogue of plain dramas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.dataset import FIVE_STARS, Dataset


def drama_dataset(name: str, ratings: pd.DataFrame, n_movies: int) -> Dataset:
    """``ratings`` (with timestamps) of movies 1 to ``n_movies``: dramas of 2000 named
    "Movie i", on the five-star scale."""
    ids = np.arange(1, n_movies + 1)
    catalog = pd.DataFrame(
        {
            "movie_id": ids,
            "title": [f"Movie {i}" for i in ids],
            "year": 2000,
            "genres": [["Drama"]] * len(ids),
        }
    )
    return Dataset(name, catalog, ratings, None, FIVE_STARS, "test")
