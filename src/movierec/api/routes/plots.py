"""Plot routes: the embedding map of a model's movie vectors, as a PNG.

Which model: the engine's model of that name — the one in memory, else the home folder's
current version, else fitted now and stored, on datasets small enough to fit it inside a
request (:func:`~movierec.engine.fitting.model_for_request`).

Rendering takes 0.3–0.8 s, so each picture is cached per (model object, n, movies known to
the model): a retrain swaps in a new model object, which draws afresh, and the old entries go
with the old model (weak keys). Online fold-ins of ratings move movie vectors only slightly
and do not redraw; a new movie folded in does.
"""

from __future__ import annotations

import threading
import weakref
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from movierec.api.errors import NOT_TRAINED, ErrorBody, responses
from movierec.api.service import Svc
from movierec.engine import fitting
from movierec.engine.core import check_model_name
from movierec.models.base import Recommender
from movierec.plots import embedding_map as maps

router = APIRouter()

_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Recommender, dict[tuple[int, int], maps.EmbeddingMap]] = (
    weakref.WeakKeyDictionary()
)

_PNG = {
    200: {
        "content": {"image/png": {}},
        "description": "The map: a PNG. `X-Explained-Variance` holds the two axes' "
        "shares of the variance, comma-separated.",
    }
}
_NO_MATPLOTLIB = {
    501: {"model": ErrorBody, "description": "matplotlib is not installed on the server"}
}


@router.get(
    "/plots/embeddings.png",
    tags=["plots"],
    response_class=Response,
    responses={**_PNG, **responses(422, 500), **NOT_TRAINED, **_NO_MATPLOTLIB},
)
def embeddings(
    svc: Svc,
    model: Annotated[
        str,
        Query(
            min_length=1,
            max_length=60,
            description="A model with movie vectors: mf, mf-bounded, mf-tuned, als, ials…",
        ),
    ] = "mf",
    n: Annotated[
        int,
        Query(
            ge=maps.MIN_MOVIES, le=maps.MAX_MOVIES, description="How many of the most-rated movies."
        ),
    ] = maps.DEFAULT_MOVIES,
) -> Response:
    """A labelled 2-D PCA map of a model's movie vectors for the most-rated movies."""
    if not maps.available():
        raise HTTPException(
            501, "drawing plots needs matplotlib on the server: pip install movierec[plot]"
        )
    check_model_name(model)  # unknown → 422 naming `model` and the known ones
    maps.require_movie_vectors(model)  # no vectors → 422 naming the model
    engine = svc.engine
    with _LOCK:
        fitted = fitting.model_for_request(engine, model)
        key = (n, len(fitted.movies))
        drawn = _CACHE.get(fitted, {}).get(key)
    if drawn is None:
        drawn = maps.embedding_map(fitted, engine.dataset, n, name=model)
        with _LOCK:
            _CACHE.setdefault(fitted, {})[key] = drawn
    shares = ",".join(f"{share:.6f}" for share in drawn.explained)
    return Response(drawn.png, media_type="image/png", headers={"X-Explained-Variance": shares})
