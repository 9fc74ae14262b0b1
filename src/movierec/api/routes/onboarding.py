"""Onboarding routes: which films to ask a newcomer about next, and groups of films to pick.

"Haven't seen it" is not stored: the client sends the films skipped so far with each request
(``skipped=``), so a skip counts without writing a fake rating. Choosing groups writes their
films as liked ratings (the user's token is needed, as for any rating).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from movierec.api import auth
from movierec.api.errors import responses
from movierec.api.params import UserId
from movierec.api.schemas import GroupsIn, GroupsOut, NextFilmsOut, RateOut, plain
from movierec.api.service import Svc
from movierec.errors import InvalidValueError

router = APIRouter(tags=["onboarding"])


def _ids(text: str | None, field: str) -> list[int]:
    """``1,2,3`` → [1, 2, 3]; anything else is a 422 naming the field."""
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidValueError(field, text, "movie ids separated by commas") from None


@router.get("/onboarding/next", response_model=NextFilmsOut, responses=responses(404, 422, 500))
def next_films(
    svc: Svc,
    user_id: Annotated[
        int | None,
        Query(ge=0, le=2**31 - 1, description="Whose stored ratings count as answers."),
    ] = None,
    n: Annotated[int, Query(ge=1, le=50, description="How many films.")] = 10,
    strategy: Annotated[
        str | None,
        Query(
            max_length=20,
            description="adaptive (the default: follows the answers so far), coverage, "
            "pop-entropy or chart.",
        ),
    ] = None,
    skipped: Annotated[
        str | None,
        Query(max_length=20_000, description="Films answered 'haven't seen it', comma-separated."),
    ] = None,
) -> JSONResponse:
    """The next films to ask about, best question first; none already rated or skipped."""
    answer = svc.engine.next_films(user_id, n, strategy=strategy, skipped=_ids(skipped, "skipped"))
    return JSONResponse(plain(answer.to_json()))


@router.get("/onboarding/groups", response_model=GroupsOut, responses=responses(500))
def groups(svc: Svc) -> JSONResponse:
    """Groups of well-known films from regions of the item space, each named by its genres."""
    return JSONResponse(plain({"groups": svc.engine.film_groups()}))


@router.post(
    "/users/{user_id}/groups",
    response_model=RateOut,
    responses=responses(400, 401, 403, 404, 422, 500, 503),
)
def choose_groups(
    svc: Svc,
    user_id: UserId,
    body: GroupsIn,
    credentials: auth.Credentials,
) -> JSONResponse:
    """Store the chosen groups' films as liked (4★, changeable) and fold them in at once."""
    credentials.check(user_id)
    result = svc.engine.choose_groups(user_id, body.groups)
    return JSONResponse(plain(result.__dict__))
