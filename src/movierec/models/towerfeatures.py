"""The inputs of the two-tower model's towers, built the same way at training and fold-in time.

User tower (one row per user, from their ratings and the users table):

* per genre, the user's shrunk, centred mean rating ``Σ(r − r̄_u) / (n_g + 1)`` (0 when the
  user rated nothing of that genre) and the share of their ratings in it;
* ``log1p`` of their rating count and their mean rating;
* demographics where the dataset has them: age, one-hot gender and occupation, and a flag
  saying whether any are known (a user missing from the table gets zeros and flag 0).

Movie tower (one row per catalog movie, rated or not):

* the genres, one-hot; the year (the median where it is missing) and a missing-year flag;
* the mean rating shrunk toward the global mean by 5 pseudo-votes, and ``log1p`` of the count;
* content: the catalog's soup / TF-IDF / knowledge-graph tokens (whichever the catalog has, as
  the content model picks them) reduced to a few dimensions by a truncated SVD;
* its audience: the mean over its raters of ``(r − r̄_u)`` times the rater's per-genre centred
  means, shrunk like the mean — which kinds of fans liked it. A new movie known only from
  ratings is placed by its audience; one known only from metadata by everything else.

Every function takes the ratings as a users × movies CSR, so one user's fold-in runs exactly
the code training ran, on a one-row matrix: a user folded in with their training history gets
the very row training used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.errors import DataFormatError

SHRINK_VOTES = 5.0  # pseudo-votes pulling a movie's mean (and audience) toward neutral
_SKIP_GENRES = {"(no genres listed)", "unknown", ""}


@dataclass(frozen=True)
class Demographics:
    """How the users table turns into tower inputs: age scale and the known categories."""

    genders: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()
    has_age: bool = False

    @property
    def width(self) -> int:
        return (
            1 + int(self.has_age) + len(self.genders) + len(self.occupations)
            if self.genders or self.occupations or self.has_age
            else 0
        )

    @classmethod
    def of(cls, users: pd.DataFrame | None) -> Demographics:
        if users is None or not len(users):
            return cls()

        def categories(column: str) -> tuple[str, ...]:
            if column not in users.columns:
                return ()
            return tuple(sorted(users[column].dropna().astype(str).unique().tolist()))[:64]

        return cls(categories("gender"), categories("occupation"), "age" in users.columns)

    def rows(self, users: pd.DataFrame | None, user_ids: np.ndarray) -> np.ndarray:
        """One row per user id (zeros and a 0 flag for users the table lacks)."""
        out = np.zeros((len(user_ids), self.width), np.float32)
        if not self.width or users is None or not len(users):
            return out
        table = users.drop_duplicates("user_id").set_index("user_id")
        known = np.isin(user_ids, table.index.to_numpy())
        if not known.any():
            return out
        rows = table.loc[user_ids[known]]
        block = [np.ones((len(rows), 1), np.float32)]
        if self.has_age:
            age = pd.to_numeric(rows["age"], errors="coerce").to_numpy(np.float32)
            block.append(np.nan_to_num(age, nan=0.0)[:, None] / 50.0)
        for column, values in (("gender", self.genders), ("occupation", self.occupations)):
            if values:
                text = rows[column].astype(str).to_numpy()
                block.append((text[:, None] == np.array(values)[None, :]).astype(np.float32))
        out[known] = np.hstack(block)
        return out


def genre_vocabulary(catalog: pd.DataFrame) -> list[str]:
    """The genres the catalog uses, sorted (placeholders such as "(no genres listed)" left out)."""
    seen = {g for genres in catalog["genres"] for g in genres}
    return sorted(seen - _SKIP_GENRES)


def genre_matrix(catalog: pd.DataFrame, genres: list[str]) -> sp.csr_matrix:
    """Movies × genres, 1 where the movie has the genre (float32 CSR)."""
    column = {g: j for j, g in enumerate(genres)}
    rows, cols = [], []
    for i, movie_genres in enumerate(catalog["genres"]):
        for g in movie_genres:
            j = column.get(g)
            if j is not None:
                rows.append(i)
                cols.append(j)
    data = np.ones(len(rows), np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(catalog), len(genres)))


def tower_inputs(
    ratings: sp.csr_matrix,
    catalog: pd.DataFrame,
    genres: sp.csr_matrix,
    demographics: np.ndarray,
    global_mean: float,
    content: np.ndarray,
    median_year: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Both towers' inputs from one users × movies CSR: the user rows, then the movie rows whose
    audience is those users (the arguments are :func:`user_features`' and
    :func:`movie_features`')."""
    users = user_features(ratings, genres, global_mean, demographics)
    means, taste = rater_inputs(users, genres.shape[1])
    movies = movie_features(
        ratings, catalog, genres, means, taste, global_mean, content, median_year
    )
    return users, movies


def rater_inputs(user_rows: np.ndarray, n_genres: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean rating, per-genre centred means) of users, read off their user-tower rows: what
    a movie's audience is made of (:func:`rating_stats`)."""
    return user_rows[:, 2 * n_genres + 1], user_rows[:, :n_genres]


def user_features(
    ratings: sp.csr_matrix, genres: sp.csr_matrix, global_mean: float, demographics: np.ndarray
) -> np.ndarray:
    """User tower inputs (see the module docstring), one row per CSR row.

    Args:
        ratings: users × movies ratings; each stored entry is one rating.
        genres: movies × genres one-hot (:func:`genre_matrix`).
        global_mean: the mean of a user with no ratings.
        demographics: users × width rows (:meth:`Demographics.rows`), possibly 0 wide.
    """
    counts = np.diff(ratings.indptr).astype(np.float32)
    sums = np.asarray(ratings.sum(axis=1), dtype=np.float32).ravel()
    means = np.divide(sums, counts, out=np.full_like(sums, global_mean), where=counts > 0)
    taste, shares = genre_taste(ratings, genres, means)
    return np.hstack(
        [taste, shares, np.log1p(counts)[:, None], means[:, None], demographics]
    ).astype(np.float32)


def genre_taste(
    ratings: sp.csr_matrix, genres: sp.csr_matrix, means: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per user and genre: shrunk centred mean rating, and the share of ratings in the genre."""
    pattern = ratings.copy()
    pattern.data = np.ones_like(pattern.data)
    centred = ratings.copy()
    centred.data = (centred.data - np.repeat(means, np.diff(ratings.indptr))).astype(np.float32)
    per_genre = np.asarray((pattern @ genres).todense(), np.float32)
    taste = np.asarray((centred @ genres).todense(), np.float32) / (per_genre + 1.0)
    counts = np.maximum(np.diff(ratings.indptr), 1).astype(np.float32)
    return taste, per_genre / counts[:, None]


def movie_features(
    ratings: sp.csr_matrix,
    catalog: pd.DataFrame,
    genres: sp.csr_matrix,
    user_means: np.ndarray,
    user_taste: np.ndarray,
    global_mean: float,
    content: np.ndarray,
    median_year: float,
) -> np.ndarray:
    """Movie tower inputs (see the module docstring), one row per catalog movie.

    Args:
        ratings: users × movies ratings (the rows of ``user_means``/``user_taste``).
        catalog: the catalog, in the model's movie order (for the year).
        genres: movies × genres one-hot.
        user_means, user_taste: each rater's mean and per-genre centred means.
        global_mean: the prior every movie's mean shrinks toward.
        content: movies × c reduced content features (c may be 0).
        median_year: stands in for a missing year.
    """
    year = pd.to_numeric(catalog["year"], errors="coerce").to_numpy(np.float64)
    missing = np.isnan(year)
    year = np.where(missing, median_year, year)
    by_movie = ratings.T.tocsr()
    return np.hstack(
        [
            genres.toarray(),
            year[:, None],
            missing[:, None],
            rating_stats(by_movie, user_means, user_taste, global_mean),
            content,
        ]
    ).astype(np.float32)


def rating_stats(
    by_movie: sp.csr_matrix, user_means: np.ndarray, user_taste: np.ndarray, global_mean: float
) -> np.ndarray:
    """Shrunk mean, log count and audience of each movie from a movies × users CSR."""
    counts = np.diff(by_movie.indptr).astype(np.float64)
    sums = np.asarray(by_movie.sum(axis=1), np.float64).ravel()
    shrunk = (sums + SHRINK_VOTES * global_mean) / (counts + SHRINK_VOTES)
    centred = by_movie.copy()
    centred.data = (centred.data - user_means[centred.indices]).astype(np.float32)
    audience = np.asarray(centred @ user_taste, np.float64) / (counts + SHRINK_VOTES)[:, None]
    return np.hstack([shrunk[:, None], np.log1p(counts)[:, None], audience])


@dataclass(frozen=True)
class Scaler:
    """Standard scaling fitted on training rows; constant columns pass through centred."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        std = x.std(axis=0)
        return cls(
            x.mean(axis=0).astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32)
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale).astype(np.float32)


def rating_bounds(data: Dataset) -> tuple[float, float]:
    """The rating scale: the dataset's, else the span of its ratings (at least one wide)."""
    if data.scale is not None:
        return float(data.scale.low), float(data.scale.high)
    ratings = data.ratings["rating"].to_numpy()
    return float(ratings.min()), float(max(ratings.max(), ratings.min() + 1))


def content_inputs(catalog: pd.DataFrame, dims: int, seed: int) -> np.ndarray:
    """The catalog's content tokens reduced to ``dims`` SVD dimensions (0 wide without any)."""
    if dims == 0:
        return np.zeros((len(catalog), 0), np.float32)
    from movierec.models.textfeatures import feature_matrix, resolve_features

    try:
        x = feature_matrix(resolve_features("auto", catalog), catalog, idf=True)
    except DataFormatError:
        return np.zeros((len(catalog), 0), np.float32)
    if x.shape[1] <= dims:
        return x.toarray().astype(np.float32)
    from sklearn.decomposition import TruncatedSVD

    return TruncatedSVD(dims, random_state=seed).fit_transform(x).astype(np.float32)


def blank_movies(
    n_genres: int, width: int, median_year: float, global_mean: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(columns, raw row) of a movie without metadata, and of a movie without ratings, in the
    layout of :func:`movie_features`' rows ``width`` wide."""
    n = n_genres
    meta = np.zeros(width, np.float32)
    meta[n], meta[n + 1] = median_year, 1.0
    stats_columns = np.arange(n + 2, 2 * n + 4)
    meta_columns = np.setdiff1d(np.arange(width), stats_columns)
    unrated = np.zeros(width, np.float32)
    unrated[n + 2] = global_mean
    return [(meta_columns, meta), (stats_columns, unrated)]
