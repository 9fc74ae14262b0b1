"""The model protocol: one contract, stated once, that every recommender implements.

A model takes raw ids at its public methods and keeps dense indices inside (one
:class:`~movierec.data.IdMap` per axis). Which protocol a model implements is its class
(:class:`RatingPredictor`, :class:`~movierec.models.online.OnlineRecommender`); what else it
can do or how it behaves is declared in class attributes (``embeds_movies``, ``personal``,
``warm_starts``), never discovered by catching ``NotImplementedError``. Hyper-parameters are a
typed :class:`Config` that round-trips through JSON into the artifact's ``manifest.json``; the
learned state is plain ``.npy`` arrays (:mod:`movierec.models.artifact`), loaded without pickle.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from movierec import __version__
from movierec.data.charts import weighted_rating
from movierec.data.dataset import Dataset
from movierec.data.idmap import IdMap
from movierec.errors import (
    DataFormatError,
    InvalidValueError,
    UnknownMovieError,
    UnknownUserError,
)
from movierec.models.artifact import ARTIFACT_VERSION, read_arrays, write_artifact
from movierec.models.artifact import read_manifest as read_manifest
from movierec.models.config import Config as Config
from movierec.models.config import RatingConfig as RatingConfig
from movierec.models.indexing import Indexed
from movierec.models.ranking import Ranking as Ranking
from movierec.models.ranking import top_k as top_k
from movierec.models.seen import SeenLists
from movierec.validate import check_k


class NoMovieVectorsError(InvalidValueError):
    """A model that learns no vector per movie (``embeds_movies`` is False) was asked for them.

    An :class:`~movierec.errors.InvalidValueError` of the field ``model``, so the service
    answers 422 naming the model.
    """

    def __init__(self, model: str, *, allowed: str = "a model that learns one vector per movie"):
        super().__init__("model", model, allowed)
        self.args = (
            f"the {model!r} model has no movie vectors (embeds_movies is False); "
            f"expected {allowed}",
        )


class Recommender(Indexed, ABC):
    """Ranks movies for a user and finds similar movies.

    Subclasses set ``kind`` and ``config_class``, implement :meth:`fit`, :meth:`_user_scores`,
    :meth:`_similar_scores`, :meth:`_state` and :meth:`_set_state`; the public methods here
    check input, exclude seen movies, apply candidates and pick the top k. What a model is
    indexed by (``users``, ``movies``, the seen lists) is :class:`Indexed`'s.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type[Config]] = Config
    #: ``warm_start(previous)`` makes the next fit start from a fitted model of the same class
    warm_starts: ClassVar[bool] = False
    #: ``movie_vectors()`` gives one learned vector per movie (factors, tower outputs)
    embeds_movies: ClassVar[bool] = False
    #: rankings differ from user to user (False: one list for everyone, minus what each saw)
    personal: ClassVar[bool] = True
    # keeps_ratings (the seen lists keep each rating) is declared by Indexed, which builds them

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.embeds_movies and cls._movie_rows is Recommender._movie_rows:
            raise TypeError(f"{cls.__name__} declares embeds_movies but defines no _movie_rows")

    def __init__(self, config: Config | None = None, **overrides: Any):
        super().__init__()
        if config is None:
            config = self.config_class(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        if not isinstance(config, self.config_class):
            raise ValueError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        self.config = config

    # --- what subclasses implement ------------------------------------------------------------

    @abstractmethod
    def fit(self, data: Dataset) -> Self:
        """Learn from the dataset (not modified); returns self."""

    @abstractmethod
    def _user_scores(self, user: int) -> np.ndarray:
        """Scores of every movie (by index) for the user at this index."""

    @abstractmethod
    def _similar_scores(self, movie: int) -> np.ndarray:
        """Similarity of every movie (by index) to the movie at this index."""

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (id maps and seen lists are saved by the base class)."""

    @abstractmethod
    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_state` returned."""

    # --- the public contract ------------------------------------------------------------------

    def recommend(
        self,
        user_id: int,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
    ) -> Ranking:
        """The top ``k`` movies for a user, best first.

        Args:
            user_id: a raw user id seen in ``fit``; others raise :class:`UnknownUserError`.
            k: how many (fewer when the catalogue or the candidates are smaller).
            exclude_seen: leave out movies the user rated.
            candidates: raw movie ids to choose from (unknown ones are ignored).
        """
        self._check_fitted()
        check_k(k)
        user = self._user_index(user_id)
        excluded = self._seen_lists.get(user) if exclude_seen else None
        return self._recommend(user, k, excluded, candidates)

    def scores(self, user_id: int) -> np.ndarray:
        """What :meth:`recommend` ranks: the user's score of every movie, seen ones included,
        one float64 per movie in the model's dense order (``scores[i]`` is ``movies.ids[i]``'s),
        for callers that rank by rules of their own (a blend of models, a re-ranking).

        Raises:
            UnknownUserError: a user the model does not know.
            NotFittedError: before ``fit`` or ``load``.
        """
        self._check_fitted()
        return self._ranking_scores(self._user_index(user_id))[: len(self.movies)]

    def similarities(self, movie_id: int) -> np.ndarray:
        """What :meth:`similar_movies` ranks: every movie's similarity to this one (itself
        included), one float64 per movie in the model's dense order, as :meth:`scores`.

        Raises:
            UnknownMovieError: a movie the model does not know.
            NotFittedError: before ``fit`` or ``load``.
        """
        self._check_fitted()
        scores = self._similar_scores(self._movie_index(movie_id))
        return np.asarray(scores, dtype=np.float64)[: len(self.movies)]

    def history(self, user_id: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The movies the user has rated, as the model holds them (fold-ins included).

        Returns:
            Their dense indices, ascending (positions in ``movies.ids``: the movies
            ``recommend`` leaves out when ``exclude_seen``), and their ratings where the model
            keeps them (``keeps_ratings``), else ``None``; both copies.

        Raises:
            UnknownUserError: a user the model does not know.
            NotFittedError: before ``fit`` or ``load``.
        """
        self._check_fitted()
        movies, ratings = self._seen_lists.history(self._user_index(user_id))
        return movies.copy(), None if ratings is None else ratings.copy()

    def similar_movies(
        self, movie_id: int, k: int = 10, *, candidates: np.ndarray | None = None
    ) -> Ranking:
        """The ``k`` movies most similar to one movie, itself excluded."""
        self._check_fitted()
        check_k(k)
        return self._similar(self._movie_index(movie_id), k, candidates)

    def pair_similarity(self, movie_ids: np.ndarray, other_ids: np.ndarray) -> np.ndarray:
        """Similarity of each movie to each other movie (rows × columns), as
        :meth:`similar_movies` scores them; NaN where an other movie is unknown to the model.

        One call explains a whole ranking ("because you rated …") instead of one query per pick.
        """
        self._check_fitted()
        rows = np.array(
            [self._movie_index(m) for m in np.asarray(movie_ids).tolist()], dtype=np.int64
        )
        columns = self.movies.indices(np.asarray(other_ids), missing="mask")
        return self._pair_scores(rows, columns)

    def _pair_scores(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        known = columns >= 0
        out = np.full((len(rows), len(columns)), np.nan)
        for r, movie in enumerate(rows.tolist()):
            out[r, known] = np.asarray(self._similar_scores(movie))[columns[known]]
        return out

    def movie_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(movie ids, float vectors n_movies × d), rows in the model's movie order; row ``i``
        is the learned vector of ``ids[i]`` (item factors, a movie tower's output).

        Both arrays are copies, the model's state is never handed out to be written. Ids equal
        the model's movie ids (an online fold-in appending a movie at this very moment may be
        left out until its id is published). Movies without ratings in training keep whatever
        the model gives them (the factor models zero them), so callers that want meaningful
        positions pick rated movies.

        Raises:
            NoMovieVectorsError: the model does not declare ``embeds_movies``.
            NotFittedError: before ``fit`` or ``load``.
        """
        if not self.embeds_movies:
            raise NoMovieVectorsError(self.kind)
        self._check_fitted()
        return self._vector_rows(self._movie_rows())

    def save(self, path: str | Path) -> None:
        """Write ``manifest.json`` and ``.npy`` arrays to a folder, atomically."""
        self._check_fitted()
        seen_indptr, seen_indices, seen_ratings = self._seen_lists.to_csr()
        arrays = {
            "users": self.users.to_array(),
            "movies": self.movies.to_array(),
            "seen_indptr": seen_indptr,
            "seen_indices": seen_indices,
            **({} if seen_ratings is None else {"seen_ratings": seen_ratings}),
            **self._state(),
        }
        manifest = {
            "format_version": ARTIFACT_VERSION,
            "kind": self.kind,
            "config": self.config.to_json(),
            "dataset_fingerprint": self.fingerprint,
            "arrays": sorted(arrays),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "movierec_version": __version__,
        }
        write_artifact(Path(path), manifest, arrays, self._save_parts)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Rebuild a saved model; no pickle, large arrays memory-mapped.

        Seen lists saved without ratings (older artifacts) come without them to
        :meth:`_set_state`, which rebuilds them if the model keeps ratings.
        """
        folder = Path(path)
        manifest = read_manifest(folder)
        if manifest["kind"] != cls.kind:
            raise DataFormatError(
                f"holds a {manifest['kind']!r} model, not {cls.kind!r}", file=folder
            )
        model = cls(cls.config_class.from_json(manifest["config"]))
        arrays = read_arrays(folder, manifest["arrays"])
        ratings = arrays.pop("seen_ratings", None)
        model._set_index(
            IdMap(np.asarray(arrays.pop("users"))),
            IdMap(np.asarray(arrays.pop("movies"))),
            SeenLists(
                np.asarray(arrays.pop("seen_indptr")),
                np.asarray(arrays.pop("seen_indices")),
                None if ratings is None or not cls.keeps_ratings else np.asarray(ratings),
            ),
        )
        model.fingerprint = manifest.get("dataset_fingerprint")
        model._set_state(arrays)
        model._load_parts(folder)
        return model

    def _save_parts(self, folder: Path) -> None:  # noqa: B027 - a hook, empty by default
        """A composite model writes the models it is made of into its (staging) folder."""

    def _load_parts(self, folder: Path) -> None:  # noqa: B027 - a hook, empty by default
        """A composite model reads back what :meth:`_save_parts` wrote."""

    # --- helpers for subclasses ---------------------------------------------------------------

    def _recommend(
        self, user: int, k: int, excluded: np.ndarray | None, candidates: np.ndarray | None
    ) -> Ranking:
        """:meth:`recommend` once its input is checked (``excluded``: the seen movies, or
        None): the top of :meth:`_ranking_scores`; a model with a faster path overrides it."""
        return self._top(self._ranking_scores(user), k, excluded, candidates)

    def _similar(self, movie: int, k: int, candidates: np.ndarray | None) -> Ranking:
        """:meth:`similar_movies` once its input is checked: the top of
        :meth:`_similar_scores`, the movie itself left out; a faster path overrides it."""
        scores = np.asarray(self._similar_scores(movie), dtype=np.float64)
        return self._top(scores, k, np.array([movie]), candidates)

    def _ranking_scores(self, user: int) -> np.ndarray:
        """What :meth:`recommend` ranks for the user at this index (float64, index order):
        :meth:`_user_scores` here; a model that ranks by something else says so."""
        return np.asarray(self._user_scores(user), dtype=np.float64)

    def _movie_rows(self) -> np.ndarray:
        """The learned vector of every movie, in index order: what a model that declares
        ``embeds_movies`` defines (checked when its class is made)."""
        raise NoMovieVectorsError(self.kind)  # pragma: no cover - never reached, see above

    def _vector_rows(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`movie_vectors` returns for per-movie rows ``vectors`` (index order).

        Copies of the rows whose ids are published: a fold-in appends a movie's arrays
        before its id, and capacity buffers may be longer than the catalogue.
        """
        ids = self.movies.ids
        n = min(len(ids), len(vectors))
        return ids[:n].copy(), np.array(vectors[:n], copy=True)

    def _top(
        self, scores: np.ndarray, k: int, excluded: np.ndarray | None, candidates: np.ndarray | None
    ) -> Ranking:
        # Lengths can differ by the movie an online fold-in is appending right now (its
        # arrays are published before its id): only what both sides already know counts.
        ids = self.movies.ids
        scores = scores[: len(ids)]
        if excluded is not None:
            excluded = excluded[excluded < len(scores)]
        allowed = self._candidate_rows(candidates, len(scores))
        top = top_k(scores, k, excluded=excluded, allowed=allowed)
        return Ranking(ids[top], scores[top])

    def _candidate_rows(self, candidates: np.ndarray | None, n: int) -> np.ndarray | None:
        """The dense rows (below ``n``) of the raw ``candidates`` the model knows; None: all."""
        if candidates is None:
            return None
        rows = self.movies.indices(np.asarray(candidates), missing="mask")
        return rows[(rows >= 0) & (rows < n)]


class RatingPredictor(Recommender):
    """A recommender that estimates the rating a user would give a movie.

    Subclasses implement :meth:`_predict` on dense indices and set ``self.global_mean`` and
    ``self.movie_votes`` in ``fit`` (and keep them in ``_state``) for vote-count shrinkage.
    """

    config_class: ClassVar[type[Config]] = RatingConfig
    config: RatingConfig
    global_mean: float = 0.0
    movie_votes: np.ndarray | None = None

    @abstractmethod
    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        """Predicted ratings of (user index, movie index) pairs."""

    def predict(
        self, user_ids: np.ndarray | list[int], movie_ids: np.ndarray | list[int]
    ) -> np.ndarray:
        """Predicted ratings for pairs of raw ids (the same length); named errors for unknowns."""
        self._check_fitted()
        user_ids, movie_ids = np.asarray(user_ids), np.asarray(movie_ids)
        if user_ids.shape != movie_ids.shape or user_ids.ndim != 1:
            raise ValueError(
                f"user_ids and movie_ids must be 1-d and of one length, got "
                f"{user_ids.shape} and {movie_ids.shape}"
            )
        users = self.users.indices(user_ids, missing="mask")
        if (users < 0).any():
            raise UnknownUserError(user_ids[users < 0][0].item())
        movies = self.movies.indices(movie_ids, missing="mask")
        if (movies < 0).any():
            raise UnknownMovieError(movie_ids[movies < 0][0].item())
        return np.asarray(self._predict(users, movies), dtype=np.float64)

    def _ranking_scores(self, user: int) -> np.ndarray:
        """Predicted ratings, shrunk toward the mean by vote count when ``shrink_votes`` is set."""
        scores = super()._ranking_scores(user)
        m = self.config.shrink_votes
        votes = self.movie_votes
        if m > 0 and votes is not None:
            n = min(len(votes), len(scores))  # a movie being folded in (see _top)
            v = np.asarray(votes[:n], dtype=np.float64)
            scores = weighted_rating(v, scores[:n], m, self.global_mean)
        return scores
