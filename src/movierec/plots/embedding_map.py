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

Drawing: matplotlib's object API with the Agg canvas chosen explicitly — no ``pyplot``, no
global backend switch, no ``rcParams`` changed — so a server or a notebook around it is left
as it was; the figure is cleared once its PNG is written. Rendering is serialised by a lock
(matplotlib's text layout is not thread-safe). Labels are "Title (year)", shortened past 26
characters, placed most-rated first at the first of several positions around their point
(right, left, above, below…, then farther out with a leader line) that overlaps no label and
no other point; the axes are scaled separately, to spread the labels, so read distances along
each axis with its share in mind. Colour: the movie's primary (first-listed) genre; marker
area: its number of ratings.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from movierec.data.dataset import Dataset
from movierec.errors import InvalidValueError, MovieRecError
from movierec.models.base import NoMovieVectorsError, Recommender

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

MIN_MOVIES = 3  # fewer points have no second principal direction worth drawing
MAX_MOVIES = 200  # beyond this the labels cannot be read
DEFAULT_MOVIES = 40
LABEL_CHARS = 26
_DANGLING = {"a", "an", "and", "at", "de", "for", "in", "of", "on", "or", "the", "to", "with"}
_SIZE_INCHES = (12.0, 8.5)
_DPI = 100
_AXES = (0.065, 0.08, 0.70, 0.83)  # left, bottom, width, height: fixed, so placement holds
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)  # tab10 without its grey, which marks "other"
_OTHER = "#7f7f7f"
_RENDER_LOCK = threading.Lock()


class PlotError(MovieRecError, ValueError):
    """A plot that cannot be drawn from what was given (too few movies, no vectors…)."""

    status = 422


class PlotDependencyError(MovieRecError):
    """matplotlib, an optional dependency, is not installed."""


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
    drawn = _render(
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


def short_label(title: object, year: object, width: int = LABEL_CHARS) -> str:
    """ "Title (year)", a title longer than ``width`` characters cut at a word boundary
    (never after "the", "and"… or an open parenthesis) and ended with "…"."""
    text = " ".join(str(title).split()) if isinstance(title, str) else ""
    if len(text) > width:
        words = text[: width - 1].split(" ")
        if len(words) > 1:
            words = words[:-1]  # the last one may be cut in the middle
        while len(words) > 1 and (
            words[-1].lower() in _DANGLING or words[-1].count("(") > words[-1].count(")")
        ):
            words.pop()
        text = " ".join(words).rstrip(" ,:;-") + "…"
    if year is not None and not pd.isna(year):
        text = f"{text} ({int(year)})" if text else str(int(year))
    return text


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


def _matplotlib() -> tuple[Any, Any]:
    """(Figure, FigureCanvasAgg), or a clear error when matplotlib is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotDependencyError(
            "drawing plots needs matplotlib: pip install movierec[plot]"
        ) from exc
    return Figure, FigureCanvasAgg


def available() -> bool:
    """Whether matplotlib can be imported (the service checks before drawing)."""
    try:
        _matplotlib()
    except PlotDependencyError:
        return False
    return True


def _render(
    coords: np.ndarray,
    explained: tuple[float, float],
    labels: list[str],
    genres: list[str],
    votes: np.ndarray,
    *,
    draw_labels: bool,
    title: str,
    dimensions: int,
) -> bytes:
    Figure, FigureCanvasAgg = _matplotlib()
    with _RENDER_LOCK:
        fig = Figure(figsize=_SIZE_INCHES, dpi=_DPI, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        try:
            ax = fig.add_axes(_AXES)
            colours = _genre_colours(genres)
            sizes = _marker_sizes(votes)
            ax.scatter(
                coords[:, 0],
                coords[:, 1],
                s=sizes,
                c=[colours.get(g, _OTHER) for g in genres],
                edgecolors="white",
                linewidths=0.8,
                zorder=3,
            )
            _set_limits(ax, coords)
            ax.grid(True, color="0.92", zorder=0)
            ax.axhline(0, color="0.8", lw=0.8, zorder=1)
            ax.axvline(0, color="0.8", lw=0.8, zorder=1)
            for spine in ax.spines.values():
                spine.set_color("0.7")
            ax.tick_params(colors="0.35", labelsize=8)
            ax.set_xlabel(f"PC1 ({explained[0]:.1%} of the variance)", fontsize=10)
            ax.set_ylabel(f"PC2 ({explained[1]:.1%} of the variance)", fontsize=10)
            ax.set_title(title, loc="left", fontsize=13, pad=22)
            ax.text(
                0.0,
                1.012,
                f"the two axes explain {sum(explained):.1%} of the variance of "
                f"these movies' {dimensions}-dimensional vectors · colour: primary genre · "
                "area: number of ratings",
                transform=ax.transAxes,
                fontsize=9,
                color="0.3",
                va="bottom",
            )
            if draw_labels:
                _place_labels(ax, canvas.get_renderer(), coords, labels, sizes)
            _legend(ax, colours, genres)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=_DPI, facecolor="white")
            return buffer.getvalue()
        finally:
            fig.clear()


def _genre_colours(genres: list[str]) -> dict[str, str]:
    """The most frequent genres (ties by name) get a colour each; the rest share grey."""
    counts = pd.Series(genres).value_counts()
    ranked = sorted(counts.index, key=lambda g: (-counts[g], g))
    return {g: c for g, c in zip(ranked, _PALETTE, strict=False)}


def _marker_sizes(votes: np.ndarray) -> np.ndarray:
    """Marker areas (points²) from 25 to 160, in proportion to the ratings between extremes."""
    v = np.asarray(votes, dtype=np.float64)
    span = v.max() - v.min()
    share = (v - v.min()) / span if span > 0 else np.full(len(v), 0.5)
    return 25.0 + 135.0 * share


def _set_limits(ax: Axes, coords: np.ndarray) -> None:
    """Fixed limits with a margin for labels (the transforms must not move after placement)."""
    for axis, setter in ((0, ax.set_xlim), (1, ax.set_ylim)):
        low, high = float(coords[:, axis].min()), float(coords[:, axis].max())
        span = high - low
        if span <= 0:
            span = max(abs(low), 1.0)
        setter(low - 0.08 * span, high + 0.08 * span)


def _legend(ax: Axes, colours: dict[str, str], genres: list[str]) -> None:
    from matplotlib.lines import Line2D

    shown = [g for g in colours if g in set(genres)]
    names = shown + (["other"] if any(g not in colours for g in genres) else [])
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markersize=8,
            markeredgecolor="white",
            markerfacecolor=colours.get(g, _OTHER),
        )
        for g in names
    ]
    ax.legend(
        handles,
        names,
        title="primary genre",
        loc="upper left",
        bbox_to_anchor=(1.015, 1.0),
        frameon=False,
        fontsize=9,
        title_fontsize=10,
    )


# Directions tried for a label, nearest first: right, left, above, below, then the diagonals.
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
_DISTANCES = (0.0, 10.0, 22.0, 38.0, 58.0)  # extra pixels beyond the marker, ring by ring


def _place_labels(
    ax: Axes, renderer: Any, coords: np.ndarray, labels: list[str], sizes: np.ndarray
) -> None:
    """Write each label at the first free spot around its point, most-rated first.

    A spot is free when its box overlaps no placed label, no other point and stays inside
    the axes; when none is, the spot with the least overlap wins. Labels pushed off their
    point get a thin leader line.
    """
    points = ax.transData.transform(coords)
    radii = np.sqrt(sizes) / 2 * _DPI / 72  # marker radius in pixels
    frame = ax.bbox
    limits = np.array([frame.x0, frame.y0, frame.x1, frame.y1])
    markers = np.column_stack([points - radii[:, None], points + radii[:, None]])
    placed = np.empty((0, 4))
    directions = np.array(_DIRECTIONS, dtype=np.float64)
    rings = np.repeat(np.array(_DISTANCES), len(directions))  # candidates ring by ring
    units = np.tile(directions, (len(_DISTANCES), 1))
    style = {
        "fontsize": 8,
        "color": "0.15",
        "zorder": 4,
        "bbox": {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
    }
    for i, label in enumerate(labels):
        probe = ax.text(0, 0, label, fontsize=style["fontsize"])
        extent = probe.get_window_extent(renderer)
        probe.remove()
        size = np.array([extent.width + 3, extent.height + 3])  # the white box's padding
        reach = radii[i] + 3 + rings
        # bottom-left corners: beside the point along each direction, centred across it
        corners = (
            points[i]
            + units * reach[:, None]
            - np.where(units < 0, size, np.where(units == 0, size / 2, 0.0))
        )
        boxes = np.column_stack([corners, corners + size])
        others = np.delete(markers, i, axis=0)
        cost = _overlaps(boxes, placed).sum(axis=1) + _overlaps(boxes, others).sum(axis=1)
        cost += 4 * (size.prod() - _overlaps(boxes, limits[None])[:, 0])
        free = np.flatnonzero(cost < 1e-6)  # rounding, not overlap
        pick = int(free[0]) if len(free) else int(np.argmin(cost))
        best = boxes[pick]
        placed = np.vstack([placed, best])
        offset = (
            (best[0] + 1.5 - points[i, 0]) * 72 / _DPI,
            (best[1] + 1.5 - points[i, 1]) * 72 / _DPI,
        )
        arrow = (
            {"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 0}
            if rings[pick] > 0
            else None
        )
        ax.annotate(
            label,
            xy=tuple(coords[i]),
            xytext=offset,
            textcoords="offset points",
            ha="left",
            va="bottom",
            arrowprops=arrow,
            **style,
        )


def _overlaps(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Areas shared by each box (rows x0, y0, x1, y1) with each other box: len × len."""
    width = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(
        boxes[:, None, 0], others[None, :, 0]
    )
    height = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(
        boxes[:, None, 1], others[None, :, 1]
    )
    return np.clip(width, 0, None) * np.clip(height, 0, None)
