"""The model protocol: one contract, stated once, that every recommender implements.

A model takes raw ids at its public methods and keeps dense indices inside (one
:class:`~movierec.data.IdMap` per axis). What a model can do is declared in class attributes
(``predicts_ratings``, ``supports_online``, ``embeds_movies``), never
discovered by catching ``NotImplementedError``. Hyper-parameters are a typed :class:`Config`
that round-trips through JSON into the artifact's ``manifest.json``; the learned state is plain
``.npy`` arrays, loaded without pickle.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
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
    NotFittedError,
    UnknownMovieError,
    UnknownUserError,
)
from movierec.validate import check_k, number_at_least

ARTIFACT_VERSION = 1
_MMAP_BYTES = 16 << 20  # arrays larger than this are memory-mapped on load


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Movies best first, with their scores (why each was chosen is the engine's to say)."""

    movie_ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.movie_ids)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.movie_ids.tolist(), self.scores.tolist(), strict=True)

    def to_json(self) -> list[dict[str, Any]]:
        return [{"movie_id": m, "score": round(s, 6)} for m, s in self]


@dataclasses.dataclass(frozen=True)
class Config:
    """Hyper-parameters; subclasses add typed fields and check them in :meth:`validate`."""

    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, the allowed range, and the value given."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for {cls.__name__}; "
                f"expected {', '.join(sorted(names))}"
            )
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class RatingConfig(Config):
    """Config of models that predict ratings.

    ``shrink_votes`` (m) shrinks each predicted score toward the global mean C by the movie's
    training vote count v, ``v/(v+m)·pred + m/(v+m)·C``, to keep barely-rated movies off the
    top of a ranking; 0 turns it off. ``predict`` is never shrunk.
    """

    shrink_votes: float = 0.0

    def validate(self) -> None:
        super().validate()
        number_at_least(self.shrink_votes, "shrink_votes")


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


class Recommender(ABC):
    """Ranks movies for a user and finds similar movies.

    Subclasses set ``kind`` and ``config_class``, implement :meth:`fit`, :meth:`_user_scores`,
    :meth:`_similar_scores`, :meth:`_state` and :meth:`_set_state`; the public methods here
    check input, exclude seen movies, apply candidates and pick the top k.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type[Config]] = Config
    predicts_ratings: ClassVar[bool] = False
    supports_online: ClassVar[bool] = False
    #: ``warm_start(previous)`` makes the next fit start from a fitted model of the same class
    warm_starts: ClassVar[bool] = False
    #: ``movie_vectors()`` gives one learned vector per movie (factors, tower outputs)
    embeds_movies: ClassVar[bool] = False

    def __init__(self, config: Config | None = None, **overrides: Any):
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
        self.users: IdMap | None = None
        self.movies: IdMap | None = None
        self._fingerprint: str | None = None
        self._fitted_on: Dataset | None = None
        self._seen_indptr: np.ndarray | None = None
        self._seen_indices: np.ndarray | None = None
        # user index → sorted movie indices, for users whose history changed after fit (an
        # online fold-in); it wins over the CSR lists, and save() merges it into them
        self._seen_overlay: dict[int, np.ndarray] = {}

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
        scores = np.asarray(self._user_scores(user), dtype=np.float64)
        excluded = self._seen(user) if exclude_seen else None
        return self._top(scores, k, excluded, candidates)

    def similar_movies(
        self, movie_id: int, k: int = 10, *, candidates: np.ndarray | None = None
    ) -> Ranking:
        """The ``k`` movies most similar to one movie, itself excluded."""
        self._check_fitted()
        check_k(k)
        movie = self._movie_index(movie_id)
        scores = np.asarray(self._similar_scores(movie), dtype=np.float64)
        return self._top(scores, k, np.array([movie]), candidates)

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
        raise NotImplementedError(  # pragma: no cover - a model's own bug, not a user's
            f"{type(self).__name__} declares embeds_movies but does not define movie_vectors"
        )

    def save(self, path: str | Path) -> None:
        """Write ``manifest.json`` and ``.npy`` arrays to a folder, atomically."""
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            seen_indptr, seen_indices = self._seen_arrays()
            arrays = {
                "users": self.users.to_array(),
                "movies": self.movies.to_array(),
                "seen_indptr": seen_indptr,
                "seen_indices": seen_indices,
                **self._state(),
            }
            for name, array in arrays.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            manifest = {
                "format_version": ARTIFACT_VERSION,
                "kind": self.kind,
                "config": self.config.to_json(),
                "dataset_fingerprint": self.fingerprint,
                "arrays": sorted(arrays),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "movierec_version": __version__,
            }
            self._save_parts(staging)
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.rename(target, old)
                os.rename(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Rebuild a saved model; no pickle, large arrays memory-mapped."""
        folder = Path(path)
        manifest = read_manifest(folder)
        if manifest["kind"] != cls.kind:
            raise DataFormatError(
                f"holds a {manifest['kind']!r} model, not {cls.kind!r}", file=folder
            )
        model = cls(cls.config_class.from_json(manifest["config"]))
        arrays = {}
        for name in manifest["arrays"]:
            file = folder / f"{name}.npy"
            big = file.stat().st_size > _MMAP_BYTES
            arrays[name] = np.load(file, allow_pickle=False, mmap_mode="r" if big else None)
        model.users = IdMap(np.asarray(arrays.pop("users")))
        model.movies = IdMap(np.asarray(arrays.pop("movies")))
        model._seen_indptr = np.asarray(arrays.pop("seen_indptr"))
        model._seen_indices = np.asarray(arrays.pop("seen_indices"))
        model.fingerprint = manifest.get("dataset_fingerprint")
        model._set_state(arrays)
        model._load_parts(folder)
        return model

    def _save_parts(self, folder: Path) -> None:  # noqa: B027 - a hook, empty by default
        """A composite model writes the models it is made of into its (staging) folder."""

    def _load_parts(self, folder: Path) -> None:  # noqa: B027 - a hook, empty by default
        """A composite model reads back what :meth:`_save_parts` wrote."""

    # --- helpers for subclasses ---------------------------------------------------------------

    def _index_dataset(self, data: Dataset, *, require_ratings: bool = True) -> np.ndarray:
        """Build the id maps and seen lists from ``data``; returns ratings' CSR (users × movies).

        Args:
            data: the training data.
            require_ratings: refuse a dataset without ratings (every model but content-based
                similarity needs them).
        """
        if not isinstance(data, Dataset):
            raise ValueError(f"fit needs a Dataset, got {type(data).__name__}")
        matrix, self.users, self.movies = data.rating_matrix()
        if require_ratings and matrix.nnz == 0:
            raise ValueError(f"fit needs ratings; dataset {data.name!r} has none")
        self._seen_indptr = matrix.indptr.astype(np.int64)
        self._seen_indices = matrix.indices.astype(np.int32)
        self._seen_overlay = {}
        self._fingerprint, self._fitted_on = None, data
        return matrix

    @property
    def fingerprint(self) -> str | None:
        """Content hash of the training data; computed on first use, not on every fit."""
        if self._fingerprint is None and self._fitted_on is not None:
            self._fingerprint, self._fitted_on = self._fitted_on.fingerprint(), None
        return self._fingerprint

    @fingerprint.setter
    def fingerprint(self, value: str | None) -> None:
        self._fingerprint, self._fitted_on = value, None

    def _seen(self, user: int) -> np.ndarray:
        folded = self._seen_overlay.get(user)
        if folded is not None:
            return folded
        return self._seen_indices[self._seen_indptr[user] : self._seen_indptr[user + 1]]

    def _seen_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The seen lists of every user as one CSR (indptr, indices), the overlay merged in."""
        overlay = dict(self._seen_overlay)  # one C-level copy: a fold-in may add keys meanwhile
        if not overlay:
            return self._seen_indptr, self._seen_indices
        n_base = len(self._seen_indptr) - 1
        n_users = max(n_base, max(overlay) + 1)
        lengths = np.zeros(n_users, np.int64)
        lengths[:n_base] = np.diff(self._seen_indptr)
        folded = np.fromiter(overlay, np.int64, len(overlay))
        lengths[folded] = [len(overlay[u]) for u in folded.tolist()]
        indptr = np.zeros(n_users + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.empty(indptr[-1], np.int32)
        rows = np.repeat(np.arange(n_base), np.diff(self._seen_indptr))
        keep = ~np.isin(rows, folded)
        offsets = np.arange(len(rows)) - self._seen_indptr[rows]
        indices[indptr[rows[keep]] + offsets[keep]] = self._seen_indices[keep]
        for user in folded.tolist():
            indices[indptr[user] : indptr[user + 1]] = overlay[user]
        return indptr, indices

    def _user_index(self, user_id: int) -> int:
        try:
            return self.users.index(user_id)
        except (KeyError, TypeError):
            raise UnknownUserError(user_id) from None

    def _movie_index(self, movie_id: int) -> int:
        try:
            return self.movies.index(movie_id)
        except (KeyError, TypeError):
            raise UnknownMovieError(movie_id) from None

    def _vector_rows(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`movie_vectors` returns for per-movie rows ``vectors`` (index order).

        Copies of the rows whose ids are published: a fold-in appends a movie's arrays
        before its id, and capacity buffers may be longer than the catalogue.
        """
        ids = self.movies.ids
        n = min(len(ids), len(vectors))
        return ids[:n].copy(), np.array(vectors[:n], copy=True)

    def _check_fitted(self) -> None:
        if self.movies is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() or load()")

    def _top(
        self, scores: np.ndarray, k: int, excluded: np.ndarray | None, candidates: np.ndarray | None
    ) -> Ranking:
        # Lengths can differ by the movie an online fold-in is appending right now (its
        # arrays are published before its id): only what both sides already know counts.
        ids = self.movies.ids
        scores = scores[: len(ids)]
        if excluded is not None:
            excluded = excluded[excluded < len(scores)]
        allowed = None
        if candidates is not None:
            allowed = self.movies.indices(np.asarray(candidates), missing="mask")
            allowed = allowed[(allowed >= 0) & (allowed < len(scores))]
        top = top_k(scores, k, excluded=excluded, allowed=allowed)
        return Ranking(ids[top], scores[top])


def top_k(
    scores: np.ndarray,
    k: int,
    *,
    excluded: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` best finite scores, best first; ties broken by lower index."""
    if allowed is not None:
        pool = np.unique(allowed)
        if excluded is not None and len(excluded):
            pool = pool[~np.isin(pool, excluded)]
        values = scores[pool]
    else:
        values = scores.copy()
        if excluded is not None and len(excluded):
            values[excluded] = -np.inf
        pool = None
    finite = np.isfinite(values)
    if not finite.all():
        keep = np.flatnonzero(finite)
        pool = keep if pool is None else pool[keep]
        values = values[keep]
    k = min(k, len(values))
    if k == 0:
        return np.empty(0, np.int64)
    if k < len(values):
        part = np.argpartition(-values, k - 1)[:k]
    else:
        part = np.arange(len(values))
    order = part[np.lexsort((part, -values[part]))]
    return order if pool is None else pool[order]


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a model folder, checked for a format this version can read."""
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise DataFormatError("no manifest.json: not a movierec model folder", file=folder)
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"corrupt manifest: {exc}", file=path) from exc
    if manifest.get("format_version", 0) > ARTIFACT_VERSION:
        raise DataFormatError("saved by a newer movierec; upgrade to load it", file=path)
    return manifest


class RatingPredictor(Recommender):
    """A recommender that estimates the rating a user would give a movie.

    Subclasses implement :meth:`_predict` on dense indices and set ``self.global_mean`` and
    ``self.movie_votes`` in ``fit`` (and keep them in ``_state``) for vote-count shrinkage.
    """

    predicts_ratings: ClassVar[bool] = True
    config_class: ClassVar[type[Config]] = RatingConfig
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

    def recommend(
        self,
        user_id: int,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
    ) -> Ranking:
        self._check_fitted()
        check_k(k)
        user = self._user_index(user_id)
        scores = np.asarray(self._user_scores(user), dtype=np.float64)
        m = self.config.shrink_votes  # type: ignore[attr-defined]
        votes = self.movie_votes
        if m > 0 and votes is not None:
            n = min(len(votes), len(scores))  # a movie being folded in (see _top)
            v = np.asarray(votes[:n], dtype=np.float64)
            scores = weighted_rating(v, scores[:n], m, self.global_mean)
        return self._top(scores, k, self._seen(user) if exclude_seen else None, candidates)

    recommend.__doc__ = Recommender.recommend.__doc__
