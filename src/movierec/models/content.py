"""Content-based similarity: cosine between movies' metadata vectors.

One implementation for every feature set (:mod:`movierec.models.textfeatures` builds the
vectors: TF-IDF of overviews, the Kaggle metadata soup, knowledge-graph tokens); the feature set
is a config field (the registry names each: ``content-soup``, ``content-tfidf``, ``content-kg``).

Similar movies are a cosine top-k; a user's recommendations are the cosine against the mean of
the unit rows of the movies they liked. Both are answered from an inverted index (the transposed
feature matrix): a numba kernel adds up only the posting lists of the query's tokens and selects
the top k among the movies it touched, so a query over 45k movies costs tens of microseconds
instead of a dense pass over the whole catalogue, and no movies × movies matrix is ever built.

Online: ``fold_in_user`` sets a user's history (their profile follows at once, nothing is
re-solved); ``fold_in_movie`` appends a new movie with an empty feature row — a fold-in carries
no metadata, so the movie scores 0 against everything until a refit reads its catalog row.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from movierec.data.dataset import Dataset
from movierec.models._contentkernels import profile_kernel, top_k_kernel
from movierec.models.base import Config, Ranking
from movierec.models.online import FoldIn, OnlineRecommender
from movierec.models.textfeatures import FEATURES, feature_matrix, resolve_features
from movierec.validate import boolean, finite_number, one_of, positive_int

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ContentConfig(Config):
    """Hyper-parameters of the content-based model.

    Attributes:
        features: ``tfidf``, ``soup``, ``kg``, or ``auto`` (the richest the catalog can feed;
            see :func:`~movierec.models.textfeatures.resolve_features`).
        min_df: a token must occur in at least this many movies to count; raising it drops
            one-off keywords and typos.
        max_features: keep only the most frequent tokens (``None``: all).
        like_threshold: ratings at or above this make a movie part of the user's taste profile.
        top_cast: how many top-billed actors go into the soup (3 in the classic recipe).
        idf: weigh soup and kg tokens by inverse document frequency, not by raw counts (the
            classic recipe); helps where many movies have genres but no other metadata.
    """

    features: str = "auto"
    min_df: int = 1
    max_features: int | None = None
    like_threshold: float = 4.0
    top_cast: int = 3
    idf: bool = False

    def validate(self) -> None:
        one_of(self.features, "features", ("auto", *FEATURES))
        positive_int(self.min_df, "min_df")
        positive_int(self.max_features, "max_features", optional=True)
        finite_number(self.like_threshold, "like_threshold")
        positive_int(self.top_cast, "top_cast")
        boolean(self.idf, "idf")


class ContentRecommender(OnlineRecommender):
    """Recommends movies whose metadata resembles what the user liked.

    It learns nothing from ratings beyond each user's own history: similar movies depend on
    the catalog alone, so they exist for a movie nobody rated.
    A movie without metadata has a zero vector: it scores 0 against everything, after every real
    match; a query on such a movie returns score-0 movies in catalogue order.
    """

    kind = "content"
    config_class = ContentConfig
    config: ContentConfig
    keeps_ratings = True  # a taste profile is built from the movies the user liked
    fold_in_matches_training = True  # a user's only state is their history
    # built by fit and by load (movie_votes too: float64, per movie index)
    _x: sp.csr_matrix  # movies × tokens, unit rows
    _xt: sp.csr_matrix  # tokens × movies: the inverted index
    _scores: np.ndarray  # query buffers, kept all-zero between queries
    _marks: np.ndarray
    _term_acc: np.ndarray
    _term_marks: np.ndarray

    def __init__(self, config: ContentConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.features: str | None = None  # the resolved feature set once fitted

    # --- fitting and state ------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data, require_ratings=False)
        self.movie_votes = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        catalog = data.catalog.drop_duplicates("movie_id")  # the IdMap kept first occurrences
        features = resolve_features(self.config.features, catalog)
        x = feature_matrix(
            features,
            catalog,
            min_df=self.config.min_df,
            max_features=self.config.max_features,
            top_cast=self.config.top_cast,
            idf=self.config.idf,
        )
        self._install(features, x)
        covered = int(np.count_nonzero(np.diff(x.indptr)))
        logger.info(
            "content (%s): %d tokens; %d of %d movies have features",
            features,
            x.shape[1],
            covered,
            x.shape[0],
        )
        return self

    def _install(self, features: str, x: sp.csr_matrix) -> None:
        """Keep the feature rows and build what queries need: the inverted index, the buffers."""
        self.features = features
        self._x = x
        self._xt = x.T.tocsr()
        self._xt.sort_indices()  # posting lists in movie order
        n_movies, n_terms = x.shape
        self._scores = np.zeros(n_movies, np.float64)
        self._marks = np.zeros(n_movies, np.uint8)
        self._term_acc = np.zeros(n_terms, np.float64)
        self._term_marks = np.zeros(n_terms, np.uint8)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "features": np.array([self.features]),
            "x_indptr": self._x.indptr,
            "x_indices": self._x.indices,
            "x_data": self._x.data,
            "x_shape": np.array(self._x.shape, np.int64),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        shape = tuple(int(n) for n in arrays["x_shape"])
        x = sp.csr_matrix(
            (
                np.asarray(arrays["x_data"]),
                np.asarray(arrays["x_indices"]),
                np.asarray(arrays["x_indptr"]),
            ),
            shape=shape,
        )
        indices = self._seen_lists.indices
        self.movie_votes = np.bincount(indices, minlength=shape[0]).astype(np.float64)
        self._install(str(arrays["features"][0]), x)

    def has_features(self, movie_id: int) -> bool:
        """Whether the movie has any metadata tokens.

        A movie without them is similar to nothing: its :meth:`similar_movies` are score-0
        movies in catalogue order, which a caller will want to replace with another fallback.
        """
        self._check_fitted()
        movie = self._movie_index(movie_id)
        return bool(self._x.indptr[movie + 1] > self._x.indptr[movie])

    # --- the fast paths behind similar_movies and recommend (the inverted index) ------------

    def _similar(self, movie: int, k: int, candidates: np.ndarray | None) -> Ranking:
        x = self._x
        start, end = x.indptr[movie], x.indptr[movie + 1]
        return self._query(
            x.indices[start:end],
            x.data[start:end].astype(np.float64),
            k,
            np.array([movie], np.int32),
            candidates,
        )

    def _recommend(
        self, user: int, k: int, excluded: np.ndarray | None, candidates: np.ndarray | None
    ) -> Ranking:
        terms, weights = self._profile(user)
        excluded = np.empty(0, np.int32) if excluded is None else excluded.astype(np.int32)
        return self._query(terms, weights, k, excluded, candidates)

    # --- the dense reference paths (the protocol's; used by tests to check the fast ones) ---

    def _similar_scores(self, movie: int) -> np.ndarray:
        return np.asarray(self._x @ self._x[movie].T.astype(np.float64).toarray()).ravel()

    def _user_scores(self, user: int) -> np.ndarray:
        terms, weights = self._profile(user)
        query = np.zeros(self._x.shape[1], np.float64)
        query[terms] = weights
        return np.asarray(self._x @ query).ravel()

    # --- helpers ----------------------------------------------------------------------------

    def _profile(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's taste: the unit-length mean of the rows of the movies they liked."""
        rated, ratings = self._seen_lists.rated(user)
        liked = rated[ratings >= self.config.like_threshold]
        if not len(liked) and len(rated):  # nothing reaches the threshold: their best instead
            liked = rated[ratings == ratings.max()]
        x = self._x
        return profile_kernel(
            liked.astype(np.int32), x.indptr, x.indices, x.data, self._term_acc, self._term_marks
        )

    def _query(
        self,
        terms: np.ndarray,
        weights: np.ndarray,
        k: int,
        excluded: np.ndarray,
        candidates: np.ndarray | None,
    ) -> Ranking:
        pool = np.empty(0, np.int32)
        if candidates is not None:
            allowed = self.movies.indices(np.asarray(candidates), missing="mask")
            pool = np.unique(allowed[allowed >= 0]).astype(np.int32)
        xt, ids = self._xt, self.movies.ids
        n = len(ids)  # buffers may already hold a movie being folded in (see fold_in_movie)
        excluded = excluded[excluded < n]
        top, scores = top_k_kernel(
            terms,
            weights,
            xt.indptr,
            xt.indices,
            xt.data,
            excluded,
            pool[pool < n],
            candidates is not None,
            k,
            self._scores[:n],
            self._marks[:n],
        )
        return Ranking(ids[top], scores)

    # --- online -----------------------------------------------------------------------------

    def _learn_movie(self, row: FoldIn) -> None:
        if not row.new:
            return  # features come from the catalog; seen lists move with fold_in_user
        movie = row.index
        x = self._x
        # an empty feature row: no posting list changes, the inverted index only widens; new
        # arrays are built aside and published before the id
        grown = sp.csr_matrix(
            (x.data, x.indices, np.append(x.indptr, x.indptr[-1])), shape=(movie + 1, x.shape[1])
        )
        xt = sp.csr_matrix(
            (self._xt.data, self._xt.indices, self._xt.indptr), shape=(x.shape[1], movie + 1)
        )
        scores, marks = np.zeros(movie + 1, np.float64), np.zeros(movie + 1, np.uint8)
        self._x, self._xt, self._scores, self._marks = grown, xt, scores, marks
        votes = self._fitted(self.movie_votes)
        self.movie_votes = np.append(votes[:movie], float(len(row.idx)))
