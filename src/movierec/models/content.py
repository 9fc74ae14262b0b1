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
import math
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numba import njit

from movierec.data.dataset import Dataset
from movierec.models.base import Config, Ranking
from movierec.models.history import RatedHistory
from movierec.models.textfeatures import FEATURES, feature_matrix, resolve_features
from movierec.validate import boolean, check_k, finite_number, one_of, positive_int

logger = logging.getLogger(__name__)

_TOUCHED, _EXCLUDED = np.uint8(1), np.uint8(2)


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


class ContentRecommender(RatedHistory):
    """Recommends movies whose metadata resembles what the user liked.

    It learns nothing from ratings beyond each user's own history: similar movies depend on
    the catalog alone, so they exist for a movie nobody rated.
    A movie without metadata has a zero vector: it scores 0 against everything, after every real
    match; a query on such a movie returns score-0 movies in catalogue order.
    """

    kind = "content"
    config_class = ContentConfig
    config: ContentConfig

    def __init__(self, config: ContentConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.features: str | None = None  # the resolved feature set once fitted
        self._x: sp.csr_matrix | None = None  # movies × tokens, unit rows
        self._xt: sp.csr_matrix | None = None  # tokens × movies: the inverted index
        self.movie_votes: np.ndarray | None = None  # ratings per movie index, float64
        self._scores: np.ndarray | None = None  # query buffers, kept all-zero between queries
        self._marks: np.ndarray | None = None
        self._term_acc: np.ndarray | None = None
        self._term_marks: np.ndarray | None = None

    # --- fitting and state ------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        matrix = self._index_dataset(data, require_ratings=False)
        self._start_history(matrix.data)
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
            "seen_ratings": self._seen_ratings_array(),
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
        self._start_history(np.asarray(arrays["seen_ratings"]))
        self.movie_votes = np.bincount(self._seen_indices, minlength=shape[0]).astype(np.float64)
        self._install(str(arrays["features"][0]), x)

    def has_features(self, movie_id: int) -> bool:
        """Whether the movie has any metadata tokens.

        A movie without them is similar to nothing: its :meth:`similar_movies` are score-0
        movies in catalogue order, which a caller will want to replace with another fallback.
        """
        self._check_fitted()
        movie = self._movie_index(movie_id)
        return bool(self._x.indptr[movie + 1] > self._x.indptr[movie])

    # --- the fast public paths ------------------------------------------------------------

    def similar_movies(
        self, movie_id: int, k: int = 10, *, candidates: np.ndarray | None = None
    ) -> Ranking:
        self._check_fitted()
        check_k(k)
        movie = self._movie_index(movie_id)
        x = self._x
        start, end = x.indptr[movie], x.indptr[movie + 1]
        return self._query(
            x.indices[start:end],
            x.data[start:end].astype(np.float64),
            k,
            np.array([movie], np.int32),
            candidates,
        )

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
        terms, weights = self._profile(user)
        excluded = self._seen(user).astype(np.int32) if exclude_seen else np.empty(0, np.int32)
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
        rated, ratings = self._history(user)
        liked = rated[ratings >= self.config.like_threshold]
        if not len(liked) and len(rated):  # nothing reaches the threshold: their best instead
            liked = rated[ratings == ratings.max()]
        x = self._x
        return _profile_kernel(
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
        top, scores = _top_k_kernel(
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

    def fold_in_user(
        self, user_id: int, movie_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        user_id, user, movies, values = self._user_input(user_id, movie_ids, ratings)
        old = movies[:0] if user is None else self._history(user)[0]
        user = len(self.users) if user is None else user
        if not self.movie_votes.flags.writeable:
            self.movie_votes = self.movie_votes.copy()
        self.movie_votes[old] -= 1  # both index arrays are free of repeats
        self.movie_votes[movies] += 1
        self._set_history(user, movies, values)
        if user == len(self.users):
            self.users.add(np.array([user_id], np.int64))  # last: the history is in place

    def fold_in_movie(
        self, movie_id: int, user_ids: np.ndarray | list[int], ratings: np.ndarray | list[float]
    ) -> None:
        movie_id, movie, users, values = self._movie_input(movie_id, user_ids, ratings)
        if movie is not None:
            return  # features come from the catalog; seen lists move with fold_in_user
        movie = len(self.movies)
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
        self.movie_votes = np.append(self.movie_votes[:movie], float(len(users)))
        self.movies.add(np.array([movie_id], np.int64))
        self._add_to_raters(movie, users, values)


# --- kernels ------------------------------------------------------------------------------------
# Buffers (scores, marks) are preallocated per model and left all-zero after every call. Each
# query is a single kernel call that holds the GIL, so threads sharing a model cannot interleave
# on the buffers.


@njit(cache=True)
def _profile_kernel(rows, indptr, indices, data, acc, marks):  # pragma: no cover - numba
    """Sum of the given feature rows, scaled to unit length, as (terms, weights)."""
    size = 0
    for r in rows:
        size += indptr[r + 1] - indptr[r]
    terms = np.empty(size, np.int32)
    n = 0
    for r in rows:
        for p in range(indptr[r], indptr[r + 1]):
            t = indices[p]
            if marks[t] == 0:
                marks[t] = 1
                terms[n] = t
                n += 1
            acc[t] += data[p]
    weights = np.empty(n, np.float64)
    norm = 0.0
    for i in range(n):
        weights[i] = acc[terms[i]]
        norm += weights[i] * weights[i]
        acc[terms[i]] = 0.0
        marks[terms[i]] = 0
    if norm > 0.0:
        weights /= math.sqrt(norm)
    return terms[:n].copy(), weights


@njit(cache=True)
def _worse(va, ia, vb, ib):  # pragma: no cover - numba
    """Whether (score va, movie ia) ranks below (vb, ib): lower score, or tie and higher index."""
    return va < vb or (va == vb and ia > ib)


@njit(cache=True)
def _offer(heap_v, heap_i, size, v, i):  # pragma: no cover - numba
    """Offer a movie to a min-heap (worst at the root) of capacity len(heap_v); new size."""
    cap = heap_v.shape[0]
    if size < cap:
        c = size
        size += 1
        while c > 0:  # sift up
            parent = (c - 1) // 2
            if not _worse(v, i, heap_v[parent], heap_i[parent]):
                break
            heap_v[c], heap_i[c] = heap_v[parent], heap_i[parent]
            c = parent
        heap_v[c], heap_i[c] = v, i
        return size
    if not _worse(heap_v[0], heap_i[0], v, i):
        return size
    _sift_down(heap_v, heap_i, size, v, i)
    return size


@njit(cache=True)
def _sift_down(heap_v, heap_i, size, v, i):  # pragma: no cover - numba
    """Put (v, i) at the root and sift it down to its place among the first ``size`` items."""
    c = 0
    while True:
        child = 2 * c + 1
        if child >= size:
            break
        if child + 1 < size and _worse(
            heap_v[child + 1], heap_i[child + 1], heap_v[child], heap_i[child]
        ):
            child += 1
        if not _worse(heap_v[child], heap_i[child], v, i):
            break
        heap_v[c], heap_i[c] = heap_v[child], heap_i[child]
        c = child
    heap_v[c], heap_i[c] = v, i


@njit(cache=True)
def _top_k_kernel(
    terms, weights, t_indptr, t_indices, t_data, excluded, pool, use_pool, k, scores, marks
):  # pragma: no cover - numba
    """Top k movies by dot product with a sparse query, best first, ties by lower index.

    Adds up the posting lists of the query's terms, then picks the best of the touched movies
    (or of ``pool`` when ``use_pool``), never one in ``excluded``. When fewer than k movies were
    touched, untouched ones follow with score 0, in index order: the same answer as a dense
    top-k over all scores.
    """
    n = scores.shape[0]
    size = 0
    for a in range(terms.shape[0]):
        size += t_indptr[terms[a] + 1] - t_indptr[terms[a]]
    touched = np.empty(min(size, n), np.int32)
    n_touched = 0
    for a in range(terms.shape[0]):
        t, w = terms[a], weights[a]
        for p in range(t_indptr[t], t_indptr[t + 1]):
            j = t_indices[p]
            if marks[j] == 0:
                marks[j] = _TOUCHED
                touched[n_touched] = j
                n_touched += 1
            scores[j] += w * t_data[p]
    for e in excluded:
        marks[e] |= _EXCLUDED
    heap_v = np.empty(min(k, n), np.float64)
    heap_i = np.empty(min(k, n), np.int64)
    found = 0
    if use_pool:
        for j in pool:
            if not marks[j] & _EXCLUDED:
                found = _offer(heap_v, heap_i, found, scores[j], j)
    else:
        for a in range(n_touched):
            j = touched[a]
            if not marks[j] & _EXCLUDED:
                found = _offer(heap_v, heap_i, found, scores[j], j)
    # Heap-sort: pop the worst to the back until the array is ordered best first.
    for last in range(found - 1, 0, -1):
        v, i = heap_v[last], heap_i[last]
        heap_v[last], heap_i[last] = heap_v[0], heap_i[0]
        _sift_down(heap_v, heap_i, last, v, i)
    out_i = np.empty(min(k, n), np.int64)
    out_v = np.zeros(min(k, n), np.float64)
    out_i[:found] = heap_i[:found]
    out_v[:found] = heap_v[:found]
    if not use_pool:
        j = 0
        while found < out_i.shape[0] and j < n:
            if marks[j] == 0:
                out_i[found] = j
                found += 1
            j += 1
    for a in range(n_touched):
        scores[touched[a]] = 0.0
        marks[touched[a]] = 0
    for e in excluded:
        marks[e] = 0
    return out_i[:found].copy(), out_v[:found].copy()
