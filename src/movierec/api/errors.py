"""The one place domain errors become HTTP statuses (MLServer's ``rest/errors.py`` pattern).

Handlers never catch errors to pick a status; they let the engine's errors rise, and the
handlers installed here answer with the ``status`` each domain error carries
(:mod:`movierec.errors`) and a JSON body ``{error, message, field?, allowed?, candidates?}``.
Anything else, a stray ``ValueError`` included, is a bug and becomes a 500 whose body names no
internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from movierec.errors import AmbiguousTitleError, InvalidValueError, MovieRecError

log = logging.getLogger(__name__)

#: an OpenAPI ``responses`` mapping: status (or "default") → its description, model, content
Responses = dict[int | str, dict[str, Any]]


class ErrorBody(BaseModel):
    """Every error response: a machine-readable kind and a human message naming the field."""

    model_config = ConfigDict(extra="forbid")

    error: str
    message: str
    field: str | None = None
    allowed: str | None = None
    candidates: list[dict[str, Any]] | None = None


class AuthError(MovieRecError):
    """No credentials (401) or the wrong ones (403); raised by :mod:`movierec.api.auth`."""

    def __init__(self, message: str, status: int):
        self.status = status
        super().__init__(message)


def status_of(exc: BaseException) -> int:
    """The HTTP status an error carries; 500 for anything that is not a domain error (a bug,
    even a ``ValueError``, is never the client's fault)."""
    if not isinstance(exc, MovieRecError):
        return 500
    return int(exc.status)


def body_of(exc: BaseException, status: int) -> dict[str, Any]:
    if status >= 500 and status != 503:  # 503 says what is down, so a client knows to retry
        return {"error": "InternalError", "message": "internal error; see the service log"}
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, InvalidValueError):
        body["field"] = exc.field
        body["allowed"] = exc.allowed
    if isinstance(exc, AmbiguousTitleError):
        body["candidates"] = exc.candidates
    return body


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    status = status_of(exc)
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body_of(exc, status), status_code=status, headers=headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = (
        f"{where}: {first.get('msg', 'invalid request')}"
        if where
        else str(first.get("msg", "invalid request"))
    )
    return JSONResponse(
        {"error": "ValidationError", "message": message, "field": where or None}, status_code=422
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "error"
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 405:  # Starlette names only the first route's methods; a path has several
        headers["Allow"] = ", ".join(_methods_of(request))
    return JSONResponse(
        {"error": "HTTPError", "message": str(detail)}, status_code=status, headers=headers or None
    )


def _methods_of(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in _walk(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


def _walk(routes: Any) -> Any:
    """Leaf routes, through included routers (wrapped differently across FastAPI versions;
    the routers here have no prefix, so their routes' patterns match full paths)."""
    for route in routes:
        inner = getattr(route, "routes", None)
        if inner is None:
            inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None and not hasattr(route, "path_regex"):
            yield from _walk(inner)
        else:
            yield route


def install(app: FastAPI) -> None:
    """Register the handlers: request validation, HTTP errors, domain errors, the rest (500)."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(MovieRecError, _domain)
    app.add_exception_handler(Exception, _domain)


def responses(*statuses: int) -> Responses:
    """OpenAPI ``responses`` for the error statuses an endpoint can return."""
    text = {
        400: "malformed request body (not JSON)",
        401: "no credentials",
        403: "wrong credentials",
        404: "not found",
        409: "conflict (ambiguous title, id taken)",
        422: "invalid input; names the field",
        500: "internal error",
        503: "ratings store unavailable; retry later",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


#: OpenAPI ``responses`` entry of the routes that may refuse to fit a model inside a request
NOT_TRAINED: Responses = {
    409: {
        "model": ErrorBody,
        "description": "the model is not trained for this "
        "dataset, which is too large to fit it in a request",
    }
}
