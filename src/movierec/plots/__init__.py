"""Pictures of what a model learned, for people: PNG bytes or files, drawn with matplotlib.

matplotlib is an optional dependency (``pip install movierec[plot]``); it is imported only when
a picture is drawn, so importing this package costs nothing and works without it.
"""

from movierec.plots.embedding_map import (
    EmbeddingMap,
    PlotDependencyError,
    PlotError,
    embedding_map,
    pca_2d,
)

__all__ = ["EmbeddingMap", "PlotDependencyError", "PlotError", "embedding_map", "pca_2d"]
