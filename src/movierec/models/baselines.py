"""Baseline estimates ``b_ui = μ + b_u + b_i`` by alternating least squares (Surprise's
``baseline_only``), the base of item-kNN's predictions and of its exact fold-ins."""

from __future__ import annotations

import numpy as np


def regularised_means(index: np.ndarray, values: np.ndarray, n: int, reg: float) -> np.ndarray:
    """``Σ values / (reg + count)`` per index (0 where nothing and no ``reg``): one exact
    half-step of the baselines. ``bincount`` sums in the order given, so a fold-in with a
    row's ratings in training's order reproduces training's bias bit for bit."""
    sums = np.bincount(index, weights=values, minlength=n)
    denominator = reg + np.bincount(index, minlength=n)
    return np.divide(sums, denominator, out=np.zeros(n), where=denominator > 0)


def baselines(
    rows: np.ndarray,
    cols: np.ndarray,
    ratings: np.ndarray,
    shape: tuple[int, int],
    global_mean: float,
    *,
    reg_users: float,
    reg_items: float,
    epochs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """User and item biases by alternating least squares, as Surprise's ``baseline_als``.

    Each sweep sets every item bias to its regularised mean residual given the user biases,
    then every user bias given the item biases; each half-step is exact, so a few sweeps
    converge. ``bincount`` does the per-rating sums in C.
    """
    n_users, n_items = shape
    user_bias, item_bias = np.zeros(n_users), np.zeros(n_items)
    centred = ratings - global_mean
    for _ in range(epochs):
        item_bias = regularised_means(cols, centred - user_bias[rows], n_items, reg_items)
        user_bias = regularised_means(rows, centred - item_bias[cols], n_users, reg_users)
    return user_bias, item_bias
