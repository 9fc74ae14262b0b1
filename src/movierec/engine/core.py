"""The engine: one dataset's catalog, charts, title search and models, composed for callers.

The command line and the HTTP service call this and nothing below it, so both answer the
same question the same way. What is costly to build (the title index, genre bit-sets, vote
statistics, fitted models) is built once, on first use, and models are cached in the home
folder keyed by the dataset's fingerprint.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from pathlib import Path
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
)
from movierec.data.dataset import Dataset
from movierec.data.filters import CatalogFilter, GenreIndex
from movierec.data.storage import load_dataset
from movierec.engine.answers import (
    FUSION_DEPTH,
    MovieRow,
    RecommendAnswer,
    SimilarAnswer,
    fuse_rankings,
)
from movierec.engine.online import OnlineUpdater, RateResult, RetrainPolicy
from movierec.engine.reasons import Explainer
from movierec.engine.versions import ModelVersions
from movierec.errors import (
    DataFormatError,
    InvalidValueError,
    MovieRecError,
    NoMatchError,
    UnknownMovieError,
    UnknownUserError,
)
from movierec.home import Home
from movierec.models.base import Recommender, read_manifest
from movierec.validate import check_k

log = logging.getLogger(__name__)

#: what `recommend` and the service use when no `movierec train` has named a default
DEFAULT_MODEL = "hybrid"
#: "similar movies by collaborative taste" when the default model is not collaborative
COLLAB_MODEL = "als"
#: models whose movie similarities come from who rated what (the others' do not, or mix in
#: content and popularity)
COLLAB_KINDS = ("als", "mf", "knn", "ease", "ials")


class Engine:
    """Everything one dataset can answer."""

    def __init__(
        self,
        dataset: Dataset,
        home: Home | None = None,
        *,
        db: str | None = None,
        policy: RetrainPolicy | None = None,
    ):
        self.dataset = dataset
        self.home = home
        self.db = db
        self.policy = policy
        self._models: dict[str, Recommender] = {}
        self._online: OnlineUpdater | None = None

    @classmethod
    def open(
        cls,
        home: Home,
        dataset_name: str,
        *,
        db: str | None = None,
        policy: RetrainPolicy | None = None,
    ) -> Engine:
        """The engine of a stored dataset; ``db`` is a ratings-store path or PostgreSQL URL
        (default: ``ratings.db`` in the home folder)."""
        return cls(load_dataset(home, dataset_name), home, db=db, policy=policy)

    @property
    def base_fingerprint(self) -> str:
        """Fingerprint of the dataset as imported (the store's additions are not part of it)."""
        return self._fingerprint

    # --- the live side: store, fold-in, retrain -----------------------------------------------

    def online(self, *, create: bool = True) -> OnlineUpdater | None:
        """The store and fold-in side, opened on first use.

        Args:
            create: open (and initialise) the store if needed; False only attaches to a store
                that already holds this dataset, so read-only commands never create one.
        """
        if self._online is not None:
            return self._online
        location = self.db or (self.home.ratings_db if self.home is not None else None)
        if location is None:
            if not create:
                return None
            raise MovieRecError("ratings need a store: give a home folder or --db")
        if not create and not self.db and not Path(location).exists():
            return None
        from movierec.store import open_store

        store = open_store(location, self.dataset.name)
        if not create and not store.is_initialised():
            store.close()
            return None
        self._online = OnlineUpdater(self, store, self.serving_model(), self.policy)
        return self._online

    def serving_model(self) -> str:
        """The model new ratings are folded into: the default one if it can fold in, else
        :data:`DEFAULT_MODEL`."""
        from movierec.models import registry

        name = self.default_model()
        return name if registry.resolve(name)[0].supports_online else DEFAULT_MODEL

    def rate(
        self,
        user_id: int,
        movie: str | int,
        rating: float,
        *,
        timestamp: int | None = None,
        background: bool = True,
    ) -> RateResult:
        """Store a rating durably and fold it in; the next recommendation reflects it."""
        movie_id = self.resolve(movie)
        return self.online().rate(
            user_id,
            movie_id,
            rating,
            timestamp,  # type: ignore[union-attr]
            background=background,
        )

    def count_vote(self, movie_id: int, rating: float, previous: float | None) -> None:
        """Keep the charts' vote counts and means current as a rating arrives (or changes)."""
        votes, means = self._votes
        i = self.row(movie_id)
        if previous is None:
            votes[i] += 1
            means[i] = rating if votes[i] == 1 else means[i] + (rating - means[i]) / votes[i]
        else:
            means[i] += (rating - previous) / max(votes[i], 1)
        self.__dict__.pop("_well_rated", None)

    def swap_model(self, name: str, model: Recommender) -> None:
        """Serve ``model`` under ``name`` from now on (one reference replaced: atomic)."""
        self._models[name] = model

    # --- catalog ------------------------------------------------------------------------------

    @cached_property
    def catalog(self) -> pd.DataFrame:
        return self.dataset.catalog

    @cached_property
    def _row_of(self) -> dict[int, int]:
        """movie id → catalog row; a dict, since requests look up a few ids at a time."""
        return {m: i for i, m in enumerate(self.catalog["movie_id"].tolist())}

    @cached_property
    def _display(self) -> tuple[list[str], list[int | None], list[list[str]]]:
        """Titles, years and genres as Python lists: what every answer shows, cheap to read."""
        years = [None if pd.isna(y) else int(y) for y in self.catalog["year"].tolist()]
        return (
            self.catalog["title"].astype(str).tolist(),
            years,
            [list(g) for g in self.catalog["genres"].tolist()],
        )

    @cached_property
    def _fingerprint(self) -> str:
        return self.dataset.fingerprint()

    @cached_property
    def genres(self) -> GenreIndex:
        return GenreIndex(self.catalog["genres"])

    @cached_property
    def _vote_stats(self) -> tuple[np.ndarray, np.ndarray, str]:
        """Votes and mean rating per catalog row, and where they come from; kept current by
        :meth:`count_vote` as ratings arrive."""
        votes, means, source = movie_votes(self.dataset)
        return votes.copy(), means.copy(), source

    @property
    def _votes(self) -> tuple[np.ndarray, np.ndarray]:
        return self._vote_stats[:2]

    @cached_property
    def _well_rated(self) -> np.ndarray:
        return shrunk_ratings(*self._votes)

    @cached_property
    def titles(self) -> Any:
        from movierec.data.search import TitleIndex, popularity_of

        return TitleIndex.build(self.catalog, popularity_of(self.dataset))

    def row(self, movie_id: int) -> int:
        found = self._row_of.get(int(movie_id)) if isinstance(movie_id, int | np.integer) else None
        if found is None:
            raise UnknownMovieError(movie_id)
        return found

    def movie(self, movie_id: int, score: float | None = None) -> MovieRow:
        i = self.row(movie_id)
        titles, years, genres = self._display
        votes, means = self._votes
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
        record = self.catalog.iloc[i].to_dict()
        clean = {k: (None if _is_missing(v) else v) for k, v in record.items()}
        return {**clean, **self.movie(movie_id).to_json()}

    def resolve(self, movie: str | int) -> int:
        """A movie id from an id or a title (fuzzy, year-aware; ambiguous titles list choices)."""
        if isinstance(movie, int | np.integer):
            self.row(int(movie))
            return int(movie)
        return int(self.titles.resolve(str(movie)))

    def search(self, query: str, k: int = 10) -> list[Any]:
        if not query.strip():
            raise InvalidValueError("q", query, "a title, not only spaces")
        check_k(k)
        return self.titles.search(query, k=k)

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
        votes: VoteSource = "auto",
    ) -> Chart:
        filters = CatalogFilter.parse(
            genres=genres, years=years, min_votes=min_votes, language=language
        )
        live = None
        if votes == "auto" or (votes == "ratings" and len(self.dataset.ratings)):
            live = self._vote_stats  # kept current as ratings arrive
        return weighted_chart(
            self.dataset,
            k=k,
            quantile=quantile,
            filters=filters,
            segment=Segment.parse(segment) if segment else None,
            source=votes,
            genre_index=self.genres,
            stats=live,
        )

    # --- similar movies -----------------------------------------------------------------------

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
        keep = filters.mask(self.catalog, self.genres, self._votes[0])
        if min_rating is not None:
            keep &= np.nan_to_num(self._well_rated, nan=-np.inf) >= min_rating
        return self.catalog["movie_id"].to_numpy()[keep]

    def similar(
        self,
        movie: str | int,
        *,
        by: str = "content",
        features: str = "auto",
        k: int = 10,
        same_genre: bool = False,
        **filters: Any,
    ) -> SimilarAnswer:
        """Movies like ``movie``, optionally only well rated, from some years, of some genres.

        ``same_genre`` keeps movies sharing at least one genre with it (a bit-set AND over the
        catalogue), on top of the other filters.
        """
        check_k(k)
        movie_id = self.resolve(movie)
        candidates = self.candidates(**filters)
        if same_genre:
            overlap = self.catalog["movie_id"].to_numpy()[
                self.genres.overlapping(self.row(movie_id))
            ]
            candidates = overlap if candidates is None else np.intersect1d(candidates, overlap)
        notes: list[str] = []
        voted = self._voted(candidates)
        if by == "hybrid":
            content, _ = self._content_model(movie_id, features, notes)
            lists = [self._collab_model().similar_movies(movie_id, FUSION_DEPTH, candidates=voted)]
            if content is not None:
                lists.insert(
                    0, content.similar_movies(movie_id, FUSION_DEPTH, candidates=candidates)
                )
            ranking = fuse_rankings(lists, k)
            features = "+".join(
                (
                    [content.features]
                    if content is not None  # type: ignore
                    else []
                )
                + [self._collab_name()]
            )
        elif by in ("content", "collab"):
            model = self._content_model(movie_id, features, notes)[0] if by == "content" else None
            if model is None:
                by, model = "collab", self._collab_model()
            features = getattr(model, "features", None) or self._collab_name()
            ranking = model.similar_movies(
                movie_id, k, candidates=candidates if by == "content" else voted
            )
        else:
            raise NoMatchError(f"similar --by must be content, collab or hybrid, got {by!r}")
        rows = [self.movie(m, s) for m, s in ranking]
        if len(rows) < k:
            notes.append(f"only {len(rows)} movies pass the filters")
        return SimilarAnswer(self.movie(movie_id), by, features, rows, notes)

    def _content_model(
        self, movie_id: int, features: str, notes: list[str]
    ) -> tuple[Recommender | None, str]:
        """The content model, or None (with a note) when the movie has no metadata in it."""
        model = self.model("content" if features == "auto" else f"content-{features}")
        if model.has_features(movie_id):  # type: ignore[attr-defined]
            return model, model.features  # type: ignore[attr-defined]
        notes.append(
            f"{self.movie(movie_id).title} has no {model.features} metadata in "  # type: ignore[attr-defined]
            f"{self.dataset.name}; using collaborative neighbours"
        )
        return None, ""

    def _voted(self, candidates: np.ndarray | None) -> np.ndarray:
        """Candidates with enough ratings for their learned factors to mean something.

        A movie rated twice gets item factors that are mostly noise, and cosine on them puts
        it next to anything; collaborative neighbours come from movies with at least
        :data:`COLLAB_MIN_VOTES` ratings.
        """
        ids = self.catalog["movie_id"].to_numpy()[self._votes[0] >= COLLAB_MIN_VOTES]
        return ids if candidates is None else np.intersect1d(candidates, ids)

    def _collab_name(self) -> str:
        """The default model when its neighbours are collaborative, else :data:`COLLAB_MODEL`
        (the hybrid's mix popularity and content in; a content model's are content)."""
        name = self.default_model()
        return name if name.split("-")[0] in COLLAB_KINDS else COLLAB_MODEL

    def _collab_model(self) -> Recommender:
        return self.model(self._collab_name())

    # --- search by description ----------------------------------------------------------------

    def find(
        self,
        query: str,
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        backend: str = "auto",
        progress: Any = None,
    ) -> Any:
        """Movies whose title, genres, overview, tags and keywords match ``query`` ("a '50s
        comedy"): cosine of sentence embeddings (TF-IDF, with a note, without the model), with
        the same filters as :meth:`similar`. Returns a :class:`~movierec.engine.describe.
        FindAnswer`; ``progress(fraction)`` follows the first, embedding, call."""
        from movierec.engine.describe import descriptions_of

        return descriptions_of(self).find(
            query,
            k=k,
            genres=genres,
            years=years,
            min_rating=min_rating,
            backend=backend,
            progress=progress,
        )

    # --- personal recommendations -------------------------------------------------------------

    def recommend(
        self,
        user_id: int,
        *,
        model: str | None = None,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        reasons: bool = True,
    ) -> RecommendAnswer:
        """A user's top ``k`` unseen movies, each with a true reason (:mod:`~movierec.engine.
        reasons`).

        Any model answers for a user known only from the ratings store: their stored ratings
        are folded into it on first use (and again after they change), not only into the
        serving model.

        Raises:
            InvalidValueError: ``model`` is not a model name (the message lists them).
            UnknownUserError: neither the model nor the store knows the user.
            ModelCannotFoldInError: the user is known only from the store, and ``model``
                cannot fold in ratings.
        """
        check_k(k)
        if model is not None:
            check_model_name(model)
        live = self.online(create=False)
        if live is not None:
            live.sync()  # ratings other processes stored since we last looked
        history = self._history(user_id, live)  # a user nobody knows fails before any fit
        name = model or (live.model_name if live is not None else self.default_model())
        recommender = self.model(name)
        if live is not None and live.refresh_user(name, int(user_id)):
            history = self._history(user_id, live)  # what was folded in, for the reasons
        candidates = self.candidates(genres=genres, years=years, min_rating=min_rating)
        try:
            ranking = recommender.recommend(user_id, k, candidates=candidates)
        except UnknownUserError:
            if live is None or not live.store.has_user(int(user_id)):
                raise
            if len(history[0]):  # the store knows their ratings; this model could not take them
                raise ModelCannotFoldInError(name, int(user_id)) from None
            return self._cold_start(int(user_id), k, genres=genres, years=years)
        rows = [self.movie(m, s) for m, s in ranking]
        why = (
            self._reasons(recommender, int(user_id), history, ranking.movie_ids) if reasons else []
        )
        return RecommendAnswer(int(user_id), name, rows, why)

    def recommend_for_genres(
        self,
        likes: str | list[str],
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
    ) -> RecommendAnswer:
        """Picks for someone who has rated nothing and only names genres they like.

        The two-tower model places them among the users who like those genres most: always the
        rating-trained ``twotower`` (stored, or fitted on first use), whatever model serves
        rated users. Its user space follows taste; that of ``twotower-rank`` (the hybrid's
        part) is dominated by popularity, and there genre fans blur into everyone (1 of 5
        picks for "Animation" on ml-100k were animated, against 10 of 10). ``genres``,
        ``years`` and ``min_rating`` filter the answer as in :meth:`recommend`.
        """
        check_k(k)
        names = likes.split(",") if isinstance(likes, str) else list(likes)
        names = [name.strip() for name in names if name.strip()]
        if not names:
            raise InvalidValueError(
                "likes", likes, "name at least one genre you like, e.g. Comedy,Animation"
            )
        tower = self.model("twotower")
        candidates = self.candidates(genres=genres, years=years, min_rating=min_rating)
        ranking = tower.recommend_for_genres(names, k, candidates=candidates)  # type: ignore[attr-defined]
        rows = [self.movie(m, s) for m, s in ranking]
        return RecommendAnswer(
            None, tower.kind, rows, [f"liked by fans of {' and '.join(names)}"] * len(rows)
        )

    def _history(self, user_id: int, live: OnlineUpdater | None) -> tuple[np.ndarray, np.ndarray]:
        """The user's (movie ids, ratings): from the store when one is live, else the dataset.

        Raises:
            UnknownUserError: neither knows the user.
        """
        if live is not None:
            return live.store.user_ratings(int(user_id))
        users, movies, ratings = self._by_user
        start, end = np.searchsorted(users, [user_id, user_id + 1])
        if start == end:
            raise UnknownUserError(user_id)
        return movies[start:end], ratings[start:end]

    @cached_property
    def _by_user(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dataset's ratings sorted by user, so one user's history is a slice."""
        ratings = self.dataset.ratings
        order = np.argsort(ratings["user_id"].to_numpy(), kind="stable")
        return (
            ratings["user_id"].to_numpy()[order],
            ratings["movie_id"].to_numpy()[order],
            ratings["rating"].to_numpy()[order],
        )

    def _cold_start(self, user_id: int, k: int, **filters: Any) -> RecommendAnswer:
        """A user with no ratings yet gets the chart, said so."""
        chart = self.top(k=k, **filters)
        rows = [self.movie(e.movie_id, e.score) for e in chart.entries]
        reasons = [
            f"popular and well rated ({e.votes:,} votes, {e.mean:.1f}★ average)"
            for e in chart.entries
        ]
        return RecommendAnswer(user_id, "charts", rows, reasons)

    def default_model(self) -> str:
        """The model named by the last `movierec train`, else :data:`DEFAULT_MODEL`."""
        if self.home is not None:
            marker = self.home.models / self.dataset.name / "DEFAULT"
            if marker.exists():
                return marker.read_text().strip()
        return DEFAULT_MODEL

    def train(self, name: str, *, make_default: bool = True) -> tuple[Recommender, float]:
        """Fit a model from scratch, publish it as a new version, and (by default) make it the
        one `recommend` uses."""
        model, seconds = self._fit(name)
        if self.home is not None and make_default:
            (self.home.models / self.dataset.name / "DEFAULT").write_text(name + "\n")
        self._models[name] = model
        return model, seconds

    @cached_property
    def _explainer(self) -> Explainer:
        return Explainer(self)

    def _reasons(
        self,
        model: Recommender,
        user_id: int,
        history: tuple[np.ndarray, np.ndarray],
        movie_ids: np.ndarray,
    ) -> list[str]:
        """One true reason per pick; the rules are in :mod:`movierec.engine.reasons`."""
        return self._explainer.explain(model, user_id, history, movie_ids)

    # --- models -------------------------------------------------------------------------------

    def model(self, name: str) -> Recommender:
        """A fitted model by name: from memory, the home folder's current version, or fitted now.

        A stored version is used only if it was trained from this very dataset (its
        ``base_fingerprint``); otherwise the model is refitted and published as a new version.
        """
        if name in self._models:
            return self._models[name]
        model = None
        versions = self.versions(name)
        current = versions.current() if versions is not None else None
        if current is not None:
            try:
                manifest = read_manifest(current)
                if manifest.get("metrics", {}).get("base_fingerprint") == self._fingerprint:
                    from movierec.models import registry

                    model = registry.resolve(name)[0].load(current)
            except DataFormatError as exc:
                log.warning("ignoring the stored %s model: %s", name, exc)
        if model is None:
            model, _ = self._fit(name)
        self._models[name] = model
        return model

    def has_model_in_memory(self, name: str) -> bool:
        """Whether :meth:`model` answers at once (no load, no fit)."""
        return name in self._models

    def versions(self, name: str) -> ModelVersions | None:
        """The stored versions of a model of this dataset (None without a home folder)."""
        if self.home is None:
            return None
        return ModelVersions(self.home.models / self.dataset.name / name)

    def _fit(self, name: str) -> tuple[Recommender, float]:
        """Fit on the dataset and publish the result as the model's next version."""
        from movierec.models import registry

        model_class, config = registry.resolve(name)
        log.info("fitting %s on %s", name, self.dataset.name)
        started = time.perf_counter()
        model = model_class(config).fit(self.dataset)
        seconds = time.perf_counter() - started
        versions = self.versions(name)
        if versions is not None:
            versions.publish(
                model,
                {
                    "base_fingerprint": self._fingerprint,
                    "trained_from": "dataset",
                    "fit_seconds": round(seconds, 3),
                    "ratings": len(self.dataset.ratings),
                },
            )
        return model, seconds


COLLAB_MIN_VOTES = 10  # ratings a movie needs to appear among collaborative neighbours


class ModelCannotFoldInError(InvalidValueError):
    """A user known only from the ratings store, asked of a model that cannot fold them in.

    An :class:`~movierec.errors.InvalidValueError` of the field ``model``: the service answers
    422 naming it.
    """

    def __init__(self, model: str, user_id: int):
        super().__init__("model", model, "a model that folds in ratings (supports_online)")
        self.user_id = user_id
        self.args = (
            f"the {model!r} model cannot fold in ratings, and user {user_id} is known "
            f"only from the ratings store; ask a model that can (e.g. {COLLAB_MODEL})",
        )


def check_model_name(name: str) -> None:
    """Refuse a name the registry does not know, naming the ``model`` field and the choices."""
    from movierec.models import registry

    if name not in registry.MODELS:
        raise InvalidValueError("model", name, "one of " + ", ".join(registry.names()))


def _is_missing(value: Any) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
