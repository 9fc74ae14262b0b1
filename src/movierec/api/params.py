"""Query and path parameters shared by several routes, declared once.

Each carries its bounds and description, so the OpenAPI schema documents them and FastAPI
answers a value outside them with a 422 naming the parameter, before the handler runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

_ID_MAX = 2**31 - 1

MovieId = Annotated[int, Path(ge=0, le=_ID_MAX, description="A movie id of the catalog.")]
UserId = Annotated[int, Path(ge=0, le=_ID_MAX, description="A user id.")]
K = Annotated[int, Query(ge=1, le=100, description="How many results.")]
Years = Annotated[str | None, Query(max_length=40, description="1950-1959, 1950s, 1994…")]
Genre = Annotated[str | None, Query(max_length=200, description="Genre name(s), comma-separated.")]
MinRating = Annotated[
    float | None,
    Query(
        allow_inf_nan=False, description="Only movies rated at least this (vote-count shrunk mean)."
    ),
]
