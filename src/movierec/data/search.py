"""Title search: turn what a person types ("godfather", "Toy Story (1995)", "amelie") into movies.

Every command that takes a movie accepts a title, so the search must forgive what people do:
drop the article, put it last ("Godfather, The"), skip accents and punctuation, add the year, or
mistype a letter. Matching happens in two stages, both over text normalised once at build time:

* **word tiers**, exact and fast: every catalog title yields a few *aliases* (the whole title, the
  part before a parenthesised alternative title, each alternative, and each of those without a
  leading article), tokenised into integer word ids with a positional inverted index. A query
  equal to an alias scores 100, a prefix of one at a word boundary 95, a phrase inside one 90,
  and all its words somewhere in one 85. Tiers are flat on purpose: among the films that start
  with "star wars", popularity decides, not title length.
* **fuzzy**, for typos: byte trigrams shared with one key per movie (the title without article
  or alternative titles) pick ~100 candidates in well under a millisecond, whatever the catalog
  size; rapidfuzz then scores them (whole ratio, word order, fragment of a longer title), scaled
  to at most 85 so a typo never outranks a real match. The fuzzy stage is skipped when the word
  tiers already fill the result.

A year in the query ("(1995)", or a trailing plausible 4-digit year after other words) does not
filter: a different year costs points, so a wrong year still finds the film. Ties in score are
broken by popularity (number of ratings, or vote count), so "godfather" lists the three films
in the order people watched them.

How titles and queries become words is :mod:`movierec.data.title_text`; the fuzzy stage is
:mod:`movierec.data.fuzzy_titles`; this module holds the word tiers and the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from movierec.data.fuzzy_titles import FUZZY_WEIGHT, FuzzyTitles
from movierec.data.title_text import aliases, normalise, readings, strip_article
from movierec.errors import AmbiguousTitleError, NoMatchError
from movierec.validate import check_k

if TYPE_CHECKING:
    from movierec.data.dataset import Dataset

#: Scores of the word tiers; fuzzy matches score at most FUZZY_WEIGHT * 100.
EXACT, PREFIX, PHRASE, ALL_WORDS = 100.0, 95.0, 90.0, 85.0
#: Points a year in the query costs a movie of another (or unknown) year.
YEAR_OFF_BY_ONE, YEAR_UNKNOWN, YEAR_MISMATCH = 3.0, 5.0, 15.0
#: :meth:`TitleIndex.resolve` accepts its best match only from this score; below, it suggests.
RESOLVE_MIN_SCORE = 65.0
SEARCH_MIN_SCORE = 50.0
CLEAR_LEAD = 3.0  # popularity ratio at which one partial match wins over equal others
MAX_LISTED = 12  # candidates named in an ambiguity message


@dataclass(frozen=True, slots=True)
class Match:
    """One search result. ``score`` is 0–100; ``popularity`` is what broke ties."""

    movie_id: int
    title: str
    year: int | None
    score: float
    popularity: float

    def label(self) -> str:
        """Title and year, as people tell versions apart: "Hamlet (1996)"."""
        return f"{self.title} ({self.year})" if self.year is not None else self.title


def popularity_of(dataset: Dataset) -> np.ndarray:
    """Ties between equally good matches go to the movie more people know: ratings per catalog
    row when the dataset has ratings, else the source's vote count, else zeros."""
    catalog = dataset.catalog
    if len(dataset.ratings):
        counts = dataset.ratings["movie_id"].value_counts()
        return catalog["movie_id"].map(counts).fillna(0).to_numpy(np.float64)
    if "vote_count" in catalog.columns:
        return catalog["vote_count"].astype("Float64").fillna(0).to_numpy(np.float64)
    return np.zeros(len(catalog))


class TitleIndex:
    """Pre-normalised titles with a positional word index; build once, query many times."""

    def __init__(
        self, ids: np.ndarray, titles: list[str], years: np.ndarray, popularity: np.ndarray
    ):
        self.ids, self.titles, self.years, self.popularity = ids, titles, years, popularity
        n = len(ids)
        self._row_of = {int(m): i for i, m in enumerate(ids.tolist())}
        # Rank of each row by popularity, the tie-breaker folded into one sortable integer.
        self._pop_rank = np.empty(n, np.int64)
        self._pop_rank[np.lexsort((-np.arange(n), popularity))] = np.arange(n)
        names = [aliases(t) for t in titles]
        # The fuzzy key: the head title without its article, the shortest telling name.
        self._keys = [strip_article(group[0]) if group else "" for group in names]
        self._index_words(
            [name for group in names for name in group],
            np.array([len(group) for group in names], dtype=np.int64),
        )
        self._fuzzy = FuzzyTitles(self._keys, self._pop_rank)

    def _index_words(self, flat: list[str], per_row: np.ndarray) -> None:
        """Word ids of every alias, and for each word where it occurs (alias, position)."""
        self._alias_row = np.repeat(np.arange(len(per_row), dtype=np.int64), per_row)
        words = [name.split() for name in flat]
        lengths = np.array([len(w) for w in words], dtype=np.int64)
        self._alias_len, self._alias_start = lengths, np.cumsum(lengths) - lengths
        codes, vocabulary = pd.factorize(pd.Series([w for ws in words for w in ws], dtype=object))
        self._word_id = {w: i for i, w in enumerate(vocabulary.tolist())}
        self._tokens = codes.astype(np.int32)
        order = np.argsort(self._tokens, kind="stable")
        self._post_alias = np.repeat(np.arange(len(flat), dtype=np.int32), lengths)[order]
        self._post_pos = (np.arange(len(codes)) - np.repeat(self._alias_start, lengths))[order]
        self._post_ptr = np.r_[0, np.cumsum(np.bincount(self._tokens, minlength=len(vocabulary)))]

    @classmethod
    def build(cls, catalog: pd.DataFrame, popularity: np.ndarray | None = None) -> TitleIndex:
        """Index a catalog (``movie_id``, ``title``, optional ``year``).

        Args:
            catalog: one row per movie, as in :class:`~movierec.data.dataset.Dataset`.
            popularity: one number per catalog row (ratings count or vote count; see
                :func:`popularity_of`) that orders equally good matches; zeros when omitted.
        """
        for column in ("movie_id", "title"):
            if column not in catalog.columns:
                raise ValueError(f"catalog lacks column {column!r}; got {list(catalog.columns)}")
        if popularity is None:
            popularity = np.zeros(len(catalog))
        popularity = np.asarray(popularity, dtype=np.float64)
        if popularity.shape != (len(catalog),):
            raise ValueError(
                f"popularity must hold one number per catalog row ({len(catalog)}), "
                f"got shape {popularity.shape}"
            )
        years = (
            pd.to_numeric(catalog["year"], errors="coerce")
            .astype("Float64")
            .to_numpy(np.float64, na_value=np.nan)
            if "year" in catalog.columns
            else np.full(len(catalog), np.nan)
        )
        titles = catalog["title"].fillna("").astype(str).tolist()
        return cls(catalog["movie_id"].to_numpy(np.int64), titles, years, popularity)

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> TitleIndex:
        """The index a command needs: the dataset's catalog ranked by its own popularity."""
        return cls.build(dataset.catalog, popularity_of(dataset))

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: str, k: int = 10, *, min_score: float = SEARCH_MIN_SCORE
    ) -> list[Match]:
        """The ``k`` best matches, by score then popularity; empty for an empty query.

        Args:
            query: a title as a person types it, optionally with the year.
            k: how many matches at most.
            min_score: weaker matches are left out (0 keeps the closest, however far).
        """
        check_k(k)
        best = np.full(len(self), -np.inf)
        for title, year in readings(query):
            np.maximum(best, self._score_reading(title, year, k), out=best)
        rows = np.flatnonzero(np.isfinite(best))
        # Scores in tenths, so that equal-looking scores are equal and popularity decides.
        tenths = np.round(np.maximum(best[rows], 0.0) * 10).astype(np.int64)
        keep = tenths >= round(min_score * 10)
        rows, tenths = rows[keep], tenths[keep]
        order = tenths * len(self) + self._pop_rank[rows]
        if len(rows) > k:
            keep = np.argpartition(-order, k - 1)[:k]
            rows, tenths, order = rows[keep], tenths[keep], order[keep]
        return [self._match(int(rows[i]), tenths[i] / 10) for i in np.argsort(-order)]

    def resolve(self, query: str) -> int:
        """The movie id a command-line title or id names.

        A query made only of digits is a movie id when the catalog has that id, and a title
        otherwise; to reach a title made of digits that is also an id, add its year ("1984
        (1984)"). Else the best search match wins, when it is good enough and unambiguous:
        several exact matches, or several equally good matches sharing one title ("hamlet": five
        versions), raise :class:`AmbiguousTitleError` listing them with their years, so the
        person adds the year or uses the id. Equally good partial matches with different titles
        ("star trek" starts eight films) are ambiguous too, unless the most popular has
        :data:`CLEAR_LEAD` times the votes of the next.

        Raises:
            NoMatchError: nothing scores :data:`RESOLVE_MIN_SCORE`; the message suggests the
                closest titles.
            AmbiguousTitleError: as above; ``.candidates`` holds ``movie_id``, ``title``,
                ``year`` of each.
        """
        text = query.strip()
        if not normalise(text):
            raise NoMatchError(f"expected a movie title or id, got {query!r}")
        if text.isdigit() and int(text) in self._row_of:
            return int(text)
        matches = self.search(text, k=100, min_score=0.0)
        if not matches or matches[0].score < RESOLVE_MIN_SCORE:
            suggestions = ", ".join(f'"{m.label()}"' for m in matches[:3])
            hint = f"; did you mean {suggestions}?" if suggestions else ""
            if text.isdigit():  # most likely an id, mistyped or from another dataset
                raise NoMatchError(f"no movie has id {text}, and no title matches it{hint}")
            raise NoMatchError(f"no movie title matches {query!r}{hint}")
        top = matches[0]
        tied = [m for m in matches if m.score == top.score]
        if len(tied) > 1 and top.score < EXACT:
            key = self._keys[self._row_of[top.movie_id]]
            same_title = [m for m in tied if self._keys[self._row_of[m.movie_id]] == key]
            if len(same_title) > 1:
                tied = same_title
            elif top.popularity >= CLEAR_LEAD * max(tied[1].popularity, 1):
                tied = [top]
        if len(tied) == 1:
            return top.movie_id
        tied.sort(key=lambda m: (m.year is None, m.year or 0, m.movie_id))
        tied = tied[:MAX_LISTED]
        listed = ", ".join(f"{m.label()} [id {m.movie_id}]" for m in tied)
        raise AmbiguousTitleError(
            f"{query!r} matches {len(tied)} movies: {listed}; add the year or use the id",
            [{"movie_id": m.movie_id, "title": m.title, "year": m.year} for m in tied],
        )

    # --- scoring ---------------------------------------------------------------------------

    def _score_reading(self, key: str, year: int | None, k: int) -> np.ndarray:
        """Best score of every row for one reading of the query (-inf where none)."""
        best = np.full(len(self), -np.inf)
        if not key:
            return best
        rows, scores = self._word_tiers(
            np.array([self._word_id.get(w, -1) for w in key.split()], dtype=np.int64)
        )
        np.maximum.at(best, rows, scores)
        hit = np.flatnonzero(best > -np.inf)
        best[hit] -= self._year_penalty(hit, year)
        if np.count_nonzero(best > FUZZY_WEIGHT * 100) < k:  # a typo could still enter the top
            rows, scores = self._fuzzy.scores(strip_article(key))
            np.maximum.at(best, rows, scores - self._year_penalty(rows, year))
        return best

    def _word_tiers(self, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Aliases holding every query word, scored by how the words sit there."""
        if len(word_ids) == 0 or (word_ids < 0).any():
            return np.empty(0, np.int64), np.empty(0)
        n = len(word_ids)
        sizes = self._post_ptr[word_ids + 1] - self._post_ptr[word_ids]
        rare = int(np.argmin(sizes))  # scan where the rarest word occurs, check its neighbours
        span = slice(self._post_ptr[word_ids[rare]], self._post_ptr[word_ids[rare] + 1])
        alias, start = self._post_alias[span], self._post_pos[span] - rare
        fits = (start >= 0) & (start + n <= self._alias_len[alias])
        alias, start = alias[fits], start[fits]
        at = self._alias_start[alias] + start
        in_order = np.ones(len(alias), dtype=bool)
        for j, word in enumerate(word_ids):
            in_order &= self._tokens[at + j] == word
        alias, start = alias[in_order], start[in_order]
        prefix = start == 0
        tier = np.where(
            prefix & (self._alias_len[alias] == n), EXACT, np.where(prefix, PREFIX, PHRASE)
        )
        rows, scores = [self._alias_row[alias]], [tier]
        if n > 1:  # every word somewhere: read the words of the aliases holding the rarest one
            holders = np.unique(self._post_alias[span])
            lengths = self._alias_len[holders]
            owner = np.repeat(np.arange(len(holders)), lengths)
            flat = np.arange(int(lengths.sum())) + np.repeat(
                self._alias_start[holders] - (np.cumsum(lengths) - lengths), lengths
            )
            tokens = self._tokens[flat]
            has_all = np.ones(len(holders), dtype=bool)
            for word in set(word_ids.tolist()):
                has_all &= np.bincount(owner[tokens == word], minlength=len(holders)) > 0
            rows.append(self._alias_row[holders[has_all]])
            scores.append(np.full(int(has_all.sum()), ALL_WORDS))
        return np.concatenate(rows), np.concatenate(scores)

    def _year_penalty(self, rows: np.ndarray, year: int | None) -> np.ndarray:
        if year is None:
            return np.zeros(len(rows))
        gap = np.abs(self.years[rows] - year)
        return np.select(
            [np.isnan(gap), gap == 0, gap == 1], [YEAR_UNKNOWN, 0.0, YEAR_OFF_BY_ONE], YEAR_MISMATCH
        )

    def _match(self, row: int, score: float) -> Match:
        year = self.years[row]
        return Match(
            int(self.ids[row]),
            self.titles[row],
            None if np.isnan(year) else int(year),
            float(score),
            float(self.popularity[row]),
        )
