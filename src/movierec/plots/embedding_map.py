"""The embedding map: where a model puts the most-rated movies, flattened to a labelled 2-D plot.

A model that declares ``embeds_movies`` gives one learned vector per movie
(:meth:`~movierec.models.base.Recommender.movie_vectors`: item factors, tower outputs). The
``n`` movies with the most ratings in the training dataset are projected on the first two
principal components of *their own* vectors: centred on their mean, then an SVD (numpy,
no scikit-learn), ``X − x̄ = U S Vᵀ``, coordinates ``U[:, :2] · S[:2]``.

Explained variance: axis ``i`` carries the share ``s_i² / Σ_j s_j²`` of the total variance
of those centred vectors (the sum over *all* singular values, so the two shares add up to at
most 1). That sum says how faithful the flat picture is, and it is printed on the plot and on
each axis. Learned factors spread taste over many dimensions, so the share is modest: for the
40 most-rated ml-100k movies, 23% for ``mf`` (100 factors), 18% for ``als`` (50 factors) and
48% for ``ials`` (64 factors); vectors that lie on a plane give 1. Each component's sign is
fixed (its largest coordinate is positive), so the same vectors always give the same picture.

Drawing is :mod:`movierec.plots.map_drawing` (the map's look), on the shared canvas of
:mod:`movierec.plots.canvas` (matplotlib without ``pyplot`` or global state) with the labels of
:mod:`movierec.plots.labels`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from movierec.data.dataset import Dataset
from movierec.errors import InvalidValueError, MovieRecError
from movierec.models.base import NoMovieVectorsError, Recommender
from movierec.plots.canvas import PlotDependencyError, available
from movierec.plots.labels import short_label
from movierec.plots.map_drawing import draw_map

__all__ = [
    "DEFAULT_MOVIES",
    "MAX_MOVIES",
    "MIN_MOVIES",
    "EmbeddingMap",
    "PlotDependencyError",
    "PlotError",
    "available",
    "check_n",
    "embedding_map",
    "models_with_vectors",
    "pca_2d",
    "require_movie_vectors",
]

log = logging.getLogger(__name__)

MIN_MOVIES = 3  # fewer points have no second principal direction worth drawing
MAX_MOVIES = 200  # beyond this the labels cannot be read
DEFAULT_MOVIES = 40


class PlotError(MovieRecError, ValueError):
    """A plot that cannot be drawn from what was given (too few movies, no vectors…)."""

    status = 422


@dataclasses.dataclass(frozen=True)
class EmbeddingMap:
    """A drawn map and what it shows.

    Attributes:
        model: the model's name as given (a registry name, or its kind).
        movie_ids: the plotted movies, most-rated first.
        labels: their labels, "Title (year)".
        votes: their ratings in the training dataset.
        coords: their positions, n × 2 (PC1, PC2).
        explained: the share of the vectors' variance each axis carries.
        dimensions: the length of the model's movie vectors.
        png: the picture.
    """

    model: str
    movie_ids: np.ndarray
    labels: list[str]
    votes: np.ndarray
    coords: np.ndarray
    explained: tuple[float, float]
    dimensions: int
    png: bytes

    @property
    def n(self) -> int:
        return len(self.movie_ids)

    def save(self, path: str | Path) -> Path:
        """Write the PNG (folders created as needed); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.png)
        return target

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n": self.n,
            "dimensions": self.dimensions,
            "explained_variance": [round(v, 6) for v in self.explained],
            "explained_total": round(sum(self.explained), 6),
            "movies": [
                {
                    "movie_id": int(m),
                    "label": label,
                    "votes": int(v),
                    "pc1": round(float(x), 6),
                    "pc2": round(float(y), 6),
                }
                for m, label, v, (x, y) in zip(
                    self.movie_ids.tolist(),
                    self.labels,
                    self.votes.tolist(),
                    self.coords.tolist(),
                    strict=True,
                )
            ],
        }


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Positions on the first two principal components, and each one's share of the variance.

    Args:
        vectors: n × d, one row per point.

    Returns:
        (coordinates n × 2, (share of PC1, share of PC2)); with fewer than two non-zero
        directions the missing coordinates and shares are 0.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise PlotError(f"vectors must be a non-empty 2-d array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise PlotError("vectors must be finite")
    centred = x - x.mean(axis=0)
    # at most 200 × a few hundred: one BLAS thread takes milliseconds, while OpenBLAS's
    # threads on a busy 2-core machine were seen to spin for 1.5 s over a 200 × 100 SVD
    with threadpool_limits(1, user_api="blas"):
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    coords = np.zeros((len(x), 2))
    explained = [0.0, 0.0]
    scale = max(float(s[0]) if len(s) else 0.0, 1.0) * 1e-10  # below this, rounding noise
    for axis in range(min(2, len(s))):
        if s[axis] <= scale:
            break
        column = u[:, axis] * s[axis]
        if column[np.argmax(np.abs(column))] < 0:
            column = -column
        coords[:, axis] = column
        explained[axis] = float(s[axis] ** 2 / total)
    return coords, (explained[0], explained[1])


def embedding_map(
    model: Recommender,
    data: Dataset,
    n: int = DEFAULT_MOVIES,
    *,
    name: str | None = None,
    labels: bool = True,
    path: str | Path | None = None,
) -> EmbeddingMap:
    """Draw the map of a fitted model's vectors for the ``n`` most-rated movies of ``data``.

    Args:
        model: a fitted model that declares ``embeds_movies``.
        data: the dataset it was trained on: its ratings pick the movies, its catalog names them.
        n: how many movies, 3 to 200 (fewer if fewer rated movies have vectors).
        name: what to call the model on the plot (default: its kind).
        labels: write each movie's title beside its point.
        path: also write the PNG there.

    Raises:
        InvalidValueError: ``n`` out of range (the field is named).
        NoMovieVectorsError: the model has no movie vectors.
        NotFittedError: the model is not fitted.
        PlotError: fewer than 3 rated movies have vectors.
        PlotDependencyError: matplotlib is missing.
    """
    check_n(n)
    name = name or model.kind
    ids, vectors = model.movie_vectors()
    counts = data.ratings["movie_id"].value_counts()
    votes = counts.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    rated = np.flatnonzero(votes > 0)
    if len(rated) < MIN_MOVIES:
        raise PlotError(
            f"an embedding map needs at least {MIN_MOVIES} rated movies with "
            f"vectors; the {name!r} model has {len(rated)} in {data.name!r}"
        )
    order = rated[np.lexsort((ids[rated], -votes[rated]))][: int(n)]
    coords, explained = pca_2d(vectors[order])
    chosen = ids[order]
    titles, genres = _describe(data.catalog, chosen)
    drawn = draw_map(
        coords,
        explained,
        titles,
        genres,
        votes[order],
        draw_labels=labels,
        title=f"{name}: movie vectors of the {len(chosen)} most-rated movies of {data.name}",
        dimensions=vectors.shape[1],
    )
    result = EmbeddingMap(
        name, chosen, titles, votes[order], coords, explained, int(vectors.shape[1]), drawn
    )
    if path is not None:
        result.save(path)
    return result


def check_n(n: object) -> None:
    """Refuse a movie count the map cannot draw, naming the field ``n``."""
    if (
        isinstance(n, bool)
        or not isinstance(n, int | np.integer)
        or not MIN_MOVIES <= n <= MAX_MOVIES
    ):
        raise InvalidValueError("n", n, f"an integer from {MIN_MOVIES} to {MAX_MOVIES}")


def require_movie_vectors(name: str) -> None:
    """Refuse a registered model name whose class learns no movie vectors, before any fit.

    Raises:
        NoMatchError: an unknown model name.
        NoMovieVectorsError: naming the model and listing those that have vectors.
    """
    from movierec.models import registry

    if not registry.resolve(name)[0].embeds_movies:
        raise NoMovieVectorsError(
            name, allowed="a model with movie vectors: " + ", ".join(models_with_vectors())
        )


def models_with_vectors() -> list[str]:
    """Registered model names whose class declares ``embeds_movies`` (and imports here)."""
    from movierec.models import registry

    found = []
    for name in registry.names():
        try:
            model_class = registry.resolve(name)[0]
        except ImportError:  # an optional dependency (torch…) missing: not usable here anyway
            continue
        if model_class.embeds_movies:
            found.append(name)
    return found


def _describe(catalog: pd.DataFrame, movie_ids: np.ndarray) -> tuple[list[str], list[str]]:
    """Labels and primary genres of the movies, in their order ("movie 17" if untitled)."""
    rows = catalog.drop_duplicates("movie_id").set_index("movie_id").reindex(movie_ids)
    titles = rows["title"] if "title" in rows else pd.Series(None, index=rows.index)
    years = rows["year"] if "year" in rows else pd.Series(None, index=rows.index)
    genres = rows["genres"] if "genres" in rows else pd.Series(None, index=rows.index)
    labels = [
        short_label(t, y) or f"movie {m}"
        for m, t, y in zip(movie_ids.tolist(), titles, years, strict=True)
    ]
    primary = [
        g[0] if isinstance(g, list | tuple | np.ndarray) and len(g) else "unknown" for g in genres
    ]
    return labels, [str(g) for g in primary]
