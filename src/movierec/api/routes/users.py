"""User routes: a user's ratings and recommendations, new users, new ratings.

Writes need the user's bearer token (from ``POST /users``) or the admin key, checked before
anything is written; they are stored durably before the response and folded in at once, so the
very next recommendation reflects them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from movierec.api import auth
from movierec.api.errors import NOT_TRAINED, responses
from movierec.api.params import Genre, K, MinRating, UserId, Years
from movierec.api.schemas import (
    NewUserIn,
    NewUserOut,
    RateOut,
    RatingBatchIn,
    RatingIn,
    RecommendOut,
    UserRatingsOut,
    plain,
)
from movierec.api.service import Svc

router = APIRouter(tags=["users"])


@router.get(
    "/users/{user_id}/ratings", response_model=UserRatingsOut, responses=responses(404, 500, 503)
)
def user_ratings(
    svc: Svc, user_id: UserId, k: Annotated[int, Query(ge=1, le=10_000)] = 20
) -> JSONResponse:
    """The user's rated movies, best first (ties: the more voted first)."""
    rows = svc.engine.user_ratings(user_id)
    return JSONResponse({"user_id": user_id, "count": len(rows), "movies": plain(rows[:k])})


@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecommendOut,
    responses={**responses(404, 422, 500, 503), **NOT_TRAINED},
)
def recommendations(
    svc: Svc,
    user_id: UserId,
    k: K = 10,
    genre: Genre = None,
    years: Years = None,
    min_rating: MinRating = None,
    reasons: Annotated[
        bool,
        Query(
            description='Explain each pick ("because you rated …"); false is several times faster.'
        ),
    ] = True,
    model: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            description="Which model ranks the picks (e.g. ease, als, mf, knn, "
            "chart, hybrid); default: the served one. Ratings stored for the user "
            "are folded into it on first use. An unknown name is a 422 listing "
            "the known ones.",
        ),
    ] = None,
) -> JSONResponse:
    """The user's top unseen movies, each with a reason; a user with no ratings gets the chart."""
    answer = svc.engine.recommend(
        user_id,
        k=k,
        genres=genre,
        years=years,
        min_rating=min_rating,
        reasons=reasons,
        model=model,
        in_request=True,  # an unknown model is a 422; a large unstored one is not fitted here
    )
    return JSONResponse(plain(answer.to_json()))


@router.get(
    "/recommendations", response_model=RecommendOut, responses=responses(404, 422, 500, 503)
)
def recommendations_for_genres(
    svc: Svc,
    likes: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description="Genres the visitor likes, comma-separated (e.g. Comedy,Animation).",
        ),
    ],
    k: K = 10,
    genre: Genre = None,
    years: Years = None,
    min_rating: MinRating = None,
) -> JSONResponse:
    """Picks for a visitor who has rated nothing and only names genres they like (two-tower
    model: they are placed among the users who like those genres most)."""
    answer = svc.engine.recommend_for_genres(
        likes, k=k, genres=genre, years=years, min_rating=min_rating
    )
    return JSONResponse(plain(answer.to_json()))


@router.post(
    "/users",
    response_model=NewUserOut,
    status_code=201,
    responses=responses(400, 404, 409, 422, 500, 503),
)
def new_user(svc: Svc, body: NewUserIn) -> JSONResponse:
    """Create a user, optionally with first ratings; returns their id and token (shown once)."""
    demographics = body.model_dump(exclude={"ratings"}, exclude_none=True)
    user = svc.engine.create_user([(r.movie_id, r.rating) for r in body.ratings], **demographics)
    return JSONResponse(
        {"user_id": user.user_id, "token": user.token, "ratings": user.ratings}, status_code=201
    )


@router.post(
    "/users/{user_id}/ratings",
    response_model=RateOut,
    responses=responses(400, 401, 403, 404, 422, 500, 503),
)
def rate(
    svc: Svc,
    user_id: UserId,
    body: RatingIn | RatingBatchIn,
    credentials: auth.Credentials,
) -> JSONResponse:
    """Store one rating or a batch (all or none) durably and fold it in at once."""
    credentials.check(user_id)
    ratings = body.ratings if isinstance(body, RatingBatchIn) else [body]
    result = svc.engine.add_ratings(user_id, [(r.movie_id, r.rating) for r in ratings])
    return JSONResponse(plain(result.__dict__))
