"""matplotlib for pictures served and saved by a library: no ``pyplot``, no global state.

Each picture gets its own Figure on an explicitly chosen Agg canvas, so no backend is switched
and no ``rcParams`` changed, and a server or a notebook around movierec is left as it was; the
figure is cleared once its PNG is written. Rendering is serialised by a lock, as matplotlib's
text layout is not thread-safe. matplotlib is optional (``pip install movierec[plot]``) and is
imported only when a picture is drawn.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

from movierec.errors import MovieRecError

_RENDER_LOCK = threading.Lock()


class PlotDependencyError(MovieRecError):
    """matplotlib, an optional dependency, is not installed."""


def matplotlib_classes() -> tuple[Any, Any]:
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
        matplotlib_classes()
    except PlotDependencyError:
        return False
    return True


def png_of(
    draw: Callable[[Any, Any], None], *, size_inches: tuple[float, float], dpi: int
) -> bytes:
    """The PNG of a white figure that ``draw(figure, canvas)`` filled.

    Raises:
        PlotDependencyError: matplotlib is missing.
    """
    Figure, FigureCanvasAgg = matplotlib_classes()
    with _RENDER_LOCK:
        fig = Figure(figsize=size_inches, dpi=dpi, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        try:
            draw(fig, canvas)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
            return buffer.getvalue()
        finally:
            fig.clear()
