"""The catalog view: one dataset's movies as the engine shows them, with live vote counts.

Lookups (ids, titles, details), the genre bit-sets, the filters that narrow a list to some
genres, years or well-rated movies, and the IMDB-style charts. What is costly to build (the
title index, genre bit-sets, vote statistics) is built once, on first use. Vote counts and means
are kept current in place as ratings arrive (:meth:`Catalog.count_vote`, called by the online
updater), so charts and "well rated" filters move with the store without a rebuild.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from movierec.data.charts import (
    Chart,
    Segment,
    VoteSource,
    movie_votes,
    shrunk_ratings,
    weighted_chart,
    weighted_rating,
)
from movierec.data.dataset import Dataset
from movierec.data.filters import CatalogFilter, GenreIndex
from movierec.data.idmap import IdMap
from movierec.data.search import Match, TitleIndex, popularity_of
from movierec.engine.answers import MovieRow, RecommendAnswer
from movierec.errors import InvalidValueError, UnknownMovieError
from movierec.validate import check_k

#: ratings a movie needs to appear among collaborative neighbours
COLLAB_MIN_VOTES = 10
VOTE_SOURCES: tuple[VoteSource, ...] = ("auto", "ratings", "tmdb")


class Catalog:
    """Everything one dataset's catalog answers, without a model."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        #: counts the votes :meth:`count_vote` took, so figures derived from them can be kept
        #: until it moves
        self.vote_version = 0
        self._cells: dict[str, list[list[Any]]] = {}

    @property
    def table(self) -> pd.DataFrame:
        """One row per movie (``movie_id``, ``title``, ``year``, ``genres``, metadata)."""
        return self.dataset.catalog

    @cached_property
    def _row_of(self) -> dict[int, int]:
        """movie id → catalog row; a dict, since requests look up a few ids at a time."""
        return {m: i for i, m in enumerate(self.table["movie_id"].tolist())}

    @cached_property
    def display(self) -> tuple[list[str], list[int | None], list[list[str]]]:
        """Titles, years and genres by catalog row, as Python lists: what every answer shows,
        cheap to read. A movie without a title (a lone ratings file has none) is "movie ID",
        so a list and its reasons still say which film."""
        years = [None if pd.isna(y) else int(y) for y in self.table["year"].tolist()]
        titles = self.table["title"].astype(str).tolist()
        ids = self.table["movie_id"].tolist()
        return (
            [title or f"movie {movie_id}" for title, movie_id in zip(titles, ids, strict=True)],
            years,
            [list(g) for g in self.table["genres"].tolist()],
        )

    @cached_property
    def genres(self) -> GenreIndex:
        return GenreIndex(self.table["genres"])

    @cached_property
    def titles(self) -> TitleIndex:
        return TitleIndex.build(self.table, popularity_of(self.dataset))

    # --- live vote counts ---------------------------------------------------------------------

    @cached_property
    def _vote_stats(self) -> tuple[np.ndarray, np.ndarray, str]:
        """Votes and mean rating per catalog row, and where they come from; kept current by
        :meth:`count_vote` as ratings arrive."""
        votes, means, source = movie_votes(self.dataset)
        return votes.copy(), means.copy(), source

    @property
    def votes(self) -> tuple[np.ndarray, np.ndarray]:
        """Votes and mean rating per catalog row, as they are now."""
        return self._vote_stats[:2]

    @cached_property
    def _well_rated(self) -> np.ndarray:
        return shrunk_ratings(*self.votes)

    def cautious_means(self, movie_ids: np.ndarray) -> np.ndarray:
        """Mean ratings shrunk by the median vote count toward the lower quartile of the films'
        means, -inf for a movie without votes: a film few have rated counts as no better than
        most until its votes say so (toward the overall mean, 5 votes at 2.6★ outranked 82 at
        3.3★). What orders equally similar films."""
        return self._cautious[self.ids.indices(np.asarray(movie_ids))]

    @cached_property
    def _cautious(self) -> np.ndarray:
        votes, means = self.votes
        rated = votes > 0
        if not rated.any():
            return np.full(len(votes), -np.inf)
        prior = float(np.percentile(means[rated], 25))
        shrunk = weighted_rating(votes, np.nan_to_num(means), float(np.median(votes[rated])), prior)
        return np.where(rated, shrunk, -np.inf)

    @cached_property
    def ids(self) -> IdMap:
        """Movie id → catalog row for many ids at once (:meth:`row` answers one)."""
        return IdMap(self.table["movie_id"].to_numpy())

    def count_vote(self, movie_id: int, rating: float, previous: float | None) -> None:
        """Keep the charts' vote counts and means current as a rating arrives (or changes)."""
        votes, means = self.votes
        i = self.row(movie_id)
        if previous is None:
            votes[i] += 1
            means[i] = rating if votes[i] == 1 else means[i] + (rating - means[i]) / votes[i]
        else:
            means[i] += (rating - previous) / max(votes[i], 1)
        self.__dict__.pop("_well_rated", None)
        self.__dict__.pop("_cautious", None)
        self.vote_version += 1

    def warm(self) -> None:
        """Build the title index, genre bit-sets, vote statistics and well-rated scores now."""
        self.titles  # noqa: B018
        self.genres  # noqa: B018
        self.candidates(min_rating=0.0)

    # --- lookups ------------------------------------------------------------------------------

    def cells(self, column: str) -> list[list[Any]]:
        """A list-valued metadata column (cast, keywords, kg_tokens…) as Python lists by
        catalog row, empty where missing or absent; built once, since answers read a few
        cells at a time and a pandas cell lookup costs more than the answer's own work."""
        found = self._cells.get(column)
        if found is None:
            # the dataset keeps these columns as Python lists (data.dataset.LIST_COLUMNS)
            found = (
                self.table[column].tolist()
                if column in self.table
                else [[] for _ in range(len(self.table))]
            )
            self._cells[column] = found
        return found

    def row(self, movie_id: int) -> int:
        """The catalog row of a movie id.

        Raises:
            UnknownMovieError: not an id of this catalog.
        """
        found = self._row_of.get(int(movie_id)) if isinstance(movie_id, int | np.integer) else None
        if found is None:
            raise UnknownMovieError(movie_id)
        return found

    def movie(self, movie_id: int, score: float | None = None) -> MovieRow:
        i = self.row(movie_id)
        titles, years, genres = self.display
        votes, means = self.votes
        mean = float(means[i])
        return MovieRow(
            int(movie_id),
            titles[i],
            years[i],
            list(genres[i]),
            None if score is None else round(float(score), 6),
            int(votes[i]),
            None if mean != mean else round(mean, 4),
        )

    def details(self, movie_id: int) -> dict[str, Any]:
        """Every catalog field of one movie, JSON-ready."""
        i = self.row(movie_id)
        record = self.table.iloc[i].to_dict()
        clean = {k: (None if _is_missing(v) else v) for k, v in record.items()}
        return {**clean, **self.movie(movie_id).to_json()}

    def resolve(self, movie: str | int) -> int:
        """A movie id from an id or a title (fuzzy, year-aware; ambiguous titles list choices)."""
        if isinstance(movie, int | np.integer):
            self.row(int(movie))
            return int(movie)
        return int(self.titles.resolve(str(movie)))

    def search(self, query: str, k: int = 10) -> list[Match]:
        if not query.strip():
            raise InvalidValueError("q", query, "a title, not only spaces")
        check_k(k)
        return self.titles.search(query, k=k)

    # --- filters ------------------------------------------------------------------------------

    def candidates(
        self,
        *,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        min_votes: int = 0,
        language: str | None = None,
    ) -> np.ndarray | None:
        """Movie ids passing the filters; None when no filter is set (everything passes)."""
        filters = CatalogFilter.parse(
            genres=genres, years=years, min_votes=min_votes, language=language
        )
        if not filters.active and min_rating is None:
            return None
        keep = filters.mask(self.table, self.genres, self.votes[0])
        if min_rating is not None:
            keep &= np.nan_to_num(self._well_rated, nan=-np.inf) >= min_rating
        return self.table["movie_id"].to_numpy()[keep]

    def sharing_a_genre(self, movie_id: int) -> np.ndarray:
        """Movie ids sharing at least one genre with ``movie_id`` (a bit-set AND)."""
        return self.table["movie_id"].to_numpy()[self.genres.overlapping(self.row(movie_id))]

    def voted(self, candidates: np.ndarray | None) -> np.ndarray:
        """Candidates with enough ratings for their learned factors to mean something.

        A movie rated twice gets item factors that are mostly noise, and cosine on them puts
        it next to anything; collaborative neighbours come from movies with at least
        :data:`COLLAB_MIN_VOTES` ratings.
        """
        ids = self.table["movie_id"].to_numpy()[self.votes[0] >= COLLAB_MIN_VOTES]
        return ids if candidates is None else np.intersect1d(candidates, ids)

    # --- charts -------------------------------------------------------------------------------

    def top(
        self,
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_votes: int = 0,
        language: str | None = None,
        segment: str | None = None,
        quantile: float = 0.90,
        votes: str = "auto",
    ) -> Chart:
        """The IMDB weighted-rating chart, filtered; ``votes`` says whose votes count (one of
        :data:`VOTE_SOURCES`)."""
        source = _vote_source(votes)
        filters = CatalogFilter.parse(
            genres=genres, years=years, min_votes=min_votes, language=language
        )
        live = None
        if source == "auto" or (source == "ratings" and len(self.dataset.ratings)):
            live = self._vote_stats  # kept current as ratings arrive
        return weighted_chart(
            self.dataset,
            k=k,
            quantile=quantile,
            filters=filters,
            segment=Segment.parse(segment) if segment else None,
            source=source,
            genre_index=self.genres,
            stats=live,
        )

    def chart_picks(self, user_id: int | None, k: int, **filters: Any) -> RecommendAnswer:
        """The chart as picks, said so: what a user with no ratings yet gets."""
        chart = self.top(k=k, **filters)
        rows = [self.movie(e.movie_id, e.score) for e in chart.entries]
        reasons = [
            f"popular and well rated ({e.votes:,} votes, {e.mean:.1f}★ average)"
            for e in chart.entries
        ]
        return RecommendAnswer(user_id, "charts", rows, reasons)


def _vote_source(votes: str) -> VoteSource:
    """``votes`` as one of :data:`VOTE_SOURCES`; anything else is refused, naming the field."""
    for source in VOTE_SOURCES:
        if votes == source:
            return source
    raise InvalidValueError("votes", votes, "auto, ratings or tmdb")


def _is_missing(value: Any) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
