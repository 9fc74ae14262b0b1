"""Labels a person can read on a scatter plot: titles shortened at a word boundary, each
placed at the first spot around its point that overlaps no other label and no other point.

Placement works in display pixels, so it must run once the axes' limits are final; labels
pushed off their point get a thin leader line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, SupportsInt

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

LABEL_CHARS = 26
_DANGLING = {"a", "an", "and", "at", "de", "for", "in", "of", "on", "or", "the", "to", "with"}


def short_label(title: object, year: SupportsInt | None, width: int = LABEL_CHARS) -> str:
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


# Directions tried for a label, nearest first: right, left, above, below, then the diagonals.
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
_DISTANCES = (0.0, 10.0, 22.0, 38.0, 58.0)  # extra pixels beyond the marker, ring by ring


def place_labels(
    ax: Axes, renderer: Any, coords: np.ndarray, labels: list[str], sizes: np.ndarray, dpi: float
) -> None:
    """Write each label at the first free spot around its point, most-rated first.

    A spot is free when its box overlaps no placed label, no other point and stays inside
    the axes; when none is, the spot with the least overlap wins. Labels pushed off their
    point get a thin leader line.
    """
    points = ax.transData.transform(coords)
    radii = np.sqrt(sizes) / 2 * dpi / 72  # marker radius in pixels
    frame = ax.bbox
    limits = np.array([frame.x0, frame.y0, frame.x1, frame.y1])
    markers = np.column_stack([points - radii[:, None], points + radii[:, None]])
    placed = np.empty((0, 4))
    directions = np.array(_DIRECTIONS, dtype=np.float64)
    rings = np.repeat(np.array(_DISTANCES), len(directions))  # candidates ring by ring
    units = np.tile(directions, (len(_DISTANCES), 1))
    style: dict[str, Any] = {  # Axes.annotate's keyword arguments
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
            (best[0] + 1.5 - points[i, 0]) * 72 / dpi,
            (best[1] + 1.5 - points[i, 1]) * 72 / dpi,
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
