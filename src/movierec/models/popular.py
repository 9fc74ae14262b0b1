"""The chart baseline: every user gets the IMDB weighted-rating chart, minus what they have seen.

The classic "demographic filtering" of :mod:`movierec.data.charts`, as a model behind the
protocol, so ``movierec evaluate`` can put it beside the personal models — on cold-start users
above all, where "the best-rated films" is what a site shows someone it knows nothing about.

Each movie scores ``WR = v/(v+m)·R + m/(v+m)·C`` (:func:`~movierec.data.charts.weighted_rating`)
from its training votes ``v`` and mean ``R``; ``m`` is the vote count at ``quantile`` among
rated movies and ``C`` the mean of their means, both fixed at ``fit`` (the prior; a retrain
recomputes them). Unlike the printed chart, which shows only movies with at least ``m`` votes,
the model scores every movie, so a ranking can cover the catalogue: a movie with few votes sits
near ``C``, and one nobody rated scores exactly ``C``.

It is not personal: the list is the same for everyone (``recommend`` only leaves out the user's
seen movies). It is online: ``fold_in_user`` replaces a user's ratings, moving each movie's
votes and sum, so the chart follows new ratings; ``fold_in_movie`` appends a new movie.

``similar_movies`` is a genre match broken by the chart: ``J + 0.001·chart`` with ``J`` the
Jaccard overlap of the two movies' genre sets and ``chart`` the weighted rating scaled to
[0, 1] over the catalogue. Distinct Jaccard values of genre sets differ by more than 0.002, so
the genre overlap decides and the chart only orders movies that overlap equally — "the
best-rated films of the same genres". A movie without genres gets the plain chart.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self

import numpy as np

from movierec.data.charts import weighted_rating
from movierec.data.dataset import Dataset
from movierec.data.filters import GenreIndex
from movierec.models.base import Config
from movierec.models.history import RatedHistory
from movierec.validate import number_in

_GENRE_WEIGHT, _CHART_WEIGHT = 1.0, 1e-3


@dataclasses.dataclass(frozen=True)
class ChartConfig(Config):
    """Hyper-parameters of the chart.

    Attributes:
        quantile: ``m`` is the vote count at this quantile among rated movies (0.90 as IMDB's
            top chart; 0 makes ``m`` the smallest count).
    """

    quantile: float = 0.90

    def validate(self) -> None:
        super().validate()
        number_in(self.quantile, "quantile", 0, 1, high_open=True)


class ChartRecommender(RatedHistory):
    """The weighted-rating chart for everyone, seen movies left out."""

    kind = "chart"
    config_class = ChartConfig
    config: ChartConfig

    def __init__(self, config: ChartConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.movie_votes: np.ndarray | None = None  # per movie index, float64
        self._sums: np.ndarray | None = None  # sum of the ratings per movie index
        self._genres: np.ndarray | None = None  # int64 genre bit-set per movie index
        self.m = 0.0
        self.C = 0.0

    # --- fitting and state --------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data)
        self._start_history(matrix.data)
        self._count_votes()
        rated = self.movie_votes > 0
        self.m = float(np.quantile(self.movie_votes[rated], self.config.quantile))
        self.C = float(np.mean(self._sums[rated] / self.movie_votes[rated]))
        catalog = data.catalog.drop_duplicates("movie_id")  # the IdMap kept first occurrences
        self._genres = (
            GenreIndex(catalog["genres"]).masks
            if "genres" in catalog
            else np.zeros(len(catalog), np.int64)
        )
        return self

    def _count_votes(self) -> None:
        n = len(self.movies)
        indptr, indices = self._seen_arrays()
        ratings = self._seen_ratings_array()
        self.movie_votes = np.bincount(indices, minlength=n).astype(np.float64)
        self._sums = np.bincount(indices, weights=ratings.astype(np.float64), minlength=n)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "seen_ratings": self._seen_ratings_array(),
            "genre_masks": self._genres,
            "prior": np.array([self.m, self.C]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self._start_history(np.asarray(arrays["seen_ratings"]))
        self._genres = np.array(arrays["genre_masks"], dtype=np.int64)
        self.m, self.C = (float(x) for x in arrays["prior"])
        self._count_votes()  # votes and sums follow from the saved histories

    # --- scores -------------------------------------------------------------------------------

    def chart_scores(self) -> np.ndarray:
        """The weighted rating of every movie, by index (``C`` for a movie nobody rated)."""
        self._check_fitted()
        votes, sums = self.movie_votes, self._sums
        n = min(len(votes), len(sums))  # a movie being folded in (see Recommender._top)
        votes, sums = votes[:n], sums[:n]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(votes > 0, sums / votes, self.C)
        return weighted_rating(votes, means, self.m, self.C)

    def _user_scores(self, user: int) -> np.ndarray:
        return self.chart_scores()

    def _similar_scores(self, movie: int) -> np.ndarray:
        chart = self.chart_scores()
        genres = self._genres[: len(chart)]
        span = chart.max() - chart.min()
        scaled = (chart - chart.min()) / span if span > 0 else np.zeros_like(chart)
        union = np.bitwise_count(genres | genres[movie]).astype(np.float64)
        shared = np.bitwise_count(genres & genres[movie]).astype(np.float64)
        jaccard = np.divide(shared, union, out=np.zeros_like(union), where=union > 0)
        return _GENRE_WEIGHT * jaccard + _CHART_WEIGHT * scaled

    # --- online -------------------------------------------------------------------------------

    def fold_in_user(
        self, user_id: int, movie_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        user_id, user, movies, values = self._user_input(user_id, movie_ids, ratings)
        if user is None:
            user, (old_movies, old_values) = len(self.users), (movies[:0], values[:0])
        else:
            old_movies, old_values = self._history(user)
        votes, sums = self._writable()
        votes[old_movies] -= 1  # both index arrays are free of repeats
        sums[old_movies] -= old_values
        votes[movies] += 1
        sums[movies] += values
        self._set_history(user, movies, values)
        if user == len(self.users):
            self.users.add(np.array([user_id], np.int64))  # last: the history is in place

    def fold_in_movie(
        self, movie_id: int, user_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        movie_id, movie, users, values = self._movie_input(movie_id, user_ids, ratings)
        if movie is not None:
            return  # a known movie's votes move with fold_in_user; nothing else is learned
        movie = len(self.movies)
        # grown copies, published before the id (readers never see arrays of mixed lengths)
        self._sums = np.append(self._sums[:movie], values.sum())
        self.movie_votes = np.append(self.movie_votes[:movie], float(len(users)))
        self._genres = np.append(self._genres[:movie], np.int64(0))  # no metadata: no genres
        self.movies.add(np.array([movie_id], np.int64))
        self._add_to_raters(movie, users, values)

    def _writable(self) -> tuple[np.ndarray, np.ndarray]:
        """Votes and sums that may be written in place (loaded arrays may be read-only)."""
        if not self.movie_votes.flags.writeable:
            self.movie_votes = self.movie_votes.copy()
        if not self._sums.flags.writeable:
            self._sums = self._sums.copy()
        return self.movie_votes, self._sums
