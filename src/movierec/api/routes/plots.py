"""Plot routes: the embedding map of a model's movie vectors, as a PNG.

Which model: the engine's model of that name — the one in memory, else the home folder's
current version, else fitted now and stored, on datasets small enough to fit it inside a
request (:func:`~movierec.engine.fitting.model_for_request`). The engine draws each map once
per model object and ``n`` (:mod:`movierec.engine.embedding_maps`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from movierec.api.errors import NOT_TRAINED, ErrorBody, Responses, responses
from movierec.api.service import Svc
from movierec.plots import embedding_map as maps

router = APIRouter()

_PNG: Responses = {
    200: {
        "content": {"image/png": {}},
        "description": "The map: a PNG. `X-Explained-Variance` holds the two axes' "
        "shares of the variance, comma-separated.",
    }
}
_NO_MATPLOTLIB: Responses = {
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
    drawn = svc.engine.embedding_map(model, n, in_request=True)  # unknown, no vectors → 422
    shares = ",".join(f"{share:.6f}" for share in drawn.explained)
    return Response(drawn.png, media_type="image/png", headers={"X-Explained-Variance": shares})
