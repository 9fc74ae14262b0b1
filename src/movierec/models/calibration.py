"""Genre calibration (Steck, "Calibrated recommendations", RecSys 2018): measure and re-rank.

A list is *calibrated* when its genres come in the proportions the user's own history has.
Definitions (each movie ``i`` spreads weight 1 evenly over its distinct genres,
``p(g|i) = 1/|genres(i)|``; a movie without genres carries no weight and so contributes
nothing, to neither the numerator nor the normalisation):

* a set of movies ``S`` (weighted equally, as Steck's profile distribution; Steck also allows
  rank weights for lists, not used here) has the genre distribution
  ``d_S(g) = Σ_{i∈S} p(g|i) / Σ_g' Σ_{i∈S} p(g'|i)`` — all zero when no movie has genres;
* the user's *taste* ``p`` is ``d`` of the movies they liked (rated at least the relevance
  threshold), or of every movie they rated when they liked none;
* a list ``L`` has ``q = d_L`` and is smoothed toward the taste, ``q̃ = (1−α)·q + α·p``
  (α = 0.01, Steck's value, so the divergence stays finite when the list misses a genre);
* miscalibration is ``KL(p ‖ q̃) = Σ_{g: p(g)>0} p(g)·log(p(g)/q̃(g))`` (natural log; 0 for a
  perfectly calibrated list, ``log(1/α) ≈ 4.6`` for a list with none of the user's genres).

:func:`calibrated_rerank` is Steck's greedy re-ranking (his section 3): from a pool of the
model's best candidates, add one movie at a time, the one maximising
``(1−λ)·Σ_{i∈L∪{c}} s(i) − λ·KL(p ‖ q̃(L∪{c}))``; the hybrid's pool is its top 50 and each
taste genre's best few (:func:`rerank_pool`). Both evaluation (the ``miscalibration`` figure
of ``movierec evaluate``) and serving can use these functions; they are vectorised over movies
(and over users where the caller stacks them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.models._calibrationkernels import (
    pool_user,
    pool_users,
    rerank_user,
    rerank_users,
)
from movierec.validate import check_k, number_in

ALPHA = 0.01  # Steck's smoothing of the list's distribution toward the user's
RERANK_POOL = 50  # candidates a calibrated re-ranking chooses from, by default
#: from this many users at once a re-ranking shares them among the cores (a fit's, never a
#: request's single user)
PARALLEL_USERS = 32
ALL_PAIRS_UP_TO = 2_000  # users; beyond, personalization samples pairs
SAMPLED_PAIRS = 200_000


@dataclass(frozen=True)
class GenreMatrix:
    """Movies × genres, each movie's weight 1 split evenly over its distinct genres.

    Attributes:
        movie_ids: raw movie ids, one per row.
        names: genre names, sorted, one per column.
        rows: float64 (movies × genres); a row sums to 1, or to 0 for a movie without genres.
    """

    movie_ids: np.ndarray
    names: tuple[str, ...]
    rows: np.ndarray
    _lookup: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", pd.Index(np.asarray(self.movie_ids)))

    @classmethod
    def build(cls, movie_ids: np.ndarray, genres: Iterable[Sequence[str]]) -> GenreMatrix:
        """From raw ids and each movie's genre list (empty strings and repeats ignored)."""
        movie_ids = np.asarray(movie_ids)
        lists = pd.Series(list(genres), dtype=object)
        if len(lists) != len(movie_ids):
            raise ValueError(f"{len(movie_ids)} movie ids but {len(lists)} genre lists")
        exploded = lists.explode().dropna()
        pairs = pd.DataFrame(
            {"row": exploded.index.to_numpy(np.int64), "genre": exploded.astype(str).to_numpy()}
        )
        pairs = pairs[pairs["genre"] != ""].drop_duplicates()
        codes, names = pd.factorize(pairs["genre"], sort=True)
        row = pairs["row"].to_numpy()
        per_movie = np.bincount(row, minlength=len(movie_ids))
        rows = np.zeros((len(movie_ids), len(names)))
        rows[row, codes] = 1.0 / per_movie[row]
        return cls(movie_ids, tuple(str(n) for n in names), rows)

    @classmethod
    def from_catalog(cls, catalog: pd.DataFrame) -> GenreMatrix:
        """From a catalog's ``movie_id`` and ``genres`` columns."""
        return cls.build(catalog["movie_id"].to_numpy(), catalog["genres"])

    def index(self, movie_ids: np.ndarray) -> np.ndarray:
        """Row of each raw movie id; −1 for ids the matrix does not hold."""
        movie_ids = np.asarray(movie_ids)
        return self._lookup.get_indexer(movie_ids.ravel()).reshape(movie_ids.shape)

    def rows_of(self, movie_ids: np.ndarray) -> np.ndarray:
        """Each movie's row, a zero row for an id the matrix does not hold."""
        where = self.index(movie_ids)
        out = self.rows[np.maximum(where, 0)]
        out[where < 0] = 0.0
        return out


def genre_distributions(
    rows: np.ndarray, owners: np.ndarray, movies: np.ndarray, n_owners: int
) -> np.ndarray:
    """Each owner's genre distribution ``d`` of their movies, every movie weighted equally.

    Args:
        rows: movies × genres, as :attr:`GenreMatrix.rows`.
        owners: the owner (user, list) of each (owner, movie) pair, in ``0..n_owners−1``.
        movies: the movie of each pair, a row of ``rows``; −1 contributes nothing.
        n_owners: how many owners (rows of the answer).

    Returns:
        n_owners × genres; an owner whose movies have no genre gets a zero row.
    """
    owners, movies = np.asarray(owners, np.int64), np.asarray(movies, np.int64)
    keep = movies >= 0
    pick = sp.csr_matrix(
        (np.ones(int(keep.sum())), (owners[keep], movies[keep])), shape=(n_owners, len(rows))
    )
    totals = np.asarray(pick @ rows)
    mass = totals.sum(axis=1, keepdims=True)
    return np.divide(totals, mass, out=np.zeros_like(totals), where=mass > 0)


def taste_distributions(
    rows: np.ndarray,
    owners: np.ndarray,
    movies: np.ndarray,
    ratings: np.ndarray,
    n_owners: int,
    threshold: float | None,
) -> np.ndarray:
    """Each user's taste ``p``: the distribution of the movies they liked (module docstring).

    Liked = rated at least ``threshold``; a user who liked nothing (or ``threshold`` None)
    counts every movie they rated. Arguments as :func:`genre_distributions`, plus each pair's
    rating.
    """
    owners = np.asarray(owners, np.int64)
    ratings = np.asarray(ratings, np.float64)
    if threshold is None:
        use = np.ones(len(owners), bool)
    else:
        liked = ratings >= threshold - 1e-9
        any_liked = np.bincount(owners[liked], minlength=n_owners) > 0
        use = liked | ~any_liked[owners]
    return genre_distributions(rows, owners[use], np.asarray(movies)[use], n_owners)


def kl_divergence(p: np.ndarray, q: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """``KL(p ‖ (1−α)q + αp)`` along the last axis, over the genres where ``p > 0``."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    smoothed = (1.0 - alpha) * q + alpha * p
    positive = p > 0
    ratio = np.divide(p, smoothed, out=np.ones(np.broadcast(p, smoothed).shape), where=positive)
    return np.where(positive, p * np.log(ratio), 0.0).sum(axis=-1)


def rerank_pool(
    scores: np.ndarray,
    genres: np.ndarray,
    targets: np.ndarray,
    k: int,
    size: int = RERANK_POOL,
    quota_from: np.ndarray | None = None,
) -> np.ndarray:
    """Which candidates a calibrated re-ranking chooses from: each user's top ``size`` by
    score, and for each genre ``g`` of their taste its ⌈k·p(g)⌉ best-scored candidates.

    The re-ranking can only list what its pool holds, and a model's top 50 may hold no film of
    a taste's smaller genres: a newcomer to ml-100k who rated five documentaries 5★ had none
    among the hybrid's 50 best (its best was 150th) and was listed none, however strong λ.
    With each genre's best few in the pool, λ can give the genre its share of the list, and
    the films it gets are the ones the model rates highest in it.

    Args:
        scores: users × candidates; a non-finite score is not a candidate.
        genres: users × candidates × genres, or candidates × genres shared by every user; a
            candidate is of ``g`` where its weight for ``g`` is above 0.
        targets: users × genres, each user's taste ``p``.
        k: the list's length.
        size: how many of the best-scored candidates are in the pool whatever their genres.
        quota_from: users × candidates, those a genre's quota may take (default: every one;
            :attr:`~movierec.models.blend.Validation.quota_from` for the hybrid's fit).

    Returns:
        users × candidates, True for the pool.
    """
    scores = np.atleast_2d(np.asarray(scores, np.float64))
    targets = np.atleast_2d(np.asarray(targets, np.float64))
    genres = np.asarray(genres)
    quotas = np.ceil(k * targets - 1e-9).astype(np.int64)  # users × genres
    pool = np.zeros(scores.shape, bool)
    if quota_from is None:
        quota_from = np.ones(scores.shape, bool)
    quota_from = np.broadcast_to(np.asarray(quota_from, bool), scores.shape)
    if genres.ndim == 2:  # one catalogue's rows for every user: a request's one user
        for u in range(len(scores)):
            pool_user(scores[u], genres, quotas[u], int(size), quota_from[u], pool[u])
    elif len(scores) >= PARALLEL_USERS:  # a fit's validation users
        genres = np.ascontiguousarray(genres)
        pool_users(scores, genres, quotas, int(size), np.ascontiguousarray(quota_from), pool)
    else:
        for u in range(len(scores)):
            pool_user(scores[u], genres[u], quotas[u], int(size), quota_from[u], pool[u])
    return pool


def calibrated_rerank(
    scores: np.ndarray,
    candidate_genre_matrix: np.ndarray,
    target_distribution: np.ndarray,
    k: int,
    lam: float,
    *,
    alpha: float = ALPHA,
) -> np.ndarray:
    """Steck's greedy calibrated re-ranking of one user's candidates.

    Starting from an empty list ``L``, each of ``k`` steps adds the candidate ``c`` maximising
    ``(1−λ)·Σ_{i∈L∪{c}} s(i) − λ·KL(p ‖ q̃(L∪{c}))`` (definitions in the module docstring),
    evaluated for every remaining candidate at once. The scores are first scaled to [0, 1] over
    the candidates (min–max), so one λ means the same for models whose scores live on
    different scales. Greedy, one movie at a time, as in Steck's paper; ties go to the earlier
    candidate.

    Args:
        scores: the candidates' scores (non-finite: not allowed), typically a model's top
            :data:`RERANK_POOL`.
        candidate_genre_matrix: candidates × genres, each row as :attr:`GenreMatrix.rows`.
        target_distribution: the user's taste ``p`` over the same genres (all zero: no
            taste known, and the score order is kept).
        k: list length (fewer when fewer candidates are allowed).
        lam: λ in [0, 1]; 0 keeps the score order, 1 only follows the genres.
        alpha: the smoothing α of ``q̃``, in (0, 1]: with none, a taste genre missing from
            the list makes every divergence infinite.

    Returns:
        positions into the candidates, in list order.
    """
    scores = np.asarray(scores, np.float64)
    genres = np.asarray(candidate_genre_matrix, np.float64)
    target = np.asarray(target_distribution, np.float64)
    if scores.ndim != 1 or genres.shape != (len(scores), len(target)):
        raise ValueError(
            f"need n scores, an n × g genre matrix and g target weights; got "
            f"{scores.shape}, {genres.shape} and {target.shape}"
        )
    check_k(k)
    number_in(lam, "lam", 0, 1)
    k = min(int(k), int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, np.int64)
    return calibrated_rerank_many(scores[None], genres[None], target[None], k, lam, alpha=alpha)[0]


def calibrated_rerank_many(
    scores: np.ndarray,
    genres: np.ndarray,
    targets: np.ndarray,
    k: int,
    lam: float,
    *,
    alpha: float = ALPHA,
) -> np.ndarray:
    """:func:`calibrated_rerank` for many users at once (the hybrid's fit re-ranks hundreds).

    Args:
        scores: users × candidates (non-finite: not allowed).
        genres: users × candidates × genres, each candidate's genre row.
        targets: users × genres, each user's taste ``p``.
        k: list length, at most the candidates; a user with fewer allowed candidates gets
            disallowed positions at the end of their row.
        lam: λ in [0, 1]; 0 returns the score order.
        alpha: as :func:`calibrated_rerank`'s.

    Returns:
        users × k positions into the candidates, in list order.
    """
    number_in(alpha, "alpha", 0, 1, low_open=True)
    scores = np.asarray(scores, np.float64)
    n_users, width = scores.shape
    k = min(int(k), width)
    allowed = np.isfinite(scores)
    if lam <= 0:
        return np.argsort(np.where(allowed, -scores, np.inf), axis=1, kind="stable")[:, :k]
    low = np.where(allowed, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(allowed, scores, -np.inf).max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    low = np.where(np.isfinite(low), low, 0.0)  # a user with nothing allowed
    scaled = np.where(allowed, (scores - low) / span, 0.0)
    chosen = np.zeros((n_users, k), np.int64)
    genres = np.ascontiguousarray(genres)  # float32 or float64: summed into float64 counts
    targets = np.ascontiguousarray(targets, dtype=np.float64)
    if n_users >= PARALLEL_USERS:  # a fit's validation users
        rerank_users(scaled, allowed, genres, targets, float(lam), float(alpha), chosen)
    else:  # a few, as a request's one user: serial (see the kernels' module)
        for u in range(n_users):
            rerank_user(
                scaled[u], allowed[u], genres[u], targets[u], float(lam), float(alpha), chosen[u]
            )
    return chosen


def personalization(
    recommended: np.ndarray,
    lengths: np.ndarray,
    *,
    all_pairs_up_to: int = ALL_PAIRS_UP_TO,
    n_pairs: int = SAMPLED_PAIRS,
    seed: int = 0,
) -> float:
    """``1 − mean Jaccard |L_u ∩ L_v| / |L_u ∪ L_v|`` over pairs of users' lists.

    All pairs of users with a non-empty list up to ``all_pairs_up_to`` users, else ``n_pairs``
    pairs drawn with ``seed``; 0 = everyone gets the same list. NaN with fewer than two
    non-empty lists. Rows of ``recommended`` are movie ids (or indices), the first
    ``lengths[u]`` real.
    """
    slots = np.arange(recommended.shape[1]) < np.asarray(lengths)[:, None]
    users = np.flatnonzero(slots.any(axis=1))
    if len(users) < 2:
        return float("nan")
    rows, _ = np.nonzero(slots[users])
    _, columns = np.unique(recommended[users][slots[users]], return_inverse=True)
    indicator = sp.csr_matrix(
        (np.ones(len(rows)), (rows, columns)), shape=(len(users), int(columns.max()) + 1)
    )
    indicator.data[:] = 1.0  # a movie twice in one list counts once
    sizes = np.asarray(indicator.sum(axis=1)).ravel()
    n = len(users)
    if n <= all_pairs_up_to:
        overlap = (indicator @ indicator.T).toarray()
        first, second = np.triu_indices(n, 1)
        overlap = overlap[first, second]
    else:
        rng = np.random.default_rng(seed)
        first = rng.integers(n, size=n_pairs)
        second = (first + rng.integers(1, n, size=n_pairs)) % n  # never the same user
        overlap = np.asarray(indicator[first].multiply(indicator[second]).sum(axis=1)).ravel()
    jaccard = overlap / (sizes[first] + sizes[second] - overlap)
    return float(1.0 - jaccard.mean())
