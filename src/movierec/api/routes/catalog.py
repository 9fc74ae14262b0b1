"""Catalog routes: health, title and description search, movie details, similar movies, charts,
genres.

Each handler is one engine call; errors rise to :mod:`movierec.api.errors`. Handlers are plain
``def`` so FastAPI runs them in its threadpool: the engine's work is numpy/numba, not ``await``.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from movierec.api.errors import responses
from movierec.api.params import (
    Genre,
    K,
    MinRating,
    MovieId,
    Years,
)
from movierec.api.schemas import (
    ChartOut,
    Details,
    FindOut,
    GenresOut,
    Health,
    SearchOut,
    SimilarOut,
    plain,
)
from movierec.api.service import Svc

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["service"], responses=responses(500, 503))
def healthz(svc: Svc) -> JSONResponse:
    """Liveness and what is served: the model ratings fold into, pending ratings, retrains."""
    return JSONResponse({"status": "ok", **svc.engine.health(), "worker": os.getpid()})


@router.get("/genres", response_model=GenresOut, tags=["catalog"], responses=responses(500))
def genres(svc: Svc) -> JSONResponse:
    """The dataset's genre names, for filters."""
    return JSONResponse({"genres": plain(svc.engine.genre_names())})


@router.get(
    "/movies/search", response_model=SearchOut, tags=["catalog"], responses=responses(422, 500)
)
def search(
    svc: Svc,
    q: Annotated[
        str,
        Query(
            min_length=1, max_length=200, description="A title as typed, optionally with the year."
        ),
    ],
    k: K = 10,
) -> JSONResponse:
    """Fuzzy, year-aware title search; best first."""
    matches = svc.engine.search(q, k)
    return JSONResponse(
        {
            "query": q,
            "matches": [
                {
                    "movie_id": int(m.movie_id),
                    "title": m.title,
                    "year": m.year,
                    "score": float(m.score),
                    "popularity": float(m.popularity),
                }
                for m in matches
            ],
        }
    )


@router.get(
    "/movies/find", response_model=FindOut, tags=["catalog"], responses=responses(404, 422, 500)
)
def find(
    svc: Svc,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description='What to watch, in words: "a \'50s comedy", "heist film with a twist".',
        ),
    ],
    k: K = 10,
    genre: Genre = None,
    years: Years = None,
    min_rating: MinRating = None,
) -> JSONResponse:
    """Search by description: sentence embeddings of title, genres, overview, tags and keywords,
    ranked by cosine (TF-IDF, said in ``notes``, without the model). Declared before
    ``/movies/{movie_id}`` so "find" is not taken for an id."""
    answer = svc.engine.find(q, k=k, genres=genre, years=years, min_rating=min_rating)
    return JSONResponse(plain(answer.to_json()))


@router.get(
    "/movies/{movie_id}", response_model=Details, tags=["catalog"], responses=responses(404, 500)
)
def details(svc: Svc, movie_id: MovieId) -> JSONResponse:
    """Every catalog field of one movie, with its votes and mean rating."""
    return JSONResponse(plain(svc.engine.details(movie_id)))


@router.get(
    "/movies/{movie_id}/similar",
    response_model=SimilarOut,
    tags=["catalog"],
    responses=responses(404, 409, 422, 500),
)
def similar(
    svc: Svc,
    movie_id: MovieId,
    k: K = 10,
    by: Annotated[
        Literal["content", "collab", "hybrid"],
        Query(description="Content features, collaborative factors, or both."),
    ] = "content",
    min_rating: MinRating = None,
    years: Years = None,
    genre: Genre = None,
    same_genre: Annotated[bool, Query(description="Only movies sharing a genre with it.")] = False,
) -> JSONResponse:
    """Movies like this one, optionally well rated, from some years, of some genres."""
    answer = svc.engine.similar(
        movie_id,
        by=by,
        k=k,
        same_genre=same_genre,
        min_rating=min_rating,
        years=years,
        genres=genre,
    )
    return JSONResponse(plain(answer.to_json()))


@router.get(
    "/charts/top", response_model=ChartOut, tags=["charts"], responses=responses(404, 422, 500)
)
def top(
    svc: Svc,
    k: K = 10,
    genre: Genre = None,
    years: Years = None,
    segment: Annotated[
        str | None,
        Query(max_length=200, description="Demographics: gender=F,age=25-34,occupation=writer"),
    ] = None,
    min_votes: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    language: Annotated[
        str | None,
        Query(max_length=20, description="Original language (where the dataset has it)."),
    ] = None,
) -> JSONResponse:
    """The IMDB weighted-rating chart, filtered."""
    chart = svc.engine.top(
        k=k,
        genres=genre,
        years=years,
        segment=segment or None,
        min_votes=min_votes,
        language=language,
    )
    return JSONResponse(plain(chart.to_json()))
