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
from movierec.models.online import FoldIn, OnlineRecommender
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


class ChartRecommender(OnlineRecommender):
    """The weighted-rating chart for everyone, seen movies left out."""

    kind = "chart"
    config_class = ChartConfig
    config: ChartConfig
    personal = False
    keeps_ratings = True  # a changed history takes the user's old ratings out of the sums
    fold_in_matches_training = True  # the chart follows from the histories alone

    # learned by fit, restored by load (movie_votes too: float64, per movie index)
    _sums: np.ndarray  # sum of the ratings per movie index
    _genres: np.ndarray  # int64 genre bit-set per movie index

    def __init__(self, config: ChartConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.m = 0.0
        self.C = 0.0

    # --- fitting and state --------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        self._index_dataset(data)
        votes, sums = self._count_votes()
        rated = votes > 0
        self.m = float(np.quantile(votes[rated], self.config.quantile))
        self.C = float(np.mean(sums[rated] / votes[rated]))
        catalog = data.catalog.drop_duplicates("movie_id")  # the IdMap kept first occurrences
        self._genres = (
            GenreIndex(catalog["genres"]).masks
            if "genres" in catalog
            else np.zeros(len(catalog), np.int64)
        )
        return self

    def _count_votes(self) -> tuple[np.ndarray, np.ndarray]:
        """Votes and rating sums per movie, from the seen lists; kept, and returned."""
        n = len(self.movies)
        _, indices, ratings = self._seen_lists.to_csr()
        if ratings is None:  # keeps_ratings: only a damaged artifact lacks them
            raise ValueError("the chart's seen lists keep no ratings")
        self.movie_votes = np.bincount(indices, minlength=n).astype(np.float64)
        self._sums = np.bincount(indices, weights=ratings.astype(np.float64), minlength=n)
        return self.movie_votes, self._sums

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "genre_masks": self._genres,
            "prior": np.array([self.m, self.C]),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self._genres = np.array(arrays["genre_masks"], dtype=np.int64)
        self.m, self.C = (float(x) for x in arrays["prior"])
        self._count_votes()  # votes and sums follow from the saved histories

    # --- scores -------------------------------------------------------------------------------

    def chart_scores(self) -> np.ndarray:
        """The weighted rating of every movie, by index (``C`` for a movie nobody rated)."""
        self._check_fitted()
        votes, sums = self._fitted(self.movie_votes), self._sums
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

    def _move_votes(
        self,
        old: tuple[np.ndarray, np.ndarray | None],
        new: tuple[np.ndarray, np.ndarray],
    ) -> None:
        (old_movies, old_ratings), (new_movies, new_ratings) = old, new
        if old_ratings is None:  # keeps_ratings: the seen lists hold every old rating
            raise ValueError("the chart's seen lists keep no ratings")
        super()._move_votes(old, new)
        if not self._sums.flags.writeable:  # a loaded array may be read-only
            self._sums = self._sums.copy()
        self._sums[old_movies] -= old_ratings
        self._sums[new_movies] += new_ratings

    def _learn_movie(self, row: FoldIn) -> None:
        if not row.new:
            return  # a known movie's votes move with fold_in_user; nothing else is learned
        movie = row.index
        # grown copies, published before the id (readers never see arrays of mixed lengths)
        self._sums = np.append(self._sums[:movie], row.ratings.sum())
        votes = self._fitted(self.movie_votes)
        self.movie_votes = np.append(votes[:movie], float(len(row.idx)))
        self._genres = np.append(self._genres[:movie], np.int64(0))  # no metadata: no genres
