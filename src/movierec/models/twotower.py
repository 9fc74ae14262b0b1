"""Two-tower neural recommender: a user tower and a movie tower meeting in a dot product.

Each tower is an MLP (``256-128-32`` by default) over hand-made inputs
(:mod:`movierec.models.towerfeatures`) — a user's per-genre taste, activity and demographics;
a movie's genres, year, rating statistics, reduced content tokens and audience — standard-scaled
with statistics of the training rows only. The two outputs are L2-normalised, so their dot
product lies in [-1, 1]; training fits it by MSE to the ratings mapped onto [-1, 1] (Adam,
minibatches, early stopping on a random validation share of the training ratings, the best
epoch kept). Training runs in PyTorch on the CPU, seeded and deterministic; the learned
weights are then plain arrays, so scoring, fold-in, saving and loading need numpy only.

Because a tower sees features rather than ids it serves whoever arrives: a user is folded in by
running the user tower on features of their history (milliseconds, no retrain), a user who
only names genres they like gets a synthetic taste (:meth:`TwoTower.recommend_for_genres`),
and a catalog movie nobody rated is placed by its metadata. Similar movies are the nearest
movie-tower outputs by cosine, measured in the metric of the users' outputs
(``v_i·Σ v_j`` with Σ the covariance of the user vectors, normalised): two movies are similar
when the same users would like them more than the average user does, whatever the
directions no user's taste varies along.

Features use the training ratings themselves, so a user's own rating takes part in the taste
that predicts it; the validation ratings are kept out of the features during training so that
early stopping measures the served situation (a history predicting new ratings).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.data.title_text import loose_key
from movierec.errors import NoMatchError
from movierec.models import towerfeatures as tf
from movierec.models.base import Ranking, RatingConfig, RatingPredictor
from movierec.models.factors import unit_rows
from movierec.models.foldin import reserve
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.validate import (
    check_k,
    int_at_least,
    number_at_least,
    number_in,
    positive_int,
    require,
)

logger = logging.getLogger(__name__)

FAN_CONTRAST = 2.0  # see TwoTower.recommend_for_genres


#: where PyTorch may train the towers
DEVICE = re.compile(r"cpu|cuda(:\d+)?")


@dataclasses.dataclass(frozen=True)
class TwoTowerConfig(RatingConfig):
    """Hyper-parameters of :class:`TwoTower`.

    ``layers`` are the widths of each tower, the last one the embedding size; ``validation``
    is the share of training ratings early stopping watches (0: train all ``epochs``);
    ``content_dims`` the SVD dimensions of the content tokens (0: none); ``feature_dropout``
    the chance that a training example shows the movie tower the movie without its metadata,
    and (independently) without its ratings, as DropoutNet (Volkovs et al., NeurIPS 2017) does,
    so that a movie known only from ratings, or only from metadata, is still placed well;
    ``negatives`` unrated movies drawn uniformly per rating in each epoch, fitted to the bottom
    of the scale with loss weight ``negative_weight`` (0: ratings only, the classic recipe that
    predicts ratings well but ranks poorly, since it never sees what users skip);
    ``threads`` PyTorch's intra-op threads while training (0: PyTorch's default); ``device``
    where PyTorch trains (``cpu``, ``cuda`` or ``cuda:N``; the trained model serves in numpy
    either way, so serving never needs the device or PyTorch).
    """

    layers: str = "256-128-32"
    epochs: int = 40
    batch_size: int = 1024
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    patience: int = 3
    validation: float = 0.1
    content_dims: int = 32
    feature_dropout: float = 0.2
    negatives: int = 0
    negative_weight: float = 0.5
    threads: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        super().validate()
        widths = self.layers.split("-") if isinstance(self.layers, str) else []
        require(
            bool(widths) and all(w.isdigit() and int(w) > 0 for w in widths),
            "layers",
            "positive widths joined by '-', e.g. '256-128-32'",
            self.layers,
        )
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        number_at_least(self.learning_rate, "learning_rate", strict=True)
        number_at_least(self.weight_decay, "weight_decay")
        positive_int(self.patience, "patience")
        number_in(self.validation, "validation", 0, 0.5, high_open=True)
        int_at_least(self.content_dims, "content_dims", 0)
        number_in(self.feature_dropout, "feature_dropout", 0, 1, high_open=True)
        int_at_least(self.negatives, "negatives", 0)
        number_at_least(self.negative_weight, "negative_weight")
        int_at_least(self.threads, "threads", 0)
        require(
            isinstance(self.device, str) and DEVICE.fullmatch(self.device) is not None,
            "device",
            "cpu, cuda or cuda:N",
            self.device,
        )

    @property
    def widths(self) -> list[int]:
        return [int(w) for w in self.layers.split("-")]


class TwoTower(RatingPredictor, OnlineRecommender):
    """User and movie towers trained on ratings; serves cold users and unrated movies."""

    kind = "twotower"
    config_class = TwoTowerConfig
    config: TwoTowerConfig
    embeds_movies: ClassVar[bool] = True
    places_new_movies: ClassVar[bool] = True
    # learned by fit, restored by load (movie_votes too: int64, per movie index)
    user_vectors: np.ndarray  # users × d, unit rows
    item_vectors: np.ndarray  # movies × d, unit rows

    def __init__(self, config: TwoTowerConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.genres: list[str] = []
        self.epoch_log = np.zeros((0, 3))  # per epoch: train MSE, validation MSE, seconds
        self._a: dict[str, np.ndarray] = {}  # everything else the towers need, by name
        self._buffers: dict[str, np.ndarray] = {}  # growth buffers of fold-ins

    # --- training -----------------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        try:
            from movierec.models import _towertrain as training
        except ImportError as exc:  # pragma: no cover - torch is in the `neural` extra
            raise ImportError(
                "the two-tower model needs PyTorch: pip install 'movierec[neural]' (torch==2.13.0)"
            ) from exc
        matrix = self._index_dataset(data)
        catalog = data.catalog.drop_duplicates("movie_id").reset_index(drop=True)
        low, high = tf.rating_bounds(data)
        self.global_mean = float(matrix.data.mean())
        self.genres = tf.genre_vocabulary(catalog)
        genres = tf.genre_matrix(catalog, self.genres)
        spec = tf.Demographics.of(data.users)
        user_ids = self.users.ids
        demo = spec.rows(data.users, user_ids)
        years = pd.to_numeric(catalog["year"], errors="coerce")
        median_year = float(years.median()) if years.notna().any() else 2000.0
        content = tf.content_inputs(catalog, self.config.content_dims, self.config.seed)
        a = {
            "genre_matrix_indptr": genres.indptr,
            "genre_matrix_indices": genres.indices,
            "content": content,
            "bounds": np.array([low, high, median_year, self.global_mean]),
            "demo_spec": np.array(
                [",".join(spec.genders), ",".join(spec.occupations), str(int(spec.has_age))]
            ),
        }
        if data.users is not None and spec.width:
            a["demo_ids"] = data.users["user_id"].to_numpy(np.int64)
            a["demo_rows"] = spec.rows(data.users, a["demo_ids"])
        fit_part, held = training.holdout(matrix, self.config.validation, self.config.seed)

        def features(part: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
            return tf.tower_inputs(
                part, catalog, genres, demo, self.global_mean, content, median_year
            )

        user_x, movie_x = features(fit_part)
        user_scaler, movie_scaler = tf.Scaler.fit(user_x), tf.Scaler.fit(movie_x)
        a.update(
            user_mean=user_scaler.mean,
            user_scale=user_scaler.scale,
            movie_mean=movie_scaler.mean,
            movie_scale=movie_scaler.scale,
        )
        blanks = tf.blank_movies(len(self.genres), movie_x.shape[1], median_year, self.global_mean)
        blanks = [(columns, movie_scaler(raw)[columns]) for columns, raw in blanks]
        weights, self.epoch_log = training.train_on_ratings(
            user_scaler(user_x),
            movie_scaler(movie_x),
            fit_part,
            held,
            (low, high),
            blanks,
            self.config,
        )
        a.update(weights)
        user_x, movie_x = features(matrix) if held.nnz else (user_x, movie_x)
        a["user_raw"], a["movie_raw"] = user_x, movie_x
        self._a, self._buffers = a, {}
        self.movie_votes = np.diff(matrix.tocsc().indptr).astype(np.int64)
        self.user_vectors = self._tower("user", user_x)
        self.item_vectors = self._tower("movie", movie_x)
        spread = np.atleast_2d(np.cov(self.user_vectors.T.astype(np.float64), bias=True))
        a["metric"] = np.linalg.cholesky(spread + 1e-6 * np.eye(len(spread))).astype(np.float32)
        a["similar_vectors"] = unit_rows(self.item_vectors @ a["metric"])
        logger.info(
            "two-tower: %d epochs, last validation MSE %.4f",
            len(self.epoch_log),
            self.epoch_log[-1, 1],
        )
        return self

    # --- scoring ------------------------------------------------------------------------------

    def _tower(self, side: str, raw: np.ndarray) -> np.ndarray:
        """The tower's unit outputs for raw feature rows (numpy, float32)."""
        a = self._a
        x = (raw - a[f"{side}_mean"]) / a[f"{side}_scale"]
        n_layers = len(self.config.widths)
        for i in range(n_layers):
            x = x @ a[f"{side}_w{i}"] + a[f"{side}_b{i}"]
            if i < n_layers - 1:
                np.maximum(x, 0, out=x)
        return unit_rows(x.astype(np.float32))

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        low, high = self._a["bounds"][:2]
        dots = np.einsum("ij,ij->i", self.user_vectors[users], self.item_vectors[movies])
        return np.clip((low + high) / 2 + (high - low) / 2 * dots.astype(np.float64), low, high)

    def _user_scores(self, user: int) -> np.ndarray:
        return self.item_vectors @ self.user_vectors[user]

    def _similar_scores(self, movie: int) -> np.ndarray:
        similar = self._a["similar_vectors"]
        return similar @ similar[movie]

    def _pair_scores(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        similar = self._a["similar_vectors"]
        out = np.full((len(rows), len(columns)), np.nan)
        known = columns >= 0
        out[:, known] = similar[rows] @ similar[columns[known]].T
        return out

    def _movie_rows(self) -> np.ndarray:
        # the movie-tower outputs: unit vectors, handed out as float64
        return np.asarray(self.item_vectors, dtype=np.float64)

    def recommend_for_genres(
        self, genres: list[str], k: int = 10, *, candidates: np.ndarray | None = None
    ) -> Ranking:
        """The top ``k`` movies for someone who has rated nothing and only names genres they like.

        They are placed among the users who like those genres most: the fans are the
        training users (the top 5%, at least 10) whose taste, standardised per genre, is
        highest over the named genres, and the newcomer's vector is the mean user's plus
        twice what sets the fans' mean apart from it (once gives the fans' mean, which still
        leans to the films everyone likes: on ml-100k, 3 of 10 picks for "Horror" were horror,
        4 for "Animation", 3 for "Western"; twice gives 9, 10 and 7). A real history is better,
        and a fold-in of the first ratings replaces this.

        Raises:
            NoMatchError: a genre the catalog does not use (the message lists them).
        """
        self._check_fitted()
        check_k(k)
        wanted = [g.strip() for g in genres if g and g.strip()]
        lookup = {loose_key(g): j for j, g in enumerate(self.genres)}
        unknown = [g for g in wanted if loose_key(g) not in lookup]
        if not wanted or unknown:
            raise NoMatchError(
                f"unknown genre(s) {', '.join(unknown) or '(none given)'}; "
                f"known: {', '.join(self.genres)}"
            )
        n_trained = len(self._a["user_raw"])
        taste = np.asarray(self._a["user_raw"][:n_trained, : len(self.genres)], np.float64)
        columns = sorted({lookup[loose_key(g)] for g in wanted})
        spread = taste[:, columns].std(axis=0)
        fans = (taste[:, columns] / np.where(spread > 0, spread, 1.0)).mean(axis=1)
        n_fans = max(10, n_trained // 20)
        top = np.argsort(-fans, kind="stable")[:n_fans]
        everyone = np.asarray(self.user_vectors[:n_trained], np.float64).mean(axis=0)
        fan = np.asarray(self.user_vectors[top], np.float64).mean(axis=0)
        vector = unit_rows(everyone + FAN_CONTRAST * (fan - everyone))
        return self._top(self.item_vectors @ vector, k, None, candidates)

    # --- online -------------------------------------------------------------------------------

    def _learn_user(self, row: FoldIn) -> None:
        history = sp.csr_matrix(
            (row.ratings.astype(np.float32), row.idx, [0, len(row.idx)]),
            shape=(1, len(self.item_vectors)),
        )
        raw = tf.user_features(
            history,
            self._genre_matrix(len(self.item_vectors)),
            self.global_mean,
            self._demographics_of(row.raw_id),
        )
        vector = self._tower("user", raw)
        self._write("user_raw", row.index, raw[0])
        self.user_vectors = self._write("user_vectors", row.index, vector[0], self.user_vectors)

    def _writable_votes(self) -> np.ndarray:
        votes = self._fitted(self.movie_votes)
        votes = self.movie_votes = self._grown("movie_votes", votes, len(votes))[: len(votes)]
        return votes

    def _learn_movie(self, row: FoldIn) -> None:
        movie = row.index
        raw = self._blank_movie() if row.new else self._a["movie_raw"][movie].copy()
        user_raw = self._a["user_raw"]
        raters = sp.csr_matrix(
            (row.ratings.astype(np.float32), row.idx, [0, len(row.idx)]),
            shape=(1, len(user_raw)),
        )
        n = len(self.genres)
        stats = tf.rating_stats(raters, *tf.rater_inputs(user_raw, n), self.global_mean)
        start = n + 2  # after the genres, year and missing-year flag
        raw[start : start + stats.shape[1]] = stats[0]
        self._write("movie_raw", movie, raw)
        vector = self._tower("movie", raw[None, :])[0]
        self._write("similar_vectors", movie, unit_rows(vector @ self._a["metric"]))
        self.item_vectors = self._write("item_vectors", movie, vector, self.item_vectors)
        if row.new:  # a known movie's seen lists and votes move with fold_in_user
            votes = self._grown("movie_votes", self._fitted(self.movie_votes), movie + 1)
            votes[movie] = len(row.idx)
            self.movie_votes = votes[: movie + 1]

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        n_users, n_movies = len(self.users), len(self.movies)
        arrays = dict(self._a)
        arrays["user_raw"] = self._a["user_raw"][:n_users]
        arrays["movie_raw"] = self._a["movie_raw"][:n_movies]
        arrays["similar_vectors"] = self._a["similar_vectors"][:n_movies]
        return {
            **arrays,
            "genres": np.array(self.genres, dtype=str),
            "user_vectors": self.user_vectors[:n_users],
            "item_vectors": self.item_vectors[:n_movies],
            "movie_votes": self._fitted(self.movie_votes)[:n_movies],
            "epoch_log": self.epoch_log,
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        arrays = {name: np.asarray(value) for name, value in arrays.items()}
        self.genres = arrays.pop("genres").tolist()
        self.user_vectors = arrays.pop("user_vectors")
        self.item_vectors = arrays.pop("item_vectors")
        self.movie_votes = arrays.pop("movie_votes").astype(np.int64)
        self.epoch_log = arrays.pop("epoch_log")
        self._a, self._buffers = arrays, {}
        self.global_mean = float(arrays["bounds"][3])

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _demo_width(self) -> int:
        return int(self._a["demo_rows"].shape[1]) if "demo_rows" in self._a else 0

    def _demographics_of(self, user_id: int) -> np.ndarray:
        row = np.zeros((1, self._demo_width), np.float32)
        if self._demo_width:
            hit = np.flatnonzero(self._a["demo_ids"] == user_id)
            if len(hit):
                row[0] = self._a["demo_rows"][hit[0]]
        return row

    def _genre_matrix(self, n_movies: int) -> sp.csr_matrix:
        indptr = self._a["genre_matrix_indptr"]
        if len(indptr) - 1 < n_movies:  # folded-in movies have no genres
            indptr = np.concatenate([indptr, np.full(n_movies - len(indptr) + 1, indptr[-1])])
        data = np.ones(len(self._a["genre_matrix_indices"]), np.float32)
        return sp.csr_matrix(
            (data, self._a["genre_matrix_indices"], indptr), shape=(n_movies, len(self.genres))
        )

    def _blank_movie(self) -> np.ndarray:
        """Raw inputs of a movie known only from ratings: no genres, year or content."""
        width, median_year = self._a["movie_raw"].shape[1], self._a["bounds"][2]
        (_, raw), _ = tf.blank_movies(len(self.genres), width, median_year, self.global_mean)
        return raw

    def _grown(self, name: str, current: np.ndarray, needed: int) -> np.ndarray:
        """A writable buffer holding ``current`` with room for ``needed`` rows (doubling)."""
        buffer = reserve(current, self._buffers.get(name), needed)
        if buffer is not self._buffers.get(name):
            self._buffers[name] = buffer
        return buffer

    def _write(
        self, name: str, row: int, value: np.ndarray, current: np.ndarray | None = None
    ) -> np.ndarray:
        """Write one row of a per-user or per-movie array, growing it; returns the new view."""
        current = self._a[name] if current is None else current
        n = max(len(current), row + 1)
        buffer = self._grown(name, current, n)
        buffer[row] = value
        if name in self._a:
            self._a[name] = buffer[:n]
        return buffer[:n]
