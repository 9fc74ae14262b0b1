"""Catalog metadata → one L2-normalised sparse feature row per movie.

Three feature sets, each the classic recipe for its kind of metadata:

* ``tfidf``: TF-IDF of the overview and the user tags, English stop words removed, so that
  plot words shared by few films weigh more than words every synopsis has;
* ``soup``: the "metadata soup" of the Kaggle notebooks: top-billed cast, director(s), keywords
  and genres, each lower-cased with its spaces removed (so "Tom Hanks" is one token,
  ``tomhanks``, that cannot match another Tom), count-vectorised;
* ``kg``: the knowledge-graph tokens (``actor:m.0c3wmn``, ``directed_by:m.02l5rm``…) that the
  RecBole copy of ml-100k carries, count-vectorised.

Rows are L2-normalised here, once, so cosine similarity is a plain dot product at query time. A
movie without metadata gets an all-zero row: it matches nothing and scores 0 against everything.

A soup row that lacks a field other movies have (ml-100k enriched by title: 58% of its films
have cast, director and keywords, the rest genres alone) is normalised as if it had that field's
mean weight, so its row has less than unit length: unit-normalised, a film known only by its
genres put all its weight on them and looked closer to a Sci-Fi epic than any film sharing a
few of its credits (Star Wars' fourth neighbour was Time Tracers, 2 votes). A field no movie has,
or every movie has, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.data.dataset import present_mask
from movierec.errors import DataFormatError

if TYPE_CHECKING:  # scikit-learn is imported when vectors are built: the engine imports this
    # module for clean_token on every start, and scikit-learn costs ~50 MB a service worker
    from sklearn.feature_extraction.text import CountVectorizer

FEATURES = ("tfidf", "soup", "kg")
TEXT_SOURCES = ("overview", "tags")
SOUP_SOURCES = ("cast", "director", "keywords", "genres")
# `auto` picks the richest feature set the catalog can feed, in this order of preference.
_AUTO_ORDER = (
    ("kg", ("kg_tokens",)),
    ("soup", ("cast", "director", "keywords")),
    ("tfidf", TEXT_SOURCES),
    ("soup", ("genres",)),
)


def resolve_features(requested: str, catalog: pd.DataFrame) -> str:
    """The feature set to build: ``requested`` itself, or for ``auto`` the richest one available.

    Why auto: ``movierec train --model content`` should do the sensible thing on any dataset:
    knowledge-graph tokens on the RecBole ml-100k, the soup where TMDB credits or keywords exist,
    the overview otherwise, and genres alone as a last resort. A source counts when it covers at
    least half the movies (ml-latest-small's tags cover a sixth: genres serve it better);
    failing that, the best-covered one wins.
    """
    if requested != "auto":
        return requested
    coverage = [
        (features, max(_coverage(catalog, column) for column in columns))
        for features, columns in _AUTO_ORDER
    ]
    for features, share in coverage:
        if share >= 0.5:
            return features
    features, share = max(coverage, key=lambda pair: pair[1])
    if share == 0:
        raise DataFormatError(
            "the catalog has no metadata to compare movies by (no kg_tokens, "
            "cast, director, keywords, overview, tags or genres)"
        )
    return features


def feature_matrix(
    features: str,
    catalog: pd.DataFrame,
    *,
    min_df: int = 1,
    max_features: int | None = None,
    top_cast: int = 3,
    idf: bool = False,
) -> sp.csr_matrix:
    """Movies (in catalog order) × tokens, float32 CSR with unit-norm or all-zero rows (soup
    rows lacking a field other movies have: shorter, see the module notes).

    Args:
        idf: weigh soup and kg tokens by inverse document frequency too (``tfidf`` always
            does). Raw counts are the classic recipe, but they let a movie whose only metadata
            is its genres look close to everything of those genres; idf makes a shared actor or
            keyword outweigh a shared "drama".

    Raises:
        DataFormatError: the catalog lacks every column this feature set is built from, or no
            token survives ``min_df``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if features == "tfidf":
        _require_columns(catalog, TEXT_SOURCES, features)
        vectoriser = TfidfVectorizer(
            stop_words="english", min_df=min_df, max_features=max_features, dtype=np.float32
        )
        documents: Sequence[str | list[str]] = text_documents(catalog)
    elif features == "soup":
        _require_columns(catalog, SOUP_SOURCES, features)
        vectoriser = _token_vectoriser(min_df, max_features, idf)
        documents = soup_documents(catalog, top_cast)
    elif features == "kg":
        _require_columns(catalog, ("kg_tokens",), features)
        vectoriser = _token_vectoriser(min_df, max_features, idf)
        documents = [list(tokens) for tokens in catalog["kg_tokens"]]
    else:
        raise ValueError(f"features must be one of {', '.join(FEATURES)}, got {features!r}")
    try:
        matrix = vectoriser.fit_transform(documents)
    except ValueError as exc:  # sklearn: empty vocabulary, or min_df above the catalog size
        raise _no_features(features, min_df, len(catalog), exc) from exc
    matrix = normalize(sp.csr_matrix(matrix, dtype=np.float32), norm="l2", copy=False)
    if features == "soup":
        matrix = _shortened_for_missing_fields(matrix, catalog, documents, vectoriser, top_cast)
    return _finished(matrix)


def _no_features(features: str, min_df: int, movies: int, exc: ValueError) -> DataFormatError:
    return DataFormatError(
        f"no {features} features to compare movies by (min_df={min_df}, {movies} movies): {exc}"
    )


def _finished(matrix: sp.csr_matrix) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.eliminate_zeros()  # the scoring kernel counts on every stored weight being > 0
    matrix.sort_indices()
    return matrix


def _shortened_for_missing_fields(
    unit: sp.csr_matrix,
    catalog: pd.DataFrame,
    documents: Sequence[str | list[str]],
    vectoriser: Any,
    top_cast: int,
) -> sp.csr_matrix:
    """The unit soup rows, each scaled to length |w| / sqrt(|w|² + m): w its weights, m for
    each field it lacks and some other movie has, that field's mean squared weight over the
    movies that have it. Rows lacking nothing are left exactly as they were."""
    missing = np.zeros(unit.shape[0])
    for column in SOUP_SOURCES:
        if column not in catalog:
            continue
        has = present_mask(catalog[column])
        if has.all() or not has.any():
            continue
        cells = catalog[column].tolist()
        field = _weights(
            vectoriser,
            [
                _soup_tokens(c, column, top_cast) if ok else []
                for c, ok in zip(cells, has, strict=True)
            ],
        )
        missing[~has] += _squared_lengths(field)[has].mean()
    if not missing.any():
        return unit
    squared = _squared_lengths(_weights(vectoriser, documents))
    scale = np.ones(len(squared))
    shorter = (squared > 0) & (missing > 0)
    scale[shorter] = np.sqrt(squared[shorter] / (squared[shorter] + missing[shorter]))
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ unit, dtype=np.float32)


def _weights(vectoriser: Any, documents: Sequence[str | list[str]]) -> sp.csr_matrix:
    """The fitted vectoriser's weights of ``documents`` before any normalisation: counts,
    times idf when it weighs by idf."""
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer(
        analyzer=_as_tokens, vocabulary=vectoriser.vocabulary_, dtype=np.float64
    ).transform(documents)
    idf = getattr(vectoriser, "idf_", None)
    return sp.csr_matrix(counts @ sp.diags(idf) if idf is not None else counts)


def _squared_lengths(matrix: sp.csr_matrix) -> np.ndarray:
    return np.asarray(matrix.multiply(matrix).sum(axis=1), np.float64).ravel()


def clean_token(value: str) -> str:
    """Kaggle's cleaning: lower-case, spaces removed ("Science Fiction" → "sciencefiction")."""
    return str(value).lower().replace(" ", "")


def soup_documents(catalog: pd.DataFrame, top_cast: int = 3) -> list[list[str]]:
    """Per movie: cleaned top cast, directors, keywords and genres (repeats kept, as counts)."""
    empty: list[list[str]] = [[] for _ in range(len(catalog))]
    parts = {
        column: catalog[column].tolist() if column in catalog else empty for column in SOUP_SOURCES
    }
    return [
        [
            token
            for column, cell in zip(SOUP_SOURCES, cells, strict=True)
            for token in _soup_tokens(cell, column, top_cast)
        ]
        for cells in zip(*(parts[c] for c in SOUP_SOURCES), strict=True)
    ]


def _soup_tokens(cell: Any, column: str, top_cast: int) -> list[str]:
    items = list(cell)[:top_cast] if column == "cast" else list(cell)
    return [token for token in map(clean_token, items) if token]


def text_documents(catalog: pd.DataFrame) -> list[str]:
    """Per movie: the overview and the tags joined (either may be missing)."""
    columns = [catalog[c].tolist() for c in TEXT_SOURCES if c in catalog]
    return [
        " ".join(v for v in values if isinstance(v, str) and v)
        for values in zip(*columns, strict=True)
    ]


def _token_vectoriser(min_df: int, max_features: int | None, idf: bool) -> CountVectorizer:
    """A vectoriser for token lists: plain counts, or counts × idf."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if idf:
        return TfidfVectorizer(
            analyzer=_as_tokens, min_df=min_df, max_features=max_features, dtype=np.float32
        )
    return CountVectorizer(
        analyzer=_as_tokens, min_df=min_df, max_features=max_features, dtype=np.float32
    )


def _as_tokens(document: list[str]) -> list[str]:
    """The analyzer for pre-tokenised documents: they are token lists already."""
    return document


def _coverage(catalog: pd.DataFrame, column: str) -> float:
    if column not in catalog or not len(catalog):
        return 0.0
    return float(present_mask(catalog[column]).mean())


def _require_columns(catalog: pd.DataFrame, columns: Sequence[str], features: str) -> None:
    if not any(_coverage(catalog, column) > 0 for column in columns):
        present = ", ".join(str(c) for c in catalog.columns)
        raise DataFormatError(
            f"features={features!r} needs a non-empty {' or '.join(columns)} "
            f"column; the catalog has {present}"
        )
