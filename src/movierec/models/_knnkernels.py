"""The numba half of item-kNN: similarities of training, and the neighbourhood term of a score.

Both loops are over ratings with state that numpy cannot hold without an items × items matrix
or per-pair early exits, so they are compiled kernels, run in parallel over blocks:

* :func:`item_neighbours` accumulates the similarities. For each item it walks the rows of the
  users who rated it (the cost is ``Σ_u n_u²``, the sparse product ``Xᵀ X``), each block of
  items with its own dense accumulators of one catalogue's length. No items × items matrix is
  ever held: each item keeps only its ``limit`` most similar positive neighbours, sorted best
  first, as one CSR of 8 bytes per kept pair (ml-100k: 360 per movie on average, 4.8 MB;
  ml-latest-small: 234 per movie, 18 MB). While fitting, the kernel writes into a dense
  ``items × limit`` buffer of the same 8 bytes per slot (39 MB for 9.7k movies at the default
  500; the full catalogue as ``limit`` makes it ``movies²``, 760 MB there, so keep that for
  small catalogues).
* :func:`add_neighbourhood` adds to each (user, movie) pair's score the similarity-weighted
  mean (or sum) of the user's residuals over the movie's neighbours, walking the movie's list
  best first, looking each neighbour up in a dense map of the user's history, and stopping at
  the ``k``-th hit: with the full list that is exactly Surprise's neighbourhood, and on ml-100k
  the default 500 changes the 5-fold RMSE by less than 1e-4.

The model, its baselines and what the similarities mean are in :mod:`movierec.models.knn`.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange


def item_neighbours(
    by_item: tuple[np.ndarray, np.ndarray, np.ndarray],
    by_user: tuple[np.ndarray, np.ndarray, np.ndarray],
    shrinkage: float,
    min_support: int,
    limit: int,
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each item's ``limit`` most similar items (positive similarity), best first, as CSR.

    Args:
        by_item: (indptr, user indices, values) of the values (ratings or residuals) by
            item, as CSC.
        by_user: (indptr, item indices, values) of the same values by user, as CSR.
        shrinkage: ``(n−1)/(n−1+shrinkage)`` factor on a pair with ``n`` co-raters; 0: none.
        min_support: pairs with fewer co-raters get similarity 0.
        limit: neighbours kept per item.
        first: the lists of items ``first`` onwards only (a fold-in wants one new movie's).
    """
    n_items = len(by_item[0]) - 1
    n_rows = n_items - first
    chunks = max(1, min(n_rows, numba.get_num_threads() * 8))
    bounds = np.linspace(first, n_items, chunks + 1).astype(np.int64)
    kept_items = np.zeros((n_rows, limit), dtype=np.int32)
    kept_sims = np.zeros((n_rows, limit), dtype=np.float32)
    counts = np.zeros(n_rows, dtype=np.int64)
    _similarity_kernel(
        *by_item,
        *by_user,
        float(shrinkage),
        int(min_support),
        bounds,
        kept_items,
        kept_sims,
        counts,
    )
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    mask = np.arange(limit)[None, :] < counts[:, None]
    return indptr, kept_items[mask], kept_sims[mask]


def new_item_neighbours(
    item: int,
    values: np.ndarray,
    raters: tuple[np.ndarray, np.ndarray, np.ndarray],
    shrinkage: float,
    min_support: int,
    limit: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The list (item indices, similarities) of one item appended after the others, as
    :func:`item_neighbours` gives each item's.

    Args:
        item: its index, one past the last of the others.
        values: its values, one per rater (in the order of ``raters``' rows).
        raters: (indptr, item indices, values) of its raters' other values, one row each.
        shrinkage, min_support, limit: as :func:`item_neighbours`.
    """
    item_indptr = np.zeros(item + 2, np.int64)  # one column, the new item's
    item_indptr[-1] = len(values)
    rows = np.arange(len(values), dtype=np.int32)
    _, neighbours, sims = item_neighbours(
        (item_indptr, rows, values), raters, shrinkage, min_support, limit, first=item
    )
    return neighbours, sims


def add_neighbourhood(
    rows: np.ndarray,
    movies: np.ndarray,
    history: tuple[np.ndarray, np.ndarray, np.ndarray],
    neighbours: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    k: int,
    min_k: int,
    normalise: bool,
    out: np.ndarray,
) -> None:
    """Add each pair's neighbourhood term to ``out``; pairs come sorted by history row.

    Args:
        rows, movies: the pairs, as a row of ``history`` and a movie index.
        history: (indptr, movie indices, residuals) of the users' rated movies, as CSR.
        neighbours: (indptr, movie indices, similarities) of each movie's list, best first.
        k: most neighbours aggregated per pair.
        min_k: fewer neighbours found than this and the pair gets nothing.
        normalise: ``Σ sim·residual / Σ sim`` if set, else the sum alone.
        out: the scores added to, one per pair.
    """
    blocks = max(1, min(len(rows), numba.get_num_threads() * 4))
    bounds = np.linspace(0, len(rows), blocks + 1).astype(np.int64)
    _neighbourhood_kernel(rows, movies, *history, *neighbours, k, min_k, normalise, bounds, out)


@njit(parallel=True, cache=True)
def _similarity_kernel(
    item_indptr: np.ndarray,
    item_users: np.ndarray,
    item_values: np.ndarray,
    user_indptr: np.ndarray,
    user_items: np.ndarray,
    user_values: np.ndarray,
    shrinkage: float,
    min_support: int,
    bounds: np.ndarray,
    kept_items: np.ndarray,
    kept_sims: np.ndarray,
    counts: np.ndarray,
) -> None:  # pragma: no cover - compiled
    n_items = len(item_indptr) - 1
    limit = kept_items.shape[1]
    first = bounds[0]  # row 0 of the outputs
    for chunk in prange(len(bounds) - 1):
        freq = np.zeros(n_items, dtype=np.int64)
        prods = np.zeros(n_items)
        sq_i = np.zeros(n_items)
        sq_j = np.zeros(n_items)
        touched = np.empty(n_items, dtype=np.int64)
        for i in range(bounds[chunk], bounds[chunk + 1]):
            n_touched = 0
            for p in range(item_indptr[i], item_indptr[i + 1]):
                u = item_users[p]
                d_i = item_values[p]
                for q in range(user_indptr[u], user_indptr[u + 1]):
                    j = user_items[q]
                    if j == i:
                        continue
                    if freq[j] == 0:
                        touched[n_touched] = j
                        n_touched += 1
                    d_j = user_values[q]
                    freq[j] += 1
                    prods[j] += d_i * d_j
                    sq_i[j] += d_i * d_i
                    sq_j[j] += d_j * d_j
            candidates = np.sort(touched[:n_touched])  # index order: ties go to the lower index
            sims = np.zeros(n_touched)
            for t in range(n_touched):
                j = candidates[t]
                n = freq[j]
                denominator = np.sqrt(sq_i[j] * sq_j[j])
                if n >= min_support and denominator > 0.0:
                    s = prods[j] / denominator
                    if shrinkage > 0.0:
                        s *= (n - 1) / (n - 1 + shrinkage)
                    sims[t] = s
                freq[j] = 0
                prods[j] = 0.0
                sq_i[j] = 0.0
                sq_j[j] = 0.0
            order = np.argsort(-sims, kind="mergesort")
            kept = 0
            for t in order:
                if kept == limit or sims[t] <= 0.0:
                    break
                kept_items[i - first, kept] = candidates[t]
                kept_sims[i - first, kept] = sims[t]
                kept += 1
            counts[i - first] = kept


@njit(parallel=True, cache=True)
def _neighbourhood_kernel(
    rows: np.ndarray,
    movies: np.ndarray,
    seen_indptr: np.ndarray,
    seen_indices: np.ndarray,
    residuals: np.ndarray,
    nb_indptr: np.ndarray,
    nb_indices: np.ndarray,
    nb_sims: np.ndarray,
    k: int,
    min_k: int,
    normalise: bool,
    bounds: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add the neighbourhood term to ``out``; pairs come sorted by history row.

    ``Σ sim·residual / Σ sim`` over the pair's neighbourhood (``normalise``), or the sum alone.
    Each block of pairs keeps a dense map movie → position in the current row's history, so
    walking a neighbour list costs one lookup per neighbour, and a history is mapped once per
    block rather than once per pair.
    """
    n_items = len(nb_indptr) - 1
    for block in prange(len(bounds) - 1):
        where = np.full(n_items, -1, dtype=np.int64)
        current = -1
        for t in range(bounds[block], bounds[block + 1]):
            u, i = rows[t], movies[t]
            if u != current:
                if current >= 0:
                    for q in range(seen_indptr[current], seen_indptr[current + 1]):
                        where[seen_indices[q]] = -1
                for q in range(seen_indptr[u], seen_indptr[u + 1]):
                    where[seen_indices[q]] = q
                current = u
            numerator = 0.0
            denominator = 0.0
            found = 0
            for p in range(nb_indptr[i], nb_indptr[i + 1]):
                if found == k:
                    break
                q = where[nb_indices[p]]
                if q >= 0:
                    numerator += nb_sims[p] * residuals[q]
                    denominator += nb_sims[p]
                    found += 1
            if found >= min_k and denominator > 0.0:
                out[t] += numerator / denominator if normalise else numerator
