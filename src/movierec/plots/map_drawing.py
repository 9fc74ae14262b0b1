"""How the embedding map looks: points coloured by primary genre, sized by ratings, labelled.

Colour: the movie's primary (first-listed) genre, the nine most frequent getting a colour of
their own and the rest sharing grey; marker area: its number of ratings. Labels are "Title
(year)", shortened past 26 characters, placed most-rated first where they overlap no label and
no other point (:mod:`movierec.plots.labels`). The axes are scaled separately, to spread the
labels, so read distances along each axis with its share of the variance in mind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from movierec.plots.canvas import png_of
from movierec.plots.labels import place_labels

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

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


def draw_map(
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
    """The map's PNG: one point per movie at ``coords`` (PC1, PC2), most-rated first.

    Raises:
        PlotDependencyError: matplotlib is missing.
    """

    def draw(fig: Any, canvas: Any) -> None:
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
            place_labels(ax, canvas.get_renderer(), coords, labels, sizes, _DPI)
        _legend(ax, colours, genres)

    return png_of(draw, size_inches=_SIZE_INCHES, dpi=_DPI)


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
