"""Why each pick was made, in words that are true.

"because you rated *Alien* 5★" is said only when *Alien* is among the pick's
:data:`REASON_NEIGHBOURS` nearest movies in the recommending model's own item space. The
liked movie a model finds *least far* from a pick may still be hundreds of places down the
pick's neighbour list (a newcomer's Raiders of the Lost Ark "explaining" Pather Panchali);
naming it would be a false explanation, as it would be for a model that ranks the same for
everyone (:data:`IMPERSONAL_KINDS`). Otherwise the first of these that holds is said:

1. "popular with people who rated X and Y highly": among the dataset's users who rated two
   of the user's liked movies X and Y highly, the share who rated the pick is at least
   :data:`PAIR_LIFT` times its share among all users, with at least
   :data:`PAIR_MIN_RATERS` such users;
2. "well rated in Sci-Fi, which you rate highly": a genre of the pick that at least
   :data:`GENRE_MIN_LIKED` of the user's liked movies have and whose movies they rate highly
   on average, the pick rated at least the catalogue's mean;
3. the pick's votes and mean rating, called "popular" and "well rated" only where they are.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from movierec.data.idmap import IdMap
from movierec.engine._raterkernels import co_rater_counts, column_structure, common_counts
from movierec.engine.catalog import Catalog
from movierec.engine.nearness import Reaches, row_cutoffs, within
from movierec.errors import UnknownMovieError
from movierec.models.base import Recommender

REASON_NEIGHBOURS = 50  # a liked movie explains a pick only from this close in the model's space
LIKED_QUANTILE = 0.75  # a user's liked movies: their top quarter, and rated highly
RELEVANCE_SHARE = 0.8  # "rated highly": at least this share of the scale's top (4 of 5 stars)
PAIR_LIFT = 2.0  # how much likelier the pick is among the co-raters than among everyone
PAIR_MIN_RATERS = 5  # co-raters of X and Y who rated the pick, at least
PAIR_POOL = 30  # liked movies (best rated, then most voted) whose pairs are tried (≤ 32: bits)
#: co-raters counted, about: users are read in a fixed random order until this many liked two
#: pooled films, so the work per request stays bounded at 33.8M ratings while the lifts (ratios
#: of shares) are those of a fair sample
MAX_CO_RATERS = 10_000
CO_RATER_CHUNK = 8192  # users read at a time while fewer than MAX_CO_RATERS are found
GENRE_MIN_LIKED = 2  # liked movies of a genre before the user "rates it highly"
WELL_RATED_MIN_VOTES = 10  # votes before a mean rating says "well rated"
POPULAR_QUANTILE = 0.75  # "popular": at least this quantile of the rated movies' vote counts
#: models whose ranking is the same for everyone: no rated movie is ever why they chose a pick
IMPERSONAL_KINDS = frozenset({"chart"})
MAX_REACHES = 100_000  # picks whose neighbour cut-offs are kept, at most (two floats each)


@dataclass(frozen=True)
class _Columns:
    """Who rated each catalog row: a CSC matrix's structure without its values (all ones),
    which at 33.8M ratings would be 200 MB more per service worker."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def of(
        cls, rows: np.ndarray, columns: np.ndarray, keep: np.ndarray, shape: tuple[int, int]
    ) -> _Columns:
        """The pairs where ``keep`` holds; a repeated (user, movie) counts once, and each
        column's users are sorted, as the kernels need."""
        return cls(*column_structure(rows, columns, keep, *shape))


@dataclass(frozen=True)
class _Raters:
    """The dataset's ratings as users × catalog-row structures, by column."""

    users: IdMap
    rows: np.ndarray  # each user's row (by ``users`` index): a fixed random order, for sampling
    liked: _Columns  # rated highly
    rated: _Columns
    raters: np.ndarray  # users who rated each catalog row


class Explainer:
    """One catalog's reasons; the sparse rating matrices are built on first need, once."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        data = catalog.dataset
        if data.scale is not None:
            top = data.scale.high
        else:
            top = float(data.ratings["rating"].max()) if len(data.ratings) else 5.0
        self.threshold = RELEVANCE_SHARE * top
        self._reaches: Reaches | None = None
        self._kept_cutoffs: tuple[int, tuple[float, float]] | None = None

    def warm(self) -> None:
        """Build the id map and who-rated-what structures now, and load (or compile) the
        co-rater kernels on a tiny case (a service's startup)."""
        raters = self._raters
        none = np.zeros(0, np.int64)
        liked, rated = raters.liked, raters.rated
        co_rater_counts(
            liked.indptr, liked.indices, none, rated.indptr, rated.indices, none, 1, 1, -1, 1
        )
        common_counts(liked.indptr, liked.indices, 0, none, len(raters.users), 1)

    def raters_in_common(
        self, movie_id: int, others: np.ndarray, *, highly: bool = False, most: int | None = None
    ) -> tuple[int, np.ndarray]:
        """How many of the dataset's users rated ``movie_id`` (``highly``: rated it highly),
        and of them how many rated each of the movie ids ``others`` so too; those counted up
        to ``most`` only, when given. A movie outside the catalog has no raters."""
        raters = self._raters
        columns = raters.liked if highly else raters.rated
        rows = self.catalog.ids.indices(np.asarray(others), missing="mask")
        row = int(self.catalog.ids.indices(np.array([movie_id]), missing="mask")[0])
        both = np.zeros(len(rows), np.int64)
        if row < 0:
            return 0, both
        known = rows >= 0
        cap = np.iinfo(np.int64).max if most is None else most
        both[known] = common_counts(
            columns.indptr, columns.indices, row, rows[known], len(raters.users), cap
        )
        return int(columns.indptr[row + 1] - columns.indptr[row]), both

    @cached_property
    def _raters(self) -> _Raters:
        ratings = self.catalog.dataset.ratings
        users = IdMap(np.unique(ratings["user_id"].to_numpy()))
        # MovieLens numbers users by sign-up: a shuffle makes any prefix of rows a fair sample
        order = np.random.default_rng(0).permutation(len(users))
        rows = order[users.indices(ratings["user_id"].to_numpy())]
        columns = self.catalog.ids.indices(ratings["movie_id"].to_numpy(), missing="mask")
        known = columns >= 0
        shape = (len(users), len(self.catalog.ids))
        rated = _Columns.of(rows, columns, known, shape)
        high = known & (ratings["rating"].to_numpy() >= self.threshold)
        liked = _Columns.of(rows, columns, high, shape)
        return _Raters(users, order, liked, rated, np.diff(rated.indptr).astype(np.float64))

    def explain(
        self,
        model: Recommender,
        user_id: int,
        history: tuple[np.ndarray, np.ndarray],
        picks: np.ndarray,
        generation: Hashable = None,
    ) -> list[str]:
        """One reason per pick: the first rule of this module's list that holds for it.

        Args:
            model: the model that ranked the picks; its item space decides "near".
            user_id: whose picks (left out of the co-raters, who must be other people).
            history: the user's (movie ids, ratings).
            picks: the ranked movie ids.
            generation: what the model's state is at (the engine's); the picks' neighbour
                cut-offs are kept while it stays the same (None: none kept).
        """
        picks = np.asarray(picks, dtype=np.int64)
        if not len(picks):
            return []
        rows = self.catalog.ids.indices(picks, missing="mask")
        movies, ratings = (np.asarray(a) for a in history)
        in_catalog = self.catalog.ids.indices(movies, missing="mask")
        movies, ratings, history_rows = (
            movies[in_catalog >= 0],
            ratings[in_catalog >= 0],
            in_catalog[in_catalog >= 0],
        )
        liked = self._liked(ratings)
        reasons = self._neighbours(model, movies[liked], ratings[liked], picks, generation)
        todo = [i for i, r in enumerate(reasons) if r is None and rows[i] >= 0]
        if todo and int(liked.sum()) >= 2:
            for i, text in self._co_raters(
                user_id, history_rows[liked], ratings[liked], rows[todo]
            ).items():
                reasons[todo[i]] = text
        todo = [i for i, r in enumerate(reasons) if r is None and rows[i] >= 0]
        if todo and liked.any():
            for i, text in self._genres(history_rows, ratings, liked, rows[todo]).items():
                reasons[todo[i]] = text
        if any(r is None for r in reasons):
            popular, overall = self._cutoffs()
            reasons = [
                r if r is not None else self._chart(int(row), popular, overall)
                for r, row in zip(reasons, rows.tolist(), strict=True)
            ]
        return [r or "" for r in reasons]

    def _liked(self, ratings: np.ndarray) -> np.ndarray:
        """The user's top quarter of ratings, if also rated highly on the scale."""
        if not len(ratings):
            return np.zeros(0, bool)
        return (ratings >= np.quantile(ratings, LIKED_QUANTILE)) & (ratings >= self.threshold)

    def _neighbours(
        self,
        model: Recommender,
        liked_ids: np.ndarray,
        stars: np.ndarray,
        picks: np.ndarray,
        generation: Hashable = None,
    ) -> list[str | None]:
        """ "because you rated X N★" where X is among the pick's nearest, else None.

        A liked movie's rank counts every movie at least as similar (ties against it), so a
        similarity shared by half the catalogue (a kNN zero) never makes it "near". A pick's
        cut-offs come from its whole similarity row once per generation; after that only its
        similarities to the liked movies are computed.
        """
        out: list[str | None] = [None] * len(picks)
        if model.kind in IMPERSONAL_KINDS:
            return out
        columns = (
            model.movies.indices(liked_ids, missing="mask")
            if len(liked_ids)
            else np.zeros(0, np.int64)
        )
        if not (columns >= 0).any():
            return out
        reaches = self._reaches_of(model, generation)
        cutoffs = [reaches.get(int(p)) if reaches is not None else None for p in picks.tolist()]
        fresh = np.array([i for i, c in enumerate(cutoffs) if c is None], dtype=np.int64)
        kept = np.array([i for i, c in enumerate(cutoffs) if c is not None], dtype=np.int64)
        near = np.full((len(picks), len(liked_ids)), -np.inf)
        try:
            if len(fresh):
                near[fresh] = self._fresh_cutoffs(model, picks[fresh], columns, cutoffs, fresh)
                if reaches is not None and len(reaches) < MAX_REACHES:
                    got = {int(picks[i]): cutoffs[i] for i in fresh.tolist()}
                    reaches.update({pick: c for pick, c in got.items() if c is not None})
            if len(kept):
                known = np.asarray(model.pair_similarity(picks[kept], liked_ids), np.float64)
                near[kept] = np.where(np.isfinite(known), known, -np.inf)
        except UnknownMovieError:  # a pick the model no longer knows: no such reason
            return out
        for i in range(len(picks)):
            close = np.isfinite(near[i]) & within(near[i], *cutoffs[i])  # type: ignore[misc]
            if close.any():
                best = int(np.argmax(np.where(close, near[i], -np.inf)))
                title = self.catalog.movie(int(liked_ids[best])).title
                out[i] = f"because you rated {title} {float(stars[best]):g}★"
        return out

    def _fresh_cutoffs(
        self,
        model: Recommender,
        picks: np.ndarray,
        columns: np.ndarray,
        cutoffs: list[tuple[float, float] | None],
        at: np.ndarray,
    ) -> np.ndarray:
        """The picks' whole similarity rows, once: their cut-offs (written into ``cutoffs`` at
        ``at``) and their similarities to the liked movies (``columns`` of the model)."""
        every = np.array(model.movies.ids)  # a snapshot: a fold-in may append movies meanwhile
        similarity = np.asarray(model.pair_similarity(picks, every), dtype=np.float64)
        similarity[~np.isfinite(similarity)] = -np.inf
        own = model.movies.indices(picks, missing="mask")
        mine = (own >= 0) & (own < similarity.shape[1])
        similarity[np.flatnonzero(mine), own[mine]] = -np.inf  # a pick is not its own neighbour
        for row, i in enumerate(at.tolist()):
            cutoffs[i] = row_cutoffs(similarity[row], REASON_NEIGHBOURS)
        inside = (columns >= 0) & (columns < similarity.shape[1])
        near = np.full((len(picks), len(columns)), -np.inf)
        near[:, inside] = similarity[:, columns[inside]]
        return near

    def _reaches_of(
        self, model: Recommender, generation: Hashable
    ) -> dict[int, tuple[float, float]] | None:
        """The kept cut-offs for this model and generation (None: keep none)."""
        if generation is None:
            return None
        reaches = self._reaches
        if reaches is None or reaches.model is not model or reaches.generation != generation:
            reaches = self._reaches = Reaches(model, generation)
        return reaches.cutoffs

    def _co_raters(
        self, user_id: int, liked_rows: np.ndarray, stars: np.ndarray, pick_rows: np.ndarray
    ) -> dict[int, str]:
        """ "popular with people who rated X and Y highly", by position in ``pick_rows``.

        Over the users who liked two of the pooled movies (about :data:`MAX_CO_RATERS` of
        them, a fair sample beyond it), each a bit mask of the pooled movies they liked: the
        co-raters of every pair are counted once, and again among those who rated each pick
        (:mod:`~movierec.engine._raterkernels`). Only the columns asked for are read, never
        the whole matrix, and of them only the sample's users.
        """
        raters = self._raters
        votes = self.catalog.votes[0][liked_rows]
        pool = liked_rows[np.lexsort((-votes, -stars))][:PAIR_POOL]
        # the user's own ratings are not evidence about others
        skip = int(raters.rows[raters.users.index(user_id)]) if user_id in raters.users else -1
        pairs, also, who, _ = co_rater_counts(
            raters.liked.indptr,
            raters.liked.indices,
            pool.astype(np.int64),
            raters.rated.indptr,
            raters.rated.indices,
            pick_rows.astype(np.int64),
            len(raters.users),
            MAX_CO_RATERS,
            skip,
            CO_RATER_CHUNK,
        )
        upper = np.triu(np.ones_like(pairs, dtype=bool), k=1)
        share = raters.raters[pick_rows] / max(len(raters.users), 1)
        eligible = (who >= PAIR_MIN_RATERS) & (share > 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # picks × pool × pool, at once
            lift = np.where(pairs > 0, also / pairs, 0.0) / share[:, None, None]
        valid = upper & (also >= PAIR_MIN_RATERS) & (lift >= PAIR_LIFT) & eligible[:, None, None]
        best = np.where(valid, lift, -np.inf).reshape(len(pick_rows), -1).argmax(axis=1)
        titles = self.catalog.display[0]
        out: dict[int, str] = {}
        for j in np.flatnonzero(valid.reshape(len(pick_rows), -1).any(axis=1)).tolist():
            x, y = divmod(int(best[j]), len(pool))
            out[j] = (
                f"popular with people who rated {titles[int(pool[x])]} and "
                f"{titles[int(pool[y])]} highly"
            )
        return out

    def _genres(
        self,
        history_rows: np.ndarray,
        ratings: np.ndarray,
        liked: np.ndarray,
        pick_rows: np.ndarray,
    ) -> dict[int, str]:
        """ "well rated in G, which you rate highly", by position in ``pick_rows``."""
        index = self.catalog.genres
        if not index.names:
            return {}
        bits = np.arange(len(index.names), dtype=np.int64)
        rated = ((index.masks[history_rows][:, None] >> bits) & 1).astype(np.float64)
        liked_count = rated[liked].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            genre_mean = (ratings.astype(np.float64) @ rated) / rated.sum(axis=0)
        favourite = (liked_count >= GENRE_MIN_LIKED) & (genre_mean >= self.threshold)
        well = self._well_rated(pick_rows, self._cutoffs()[1])
        out: dict[int, str] = {}
        for j, row in enumerate(pick_rows.tolist()):
            has = ((int(index.masks[row]) >> bits) & 1).astype(bool) & favourite
            if well[j] and has.any():
                genre = index.names[int(np.argmax(np.where(has, liked_count, -1.0)))]
                out[j] = f"well rated in {genre}, which you rate highly"
        return out

    def _cutoffs(self) -> tuple[float, float]:
        """The vote count that makes a movie "popular", and the catalogue's mean rating
        (vote-weighted); kept until a stored rating moves the votes (a quantile over 86k
        movies costs a millisecond)."""
        version = self.catalog.vote_version  # first: a vote counted meanwhile recomputes
        kept = self._kept_cutoffs
        if kept is not None and kept[0] == version:
            return kept[1]
        votes, means = self.catalog.votes
        rated = votes > 0
        if not rated.any():
            cutoffs = (np.inf, np.inf)
        else:
            cutoffs = (
                float(np.quantile(votes[rated], POPULAR_QUANTILE)),
                float(np.average(np.nan_to_num(means[rated]), weights=votes[rated])),
            )
        self._kept_cutoffs = (version, cutoffs)
        return cutoffs

    def _well_rated(self, rows: np.ndarray, overall: float) -> np.ndarray:
        """Enough votes, and a mean rating at least the catalogue's mean."""
        votes, means = self.catalog.votes
        return (votes[rows] >= WELL_RATED_MIN_VOTES) & (np.nan_to_num(means[rows]) >= overall)

    def _chart(self, row: int, popular: float, overall: float) -> str:
        """The pick's votes and mean, with only the words among "popular" and "well rated"
        that hold."""
        if row < 0:
            return ""
        votes, means = self.catalog.votes
        count = int(votes[row])
        if count <= 0 or not np.isfinite(means[row]):
            return "a new pick: no votes yet"
        words = [
            word
            for word, holds in (
                ("popular", count >= popular),
                ("well rated", bool(self._well_rated(np.array([row]), overall)[0])),
            )
            if holds
        ]
        label = " and ".join(words) or "a lesser-known pick"
        return (
            f"{label} ({count:,} vote{'' if count == 1 else 's'}, {float(means[row]):.1f}★ average)"
        )
