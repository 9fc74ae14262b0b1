"""The application factory (MLServer's ``rest/app.py`` pattern): settings and engine injected.

``create_app()`` reads :class:`Settings` from the environment; tests pass their own settings, or
an engine they built. The engine is built once, warmed at startup (serving model, title index,
genre bit-sets, vote statistics, the ratings store), and shared by every request through
:mod:`movierec.api.service`: handlers are thin calls into it. This module only builds the app
and includes the routers, which never import it. For
``uvicorn --factory movierec.api.app:create_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from movierec import __version__
from movierec.api import errors
from movierec.api.routes import catalog, onboarding, plots, users
from movierec.api.service import Service
from movierec.api.settings import Settings
from movierec.engine.core import Engine

WEB_STATIC = Path(__file__).resolve().parents[1] / "web" / "static"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The movierec HTTP service.

    Args:
        settings: configuration (default: from ``MOVIEREC_*`` environment variables).
        engine: an engine already built (tests); default: opened from the settings at startup.
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: Service = app.state.service
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            state.settings.request_threads
        )
        state.engine  # noqa: B018  (build and warm before the first request)
        yield
        state.close()

    app = FastAPI(
        title="movierec",
        version=__version__,
        lifespan=lifespan,
        description="Movie recommendations: charts, similar movies, personal picks "
        "that absorb new ratings at once.",
    )
    app.state.service = Service(settings, engine)
    errors.install(app)
    app.include_router(catalog.router)
    app.include_router(users.router)
    app.include_router(plots.router)
    app.include_router(onboarding.router)
    if WEB_STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")
        index = WEB_STATIC / "index.html"

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(index)

    return app
