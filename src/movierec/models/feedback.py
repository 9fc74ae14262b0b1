"""Ratings turned into implicit feedback, shared by the top-N models (EASE, implicit ALS)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from movierec.validate import finite_number, one_of

WEIGHTINGS = ("binary", "rating", "liked")


def feedback_matrix(matrix: sp.csr_matrix, weighting: str, like_threshold: float) -> sp.csr_matrix:
    """Ratings turned into implicit-feedback strengths (float64 CSR, same pattern or fewer).

    Args:
        matrix: users × movies ratings.
        weighting: ``binary`` (1 per rating), ``rating`` (the value) or ``liked`` (1 where the
            rating is at least ``like_threshold``; lower ratings are dropped).
        like_threshold: the rating that counts as liked.
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    if weighting == "binary":
        matrix.data[:] = 1.0
    elif weighting == "liked":
        matrix.data = (matrix.data >= like_threshold).astype(np.float64)
        matrix.eliminate_zeros()
    elif weighting != "rating":
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    return matrix


def feedback_values(ratings: np.ndarray, weighting: str, like_threshold: float) -> np.ndarray:
    """One history's feedback strengths, as :func:`feedback_matrix` gives them, in float32
    (the models that score a history row keep their products in float32); ``liked`` gives 0
    where the rating is below the threshold."""
    if weighting == "binary":
        return np.ones(len(ratings), np.float32)
    if weighting == "liked":  # compared in float32, as the seen lists keep the ratings
        return (ratings >= np.float32(like_threshold)).astype(np.float32)
    return ratings.astype(np.float32)


def low_ratings_are_interest(weighting: str) -> bool:
    """Whether a folded-in low rating reads as interest: ``liked`` drops a rating below the
    threshold; ``binary`` and ``rating`` make every rating feedback, however low."""
    return weighting != "liked"


def check_weighting(config: Any) -> None:
    """Validation shared by the configs that turn ratings into implicit feedback."""
    one_of(config.weighting, "weighting", WEIGHTINGS)
    finite_number(config.like_threshold, "like_threshold")
