"""Synthetic MovieLens-shaped datasets at any scale, with a taste structure models can learn.

Real data past ml-latest-small may not be redistributed, so benchmarks and tests at the 33.8M
scale of MovieLens latest run on data made here instead. What is planted:

* **who rates what**: user activity follows a Lomax (Pareto II) law and movie popularity a
  shifted Zipf law, so a few users and movies hold most ratings, as in MovieLens. Each user
  belongs to one of a few taste *archetypes* and picks movies from a popularity table tilted
  toward that archetype, so what a user rated says something about their taste (ranking
  metrics have a signal beyond popularity);
* **how they rate**: a latent score ``b_u + b_i + p_u·q_i + noise`` (biased low-rank model;
  popular movies lean higher) is mapped through its own quantiles onto the half-star scale, so
  the ratings follow MovieLens latest's distribution (mean ≈ 3.5, mode 4.0) while a low-rank
  model still recovers most of the signal;
* **metadata**: years skewed to recent decades, genres drawn from directions in the factor
  space (so genre and taste agree), timestamps inside each user's active spell and after the
  movie's release.

Everything derives from ``seed``. Kernels draw their random numbers from counter-based hashes
of (seed, user) or (seed, rating index) rather than numba's per-thread generators, so the output
is identical whatever the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.data import _synthetic_kernels as kernels
from movierec.data.dataset import HALF_STARS, Dataset
from movierec.validate import positive_int

DEFAULT_USERS = 330_975
DEFAULT_MOVIES = 86_537
DEFAULT_RATINGS = 33_832_162
DEFAULT_RANK = 16

#: MovieLens genres with roughly the share of ml-latest movies that carry each.
GENRES: dict[str, float] = {
    "Drama": 0.39,
    "Comedy": 0.27,
    "Thriller": 0.13,
    "Romance": 0.12,
    "Action": 0.12,
    "Horror": 0.10,
    "Crime": 0.10,
    "Documentary": 0.09,
    "Adventure": 0.07,
    "Sci-Fi": 0.06,
    "Animation": 0.05,
    "Children": 0.05,
    "Mystery": 0.05,
    "Fantasy": 0.05,
    "War": 0.03,
    "Western": 0.02,
    "Musical": 0.02,
    "Film-Noir": 0.005,
    "IMAX": 0.002,
}
NO_GENRES = "(no genres listed)"
#: Share of each half star 0.5, 1.0, …, 5.0 among MovieLens latest ratings.
RATING_SHARES = np.array([0.016, 0.031, 0.016, 0.066, 0.050, 0.196, 0.126, 0.266, 0.085, 0.148])
FIRST_TIMESTAMP = 789_652_009  # 1995-01-09, MovieLens's first rating
LAST_TIMESTAMP = 1_689_843_000  # 2023-07-20, the end of ml-latest
LAST_YEAR = 2023

# Shape parameters, tuned so the default shape resembles ml-latest (median user ≈ 30 ratings,
# most popular movie ≈ 0.3 % of ratings, a few thousand catalogue movies never rated).
_USER_TAIL = 1.5  # Lomax index of user activity; lower is heavier-tailed
_MAX_USER_SHARE = 0.4  # the most active user rates at most this share of the catalogue
_MOVIE_EXPONENT = 1.9  # Zipf exponent of movie popularity
_MOVIE_HEAD = 0.0015  # popularity rank offset, as a share of the catalogue: flattens the head
_ARCHETYPES = 24
_TILT = 0.8  # how strongly an archetype's taste steers which movies its users pick
_REJECTION_MASS = 0.98  # above this share of a table's mass, pick by exact keys, not rejection
# Standard deviations of the latent score's parts (their sum of squares is about 1).
_USER_BIAS_SD = 0.45
_MOVIE_BIAS_SD = 0.35
_POPULAR_BIAS = 0.25  # popular movies are rated higher, as in MovieLens
_TASTE_SD = 0.55
_NOISE_SD = 0.6


def generate(
    n_users: int = DEFAULT_USERS,
    n_movies: int = DEFAULT_MOVIES,
    n_ratings: int = DEFAULT_RATINGS,
    *,
    seed: int = 0,
    rank: int = DEFAULT_RANK,
    progress: Callable[[float], None] | None = None,
) -> Dataset:
    """A seeded synthetic dataset: exactly ``n_ratings`` unique (user, movie) pairs.

    Every user rates at least once; some catalogue movies may go unrated, as in MovieLens.

    Args:
        n_users: users, ids ``1..n_users``.
        n_movies: catalogue movies, ids ``1..n_movies``.
        n_ratings: ratings; between ``n_users`` and ``n_users * n_movies``.
        seed: the same seed gives the same dataset, whatever the thread count.
        rank: dimension of the planted taste factors.
        progress: called with the fraction done (0..1) between stages.

    Raises:
        ValueError: a shape that cannot be filled.
    """
    _check_shape(n_users, n_movies, n_ratings, rank)
    report = progress or (lambda fraction: None)
    rng = np.random.default_rng(seed)
    counts = user_counts(rng, n_users, n_movies, n_ratings)
    offsets = np.zeros(n_users + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    report(0.02)

    movie_factors = rng.standard_normal((n_movies, rank))
    archetypes = rng.standard_normal((_ARCHETYPES, rank))
    archetype = rng.integers(0, _ARCHETYPES, n_users).astype(np.int32)
    user_factors = archetypes[archetype] + 0.8 * rng.standard_normal((n_users, rank))
    user_factors *= _TASTE_SD / np.sqrt(rank * 1.64)  # makes sd(p_u · q_i) = _TASTE_SD
    log_pop = _log_popularity(rng, n_movies)
    weights = np.exp(log_pop[None, :] + _TILT * (archetypes @ movie_factors.T) / np.sqrt(rank))
    weights /= weights.sum(axis=1, keepdims=True)
    alias_prob, alias_idx = kernels.alias_tables(weights)
    rejection_limit = _rejection_limits(weights)
    report(0.05)

    movie_index = np.empty(n_ratings, np.int32)
    kernels.sample_movies(
        offsets,
        archetype,
        weights,
        alias_prob,
        alias_idx,
        rejection_limit,
        _seed_of(rng),
        movie_index,
    )
    del alias_prob, alias_idx
    report(0.45)

    years = _years(rng, n_movies)
    release = (years.astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[s]")
    start, span = _active_spells(rng, n_users, counts)
    popz = (log_pop - log_pop.mean()) / log_pop.std()
    movie_bias = _POPULAR_BIAS * popz + _MOVIE_BIAS_SD * rng.standard_normal(n_movies)
    user_bias = _USER_BIAS_SD * rng.standard_normal(n_users)
    rating = np.empty(n_ratings, np.float32)
    timestamp = np.empty(n_ratings, np.int64)
    kernels.scores(
        offsets,
        movie_index,
        user_bias,
        movie_bias,
        user_factors,
        movie_factors,
        _NOISE_SD,
        start,
        span,
        release.astype(np.int64),
        LAST_TIMESTAMP,
        _seed_of(rng),
        rating,
        timestamp,
    )
    report(0.8)

    stride = max(1, n_ratings // 2_000_000)
    thresholds = np.quantile(rating[::stride], np.cumsum(RATING_SHARES)[:-1] / RATING_SHARES.sum())
    kernels.to_half_stars(rating, thresholds.astype(np.float32))
    report(0.9)

    movie_id = movie_index
    movie_id += 1  # in place: a second 33.8M-row array would raise the peak by 135 MB
    ratings = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(1, n_users + 1, dtype=np.int32), counts),
            "movie_id": movie_id,
            "rating": rating,
            "timestamp": timestamp,
        },
        copy=False,
    )
    del movie_id, movie_index, rating, timestamp
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(1, n_movies + 1, dtype=np.int32),
            "title": [f"Synthetic movie {i}" for i in range(1, n_movies + 1)],
            "year": years,
            "genres": _genres(rng, movie_factors),
        }
    )
    dataset = Dataset("synthetic", catalog, ratings, scale=HALF_STARS, source_format="synthetic")
    report(1.0)
    return dataset


def write_movielens_csv(dataset: Dataset, folder: str | Path) -> Path:
    """Write ``ratings.csv`` and ``movies.csv`` as GroupLens ships the MovieLens CSV family.

    Lets benchmarks time the ordinary CSV loader on any amount of data. Ratings print as
    ``4.0``/``3.5`` and titles carry the year, ``Synthetic movie 7 (1995)``, as in MovieLens.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings = dataset.ratings
    table = pa.table(
        {
            "userId": ratings["user_id"].to_numpy(),
            "movieId": ratings["movie_id"].to_numpy(),
            "rating": _rating_text(ratings["rating"].to_numpy()),
            "timestamp": ratings["timestamp"].to_numpy(),
        }
    )
    _write_csv(table, folder / "ratings.csv")
    del table
    catalog = dataset.catalog
    years = catalog["year"]
    titles = [
        f"{title} ({year})" if not pd.isna(year) else title
        for title, year in zip(catalog["title"], years, strict=True)
    ]
    genres = ["|".join(g) if len(g) else NO_GENRES for g in catalog["genres"]]
    movies = pa.table(
        {"movieId": catalog["movie_id"].to_numpy(), "title": titles, "genres": genres}
    )
    plain = not any("," in t or '"' in t for t in titles)  # else quote, as CSV requires
    _write_csv(movies, folder / "movies.csv", quoting="none" if plain else "needed")
    return folder


def user_counts(
    rng: np.random.Generator, n_users: int, n_movies: int, n_ratings: int
) -> np.ndarray:
    """Ratings per user: Lomax-shaped, at least 1, at most a cap, summing to ``n_ratings``.

    The Lomax draws are scaled by the factor (found by bisection) that makes the capped counts
    add up; flooring then loses under one rating per user, handed back to the users with the
    largest fractional parts, so the total is exact.
    """
    cap = min(n_movies, max(int(_MAX_USER_SHARE * n_movies), -(-2 * n_ratings // n_users)))
    draws = rng.pareto(_USER_TAIL, n_users) + 1e-6

    def filled(scale: float) -> np.ndarray:
        return np.minimum(1.0 + scale * draws, cap)

    low, high = 0.0, 1.0
    while filled(high).sum() < n_ratings:
        high *= 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if filled(middle).sum() < n_ratings:
            low = middle
        else:
            high = middle
    exact = filled(high)
    counts = np.floor(exact).astype(np.int64)
    missing = n_ratings - int(counts.sum())
    if missing < 0:  # float rounding in the bisection; take back from the largest counts
        counts[np.argsort(-counts, kind="stable")[:-missing]] -= 1
    elif missing > 0:
        fraction = np.where(counts < cap, exact - counts, -1.0)
        counts[np.argsort(-fraction, kind="stable")[:missing]] += 1
    return counts


def _check_shape(n_users: int, n_movies: int, n_ratings: int, rank: int) -> None:
    for name, value in (
        ("n_users", n_users),
        ("n_movies", n_movies),
        ("n_ratings", n_ratings),
        ("rank", rank),
    ):
        positive_int(value, name)
    if n_users > np.iinfo(np.int32).max or n_movies > np.iinfo(np.int32).max - 1:
        raise ValueError("n_users and n_movies must fit 32-bit ids")
    if not n_users <= n_ratings <= n_users * n_movies:
        raise ValueError(
            f"n_ratings must lie between n_users ({n_users}: everyone rates once) and "
            f"n_users * n_movies ({n_users * n_movies}: everyone rates everything), "
            f"got {n_ratings}"
        )


def _seed_of(rng: np.random.Generator) -> np.uint64:
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))


def _log_popularity(rng: np.random.Generator, n_movies: int) -> np.ndarray:
    """Shifted-Zipf log weight of each movie, popularity ranks in random id order."""
    rank = rng.permutation(n_movies) + 1.0
    return -_MOVIE_EXPONENT * np.log(rank + _MOVIE_HEAD * n_movies)


def _rejection_limits(weights: np.ndarray) -> np.ndarray:
    """Per table, the largest pick count for which rejection sampling stays cheap.

    Rejection redraws a movie already picked; once the picks may hold most of a table's mass,
    nearly every draw is a repeat, so larger picks use exact keys instead.
    """
    top = -np.sort(-weights, axis=1)
    return (np.cumsum(top, axis=1) < _REJECTION_MASS).sum(axis=1).astype(np.int64)


def _years(rng: np.random.Generator, n_movies: int) -> np.ndarray:
    """Release years, most in recent decades as in the MovieLens catalogue."""
    age = np.floor(rng.gamma(1.3, 14.0, n_movies)).astype(np.int64)
    return np.clip(LAST_YEAR - age, 1890, LAST_YEAR).astype(np.int16)


def _active_spells(
    rng: np.random.Generator, n_users: int, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """When each user starts rating and for how long (active users stay longer)."""
    start = rng.integers(FIRST_TIMESTAMP, LAST_TIMESTAMP - 86_400, n_users, dtype=np.int64)
    days = rng.lognormal(1.0, 2.0, n_users) * np.sqrt(counts)
    span = np.minimum(days * 86_400, LAST_TIMESTAMP - start).astype(np.int64)
    return start, np.maximum(span, 1)


def _genres(rng: np.random.Generator, movie_factors: np.ndarray) -> list[list[str]]:
    """Genres whose odds rise along a random direction of taste space, one per genre."""
    names = list(GENRES)
    share = np.array(list(GENRES.values()))
    directions = rng.standard_normal((len(names), movie_factors.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    affinity = movie_factors @ directions.T  # about N(0, 1) per movie and genre
    odds = np.log(share / (1 - share)) - 0.5 + 1.2 * affinity
    has = rng.random(odds.shape) < 1.0 / (1.0 + np.exp(-odds))
    none = ~has.any(axis=1) & (rng.random(len(has)) < 0.6)  # most get their likeliest genre
    has[none, np.argmax(odds[none], axis=1)] = True
    codes = has @ (1 << np.arange(len(names), dtype=np.int64))
    combos: dict[int, tuple[str, ...]] = {}
    out = []
    for code in codes.tolist():
        if code not in combos:
            combos[code] = tuple(n for i, n in enumerate(names) if code >> i & 1)
        out.append(list(combos[code]))
    return out


def _rating_text(rating: np.ndarray) -> pa.Array:
    """Half stars as MovieLens prints them ("4.0", "3.5"), via a 10-word dictionary: fast."""
    doubled = np.rint(rating * 2.0)
    if not (np.all(doubled == rating * 2.0) and doubled.min() >= 1 and doubled.max() <= 10):
        return pa.array(rating)
    words = pa.array([f"{0.5 * i:.1f}" for i in range(1, 11)])
    return pa.DictionaryArray.from_arrays(pa.array(doubled.astype(np.int8) - 1), words)


def _write_csv(table: pa.Table, path: Path, quoting: str = "none") -> None:
    """With a bare header as GroupLens writes it (pyarrow would quote the column names)."""
    with open(path, "wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(
            table, handle, pacsv.WriteOptions(include_header=False, quoting_style=quoting)
        )
