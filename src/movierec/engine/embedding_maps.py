"""Embedding maps of the hub's models, drawn once per model object.

Rendering takes 0.3–0.8 s, so each picture is cached per (model object, n, movies known to
the model): a retrain swaps in a new model object, which draws afresh, and the old entries go
with the old model (weak keys). Online fold-ins of ratings move movie vectors only slightly
and do not redraw; a new movie folded in does.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

from movierec.engine.fitting import model_for_request
from movierec.engine.hub import ModelHub, check_model_name
from movierec.models.base import Recommender
from movierec.plots import embedding_map as maps


class EmbeddingMaps:
    """The drawn maps of one hub's models."""

    def __init__(self, hub: ModelHub):
        self.hub = hub
        self._lock = threading.Lock()
        self._cache: weakref.WeakKeyDictionary[
            Recommender, dict[tuple[int, int], maps.EmbeddingMap]
        ] = weakref.WeakKeyDictionary()

    def draw(
        self,
        name: str,
        n: int = maps.DEFAULT_MOVIES,
        *,
        in_request: bool = False,
        path: str | Path | None = None,
    ) -> maps.EmbeddingMap:
        """The map of model ``name``'s movie vectors for the ``n`` most-rated movies.

        Args:
            in_request: asked inside a request: a model neither in memory nor stored is not
                fitted on a large dataset (:func:`~movierec.engine.fitting.model_for_request`).
            path: also write the PNG there.

        Raises:
            InvalidValueError: an unknown model name or a bad ``n`` (the field is named).
            NoMovieVectorsError: the model has no movie vectors.
            ModelNotTrainedError: see ``in_request``.
        """
        check_model_name(name)  # unknown → names `model` and the known ones
        maps.check_n(n)
        maps.require_movie_vectors(name)  # no vectors → names the model, before any fit
        with self._lock:
            fitted = model_for_request(self.hub, name) if in_request else self.hub.model(name)
            key = (n, len(fitted.movies))
            drawn = self._cache.get(fitted, {}).get(key)
        if drawn is None:
            drawn = maps.embedding_map(fitted, self.hub.dataset, n, name=name)
            with self._lock:
                self._cache.setdefault(fitted, {})[key] = drawn
        if path is not None:
            drawn.save(path)
        return drawn
