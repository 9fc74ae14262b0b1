"""The engine facade: what the command line and the HTTP service call, and nothing below it.

Both interfaces answer the same question the same way because both ask this. The work is
done by the parts it composes, each of which depends only on the ones before it:

- ``Catalog``: lookups of movies and titles, live vote counts, filters, charts;
- ``ModelHub``: the model cache, fitting, stored versions, the default-model marker;
- ``SimilarMovies``, ``PersonalPicks``, ``DescriptionSearch``, ``Newcomers``: the answers;
- ``OnlineUpdater`` (opened on first use), ``Users``: ratings store, fold-ins, retrains, users.

Costly parts (title index, genre bit-sets, vote statistics, models) are built once, when first
used; models are cached in the home folder keyed by the dataset's fingerprint.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from movierec.data.charts import Chart
from movierec.data.dataset import Dataset
from movierec.data.description import DescriptionIndex, Progress
from movierec.data.filters import GenreIndex
from movierec.data.mapped import release_pages
from movierec.data.search import Match
from movierec.data.storage import load_dataset
from movierec.engine.answers import MovieRow, RecommendAnswer, SimilarAnswer
from movierec.engine.catalog import Catalog
from movierec.engine.describe import DescriptionSearch, FindAnswer
from movierec.engine.embedding_maps import EmbeddingMaps
from movierec.engine.export import write_all
from movierec.engine.fitting import model_for_request
from movierec.engine.hub import COLLAB_MODEL, DEFAULT_MODEL, ModelHub, check_model_name
from movierec.engine.hub import rollback as _rollback
from movierec.engine.hub import stored_versions as _stored_versions
from movierec.engine.newcomers import Newcomers, NextFilms
from movierec.engine.online import OnlineUpdater, RateResult, RetrainPolicy, open_online
from movierec.engine.personal import ModelCannotFoldInError, PersonalPicks
from movierec.engine.similar import SimilarMovies
from movierec.engine.users import NewUser, Users, WriteResult
from movierec.engine.versions import ModelVersions, Version
from movierec.errors import MovieRecError
from movierec.home import Home
from movierec.models.base import Recommender
from movierec.plots.embedding_map import DEFAULT_MOVIES, EmbeddingMap

__all__ = [
    "COLLAB_MODEL",
    "DEFAULT_MODEL",
    "Engine",
    "ModelCannotFoldInError",
    "MovieRow",
    "RetrainPolicy",
    "check_model_name",
    "write_all",
]


class Engine:
    """Everything one dataset can answer.

    Attributes: ``catalog`` (lookups, live vote counts, filters, charts), ``hub`` (the fitted
    models), ``descriptions`` (search by description), ``newcomers`` (what to ask them).
    """

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
        self.catalog = Catalog(dataset)
        self.hub = ModelHub(dataset, home)
        self.descriptions = DescriptionSearch(self.catalog, home)
        self._picks = PersonalPicks(self.catalog, self.hub)
        self._similar = SimilarMovies(self.catalog, self.hub, self._picks.explainer)
        self._maps = EmbeddingMaps(self.hub)
        self._online: OnlineUpdater | None = None
        self._users: Users | None = None
        self._live_lock = threading.Lock()
        self.newcomers = Newcomers(self.catalog, self.hub, lambda: self.users)

    @classmethod
    def open(
        cls,
        home: Home,
        dataset_name: str,
        *,
        db: str | None = None,
        policy: RetrainPolicy | None = None,
        mapped: bool = False,
    ) -> Engine:
        """The engine of a stored dataset; ``db``: a store path or PostgreSQL URL (or home's);
        ``mapped``: its ratings memory-mapped, released from memory by :meth:`warm`."""
        data = load_dataset(home, dataset_name, mapped=mapped)
        return cls(data, home, db=db, policy=policy)

    # --- the service's life ---------------------------------------------------------------------

    def warm(self) -> None:
        """Build everything lazy now, once, so no request pays for it or races to build it: the
        store and its model, title index, genre bit-sets, votes, good scores, reasons' raters;
        then drop the pages of memory-mapped ratings, which requests do not read."""
        self.catalog.warm()
        if not self.rated:  # a catalog alone: no store, no rating model, nobody's reasons
            return
        live = self.online()
        self.hub.model(live.model_name if live is not None else self.hub.default_model())
        self._picks.explainer.warm()
        release_pages(self.dataset.ratings)

    @property
    def rated(self) -> bool:
        """Whether the dataset has ratings: a catalog alone is searched, charted, compared."""
        return len(self.dataset.ratings) > 0

    def health(self) -> dict[str, Any]:
        """What is served: dataset, model ratings fold into, pending, retrains, kept answers."""
        live = self.online(create=self.rated)
        return {
            "dataset": self.dataset.name,
            "serving_model": live.model_name if live is not None else None,
            "ratings_pending": live.pending() if live is not None else 0,
            "retraining": live.retraining if live is not None else False,
            "last_retrain_error": live.last_retrain_error if live is not None else None,
            **self._picks.answers.counts(),
        }

    def close(self, *, close_store: bool = True, timeout: float = 30.0) -> None:
        """Wait up to ``timeout`` s for a running retrain; close the store if asked (reopened
        on next use)."""
        live = self._online
        if live is None:
            return
        live.wait(timeout=timeout)
        if close_store:
            live.store.close()
            with self._live_lock:
                self._online = self._users = None

    # --- catalog --------------------------------------------------------------------------------

    @property
    def genres(self) -> GenreIndex:
        return self.catalog.genres

    def genre_names(self) -> list[str]:
        return list(self.catalog.genres.names)

    def movie(self, movie_id: int, score: float | None = None) -> MovieRow:
        return self.catalog.movie(movie_id, score)

    def details(self, movie_id: int) -> dict[str, Any]:
        """Every catalog field of one movie, JSON-ready."""
        return self.catalog.details(movie_id)

    def resolve(self, movie: str | int) -> int:
        """A movie id from an id or a title (fuzzy, year-aware; ambiguous titles list choices)."""
        return self.catalog.resolve(movie)

    def search(self, query: str, k: int = 10) -> list[Match]:
        """Title search: fuzzy, article- and year-aware, best first."""
        return self.catalog.search(query, k)

    def candidates(self, **filters: Any) -> np.ndarray | None:
        """Movie ids passing the filters (:meth:`Catalog.candidates`); None when none is set."""
        return self.catalog.candidates(**filters)

    def top(self, **options: Any) -> Chart:
        """The IMDB weighted-rating chart, filtered, with vote counts as they are now
        (:meth:`Catalog.top`: ``k``, ``genres``, ``years``, ``min_votes``, ``language``,
        ``segment``, ``quantile``, ``votes``)."""
        return self.catalog.top(**options)

    # --- answers --------------------------------------------------------------------------------

    def similar(self, movie: str | int, **options: Any) -> SimilarAnswer:
        """Movies like ``movie`` (:meth:`SimilarMovies.similar`: ``by``, ``features``, ``k``,
        ``same_genre`` and the filters of :meth:`candidates`)."""
        return self._similar.similar(movie, **options)

    def find(
        self,
        query: str,
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        backend: str = "auto",
        progress: Progress | None = None,
    ) -> FindAnswer:
        """Movies whose title, genres, overview, tags and keywords match ``query`` ("a '50s
        comedy"): cosine of sentence embeddings (TF-IDF, with a note, without the model), with
        the same filters as :meth:`similar`; ``progress(fraction)`` follows the first,
        embedding, call."""
        return self.descriptions.find(
            query,
            k=k,
            genres=genres,
            years=years,
            min_rating=min_rating,
            backend=backend,
            progress=progress,
        )

    def description_index(
        self, backend: str = "auto", *, threads: int | None = None, progress: Progress | None = None
    ) -> tuple[DescriptionIndex, bool]:
        """The description index for ``backend``, built (and stored) now if needed, and whether
        this call built it."""
        return self.descriptions.index(backend, threads=threads, progress=progress)

    def cache_answers(self, entries: int) -> None:
        """Keep up to ``entries`` recent recommendation answers, reused until a rating or a
        model swap changes them (:mod:`~movierec.engine.answer_cache`; 0: none)."""
        self._picks.answers.resize(entries)

    @property
    def description_folder(self) -> Path | None:
        """Where the sentence index is stored (None: in memory only)."""
        return self.descriptions.folder

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
        in_request: bool = False,
    ) -> RecommendAnswer:
        """A user's top ``k`` unseen movies, each with a true reason (:meth:`PersonalPicks.
        recommend`); a user with no ratings yet gets the chart.

        Args:
            in_request: asked inside a request: a ``model`` neither in memory nor stored is not
                fitted on a large dataset (:func:`~movierec.engine.fitting.model_for_request`).
        """
        if model is not None and in_request:
            check_model_name(model)  # names `model` before anything is fitted
            model_for_request(self.hub, model)
        return self._picks.recommend(
            user_id,
            self.online(create=False),
            model=model,
            k=k,
            genres=genres,
            years=years,
            min_rating=min_rating,
            reasons=reasons,
        )

    def recommend_for_genres(self, likes: str | list[str], **options: Any) -> RecommendAnswer:
        """Picks for someone who has rated nothing and only names genres they like
        (:meth:`PersonalPicks.recommend_for_genres`: ``k`` and the filters)."""
        return self._picks.recommend_for_genres(likes, **options)

    def embedding_map(
        self,
        model: str,
        n: int = DEFAULT_MOVIES,
        *,
        in_request: bool = False,
        path: str | Path | None = None,
    ) -> EmbeddingMap:
        """The 2-D map of a model's movie vectors for the ``n`` most-rated movies, drawn once
        per model (:meth:`EmbeddingMaps.draw`)."""
        return self._maps.draw(model, n, in_request=in_request, path=path)

    # --- ratings and users ----------------------------------------------------------------------

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
        with self._live_lock:
            if self._online is None:
                self._online = open_online(
                    self.catalog,
                    self.hub,
                    location,
                    create=create,
                    explicit=bool(self.db),
                    policy=self.policy,
                )
        return self._online

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
        live = self.online()
        assert live is not None  # create=True opens the store or raises
        return live.rate(user_id, movie_id, rating, timestamp, background=background)

    @property
    def users(self) -> Users:
        """Users, their ratings and tokens, over the live store (opened on first use)."""
        live = self.online()
        assert live is not None  # create=True opens the store or raises
        with self._live_lock:
            if self._users is None or self._users.live is not live:
                self._users = Users(self.catalog, live)
            return self._users

    def next_films(self, user_id: int | None = None, n: int = 10, **options: Any) -> NextFilms:
        """The next films to ask a newcomer about: :meth:`Newcomers.next_films`."""
        return self.newcomers.next_films(user_id, n, **options)

    def film_groups(self) -> list[dict[str, Any]]:
        return self.newcomers.group_rows()

    def choose_groups(self, user_id: int, group_ids: list[int]) -> WriteResult:
        """Store the chosen groups' films as liked and fold them in."""
        return self.newcomers.choose_groups(user_id, group_ids)

    def user_ratings(self, user_id: int) -> list[dict[str, Any]]:
        """The user's rated movies as catalog rows with their ``rating``, best first."""
        return self.users.ratings(user_id)

    def add_ratings(self, user_id: int, rows: list[tuple[int, float]]) -> WriteResult:
        """Store ``(movie_id, rating)`` rows for a user, all or none, and fold them in."""
        return self.users.rate(user_id, rows)

    def create_user(self, rows: list[tuple[int, float]], **demographics: Any) -> NewUser:
        """A new user with a token and, optionally, first ratings (all or none)."""
        return self.users.create(rows, **demographics)

    def token_matches(self, user_id: int, token: str) -> bool:
        """Whether ``token`` is the user's, from ``create_user`` (compared in constant time)."""
        return self.users.token_matches(user_id, token)

    # --- models ---------------------------------------------------------------------------------

    def model(self, name: str) -> Recommender:
        """A fitted model by name: from memory, the stored current version, or fitted now."""
        return self.hub.model(name)

    def train(
        self, name: str, *, make_default: bool = True, **on: str | None
    ) -> tuple[Recommender, float]:
        """Fit and publish a model; ``on``: ``spark`` (a master) or ``device`` (PyTorch's)."""
        return self.hub.train(name, make_default=make_default, **on)

    def versions(self, name: str) -> ModelVersions | None:
        """The stored versions of a model of this dataset (None without a home folder)."""
        return self.hub.versions(name)

    def has_stored_model(self, name: str) -> bool:
        return self.hub.is_stored(name)

    def default_model(self) -> str:
        """The model named by the last `movierec train`, else :data:`DEFAULT_MODEL`."""
        return self.hub.default_model()

    def serving_model(self) -> str:
        """The model new ratings are folded into."""
        return self.hub.serving_model()

    @staticmethod
    def stored_versions(
        home: Home, dataset_name: str, model: str | None = None
    ) -> dict[str, list[Version]]:
        """Stored versions of one model, or of all, of a dataset, oldest first (no data load)."""
        return _stored_versions(home, dataset_name, model)

    @staticmethod
    def rollback(home: Home, dataset_name: str, model: str, to: int | None = None) -> int:
        """Serve an earlier stored version of a model: ``to``, or the one before the current."""
        return _rollback(home, dataset_name, model, to)
