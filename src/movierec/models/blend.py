"""Fitting a hybrid's blend on validation users: weights and calibration that follow taste.

Plain NDCG on MovieLens rewards popularity: the all-time chart beats most personal models on
it, and blend weights that maximise it alone learn to serve the chart (on ml-100k newcomers
the earlier hybrid did: the chart's popularity lift, 62% of two users' lists alike). So the
blend is fitted on a constrained objective:

    maximise NDCG@k  subject to  personalization ≥ P_ref  and  miscalibration ≤ C_ref,

where ``P_ref`` and ``C_ref`` are those of the *most personal part* on the same validation
users (the part whose lists differ most between users; personalization may fall short of
``P_ref`` by :data:`PERSONALIZATION_SLACK`, its noise between resamples). The blend can only
be as personal and better calibrated than that part, and moves only where it also finds more.
The search is coordinate ascent (Metzler & Croft 2007) over a grid of non-negative part
weights and over λ, the strength of Steck's calibrated re-ranking ("Calibrated
recommendations", RecSys 2018), started at the most personal part alone with λ = 0 (feasible by
construction); a step is kept only when it stays feasible and raises NDCG.

Definitions, over the validation users' top-k lists (all vectorised over users):

* personalization = 1 − mean Jaccard similarity of two users' lists (all pairs);
* miscalibration = mean over users of KL(p ‖ (1−α)q + αp), α = 0.01: p the genre distribution
  of the movies the user liked (each movie splits weight 1 over its genres), q that of the
  list;
* calibrated re-ranking: from the blend's top ``RERANK_POOL`` movies, greedily add the one
  maximising ``(1−λ)·Σ s − λ·KL(p ‖ q̃(list))``, s the candidates' scores scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

ALPHA = 0.01  # Steck's smoothing of the list's distribution toward the user's
RERANK_POOL = 50  # movies the calibrated re-ranking chooses from
LAMBDAS = np.array([0.0, 0.3, 0.5, 0.7, 0.9])
#: how far below the most personal part's personalization a blend may go: the figure moves by
#: about this much between resamples of a few hundred validation users, so a stricter bound
#: rejects blends for noise
PERSONALIZATION_SLACK = 0.01
_GRID = np.linspace(0.0, 1.0, 11)


def genre_rows(genres: list[list[str]] | np.ndarray, names: list[str]) -> np.ndarray:
    """movies × genres, each movie's weight 1 split evenly over its genres (zero if none)."""
    column = {name: j for j, name in enumerate(names)}
    rows = np.zeros((len(genres), len(names)), np.float32)
    for i, movie_genres in enumerate(genres):
        known = [column[g] for g in movie_genres if g in column]
        if known:
            rows[i, known] = 1.0 / len(known)
    return rows


def taste_distribution(rows: np.ndarray, movies: np.ndarray, ratings: np.ndarray,
                       threshold: float) -> np.ndarray:
    """The genre distribution of the movies a user liked (all they rated if none liked)."""
    movies = movies[movies < len(rows)]
    ratings = ratings[:len(movies)]
    liked = movies[ratings >= threshold] if (ratings >= threshold).any() else movies
    total = rows[liked].sum(axis=0, dtype=np.float64)
    mass = total.sum()
    return total / mass if mass > 0 else total


def kl_to_list(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p ‖ (1−α)q + αp) along the last axis, over the genres where p > 0."""
    smoothed = (1 - ALPHA) * q + ALPHA * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / np.where(p > 0, smoothed, 1.0)), 0.0)
    return terms.sum(axis=-1)


def rerank(scores: np.ndarray, genres: np.ndarray, target: np.ndarray, k: int,
           lam: float) -> np.ndarray:
    """Steck's greedy calibrated re-ranking, for many users at once.

    Args:
        scores: users × candidates (−inf: not allowed), best candidates anywhere.
        genres: users × candidates × genres, each candidate's genre row.
        target: users × genres, each user's taste distribution p.
        k: list length (at most the candidates).
        lam: λ in [0, 1]; 0 returns the score order.

    Returns:
        users × k positions into the candidates, in list order.
    """
    n_users, width = scores.shape
    k = min(k, width)
    if lam <= 0:
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return top
    finite = np.isfinite(scores)
    low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    scaled = np.where(finite, (scores - low) / span, -np.inf)
    chosen = np.zeros((n_users, k), np.int64)
    taken = ~finite
    counts = np.zeros_like(target)
    total = np.zeros(n_users)
    rows = np.arange(n_users)
    for step in range(k):
        q = (counts[:, None, :] + genres) / (step + 1)
        objective = (1 - lam) * (total[:, None] + scaled) - lam * kl_to_list(target[:, None, :], q)
        objective[taken] = -np.inf
        pick = np.argmax(objective, axis=1)
        chosen[:, step] = pick
        taken[rows, pick] = True
        counts += genres[rows, pick]
        total += np.where(np.isfinite(scaled[rows, pick]), scaled[rows, pick], 0.0)
    return chosen


def personalization(lists: np.ndarray, n_movies: int) -> float:
    """1 − mean Jaccard similarity of two users' lists (movie indices, −1 = empty slot)."""
    n_users = len(lists)
    if n_users < 2:
        return 0.0
    rows, cols = np.nonzero(lists >= 0)
    indicator = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, lists[rows, cols])),
                              shape=(n_users, n_movies))
    indicator.data[:] = 1.0  # a movie twice in one list counts once
    overlap = (indicator @ indicator.T).toarray()
    sizes = np.asarray(indicator.sum(axis=1), np.float32).ravel()
    union = sizes[:, None] + sizes[None, :] - overlap
    jaccard = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    np.fill_diagonal(jaccard, 0.0)  # a user's list against itself is not a pair
    return float(1.0 - jaccard.sum(dtype=np.float64) / (n_users * (n_users - 1)))


@dataclass(frozen=True)
class Validation:
    """The validation users' candidates, padded to one width.

    Attributes:
        z: users × pool × parts standardised part scores (padding far below any real one).
        relevant: users × pool, the held-out liked movies.
        ideal: users, the ideal DCG@k.
        movies: users × pool, the model's movie index of each candidate (−1 for padding).
        genres: users × pool × genres, each candidate's genre row.
        target: users × genres, each user's taste distribution.
        n_movies: movies in the model (for personalization).
    """

    z: np.ndarray
    relevant: np.ndarray
    ideal: np.ndarray
    movies: np.ndarray
    genres: np.ndarray
    target: np.ndarray
    n_movies: int

    def take(self, users: np.ndarray) -> Validation:
        return Validation(self.z[users], self.relevant[users], self.ideal[users],
                          self.movies[users], self.genres[users], self.target[users],
                          self.n_movies)


def stack(sets: list[tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]],
          genre_matrix: np.ndarray, k: int) -> Validation:
    """Pad per-user (z, relevant, n relevant, pool movie indices, taste) into arrays."""
    width = max(len(r) for _, r, _, _, _ in sets)
    n_parts = sets[0][0].shape[1]
    z = np.full((len(sets), width, n_parts), -1e6)
    relevant = np.zeros((len(sets), width), bool)
    movies = np.full((len(sets), width), -1, np.int64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.empty(len(sets))
    for i, (scores, rel, n_relevant, pool, _) in enumerate(sets):
        z[i, :len(rel)] = scores
        relevant[i, :len(rel)] = rel
        movies[i, :len(rel)] = pool
        ideal[i] = discounts[:min(n_relevant, k)].sum()
    padded = np.vstack([genre_matrix, np.zeros((1, genre_matrix.shape[1]), genre_matrix.dtype)])
    genres = padded[movies].astype(np.float64)  # −1 → the zero row
    target = np.array([t for *_, t in sets], np.float64)
    return Validation(z, relevant, ideal, movies, genres, target, len(genre_matrix))


@dataclass(frozen=True)
class Figures:
    ndcg: float
    personalization: float
    miscalibration: float


def figures(data: Validation, weights: np.ndarray, lam: float, k: int) -> Figures:
    """NDCG@k, personalization and miscalibration of the blend (and re-ranking) on ``data``."""
    scores = data.z @ weights
    width = min(RERANK_POOL if lam > 0 else k, scores.shape[1])
    top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    if lam > 0:
        rows = np.arange(len(top))[:, None]
        picked = rerank(scores[rows, top], data.genres[rows, top], data.target, k, lam)
        top = np.take_along_axis(top, picked, axis=1)
    top = top[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    dcg = (np.take_along_axis(data.relevant, top, axis=1) * discounts).sum(axis=1)
    lists = np.take_along_axis(data.movies, top, axis=1)
    rows = np.arange(len(top))[:, None]
    q = data.genres[rows, top].sum(axis=1)
    mass = q.sum(axis=1, keepdims=True)
    q = np.divide(q, mass, out=np.zeros_like(q), where=mass > 0)
    return Figures(float((dcg / data.ideal).mean()), personalization(lists, data.n_movies),
                   float(kl_to_list(data.target, q).mean()))


def constrained_ascent(data: Validation, k: int, rounds: int = 3
                       ) -> tuple[np.ndarray, float, list[Figures], Figures]:
    """Weights and λ maximising NDCG within the most personal part's taste bounds (module
    docstring). Returns (weights summing to 1, λ, each part's figures, the blend's)."""
    n_parts = data.z.shape[2]
    alone = [figures(data, np.eye(n_parts)[p], 0.0, k) for p in range(n_parts)]
    anchor = int(np.argmax([f.personalization for f in alone]))
    floor, ceiling = alone[anchor].personalization, alone[anchor].miscalibration
    weights, lam, best = np.eye(n_parts)[anchor], 0.0, alone[anchor]

    def feasible(trial: Figures) -> bool:
        return (trial.personalization >= floor - PERSONALIZATION_SLACK
                and trial.miscalibration <= ceiling + 1e-9)

    for _ in range(rounds):
        improved = False
        for p in range(n_parts):
            for value in _GRID:
                trial_w = weights.copy()
                trial_w[p] = value
                if not trial_w.any() or np.array_equal(trial_w, weights):
                    continue
                trial, trial_lam = figures(data, trial_w, lam, k), lam
                # a step that finds more but leaves the bounds may come back inside them with
                # stronger calibration (which lowers miscalibration and mostly raises
                # personalization): try that before giving the step up
                for stronger in LAMBDAS[LAMBDAS > lam]:
                    if trial.ndcg <= best.ndcg + 1e-9 or feasible(trial):
                        break
                    trial, trial_lam = figures(data, trial_w, float(stronger), k), float(stronger)
                if trial.ndcg > best.ndcg + 1e-9 and feasible(trial):
                    best, weights, lam, improved = trial, trial_w, trial_lam, True
        for value in LAMBDAS:
            if value == lam:
                continue
            trial = figures(data, weights, float(value), k)
            if trial.ndcg > best.ndcg + 1e-9 and feasible(trial):
                best, lam, improved = trial, float(value), True
        if not improved:
            break
    total = weights.sum()
    return (weights / total if total > 0 else weights), lam, alone, best
