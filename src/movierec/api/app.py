"""The application factory (MLServer's ``rest/app.py`` pattern): settings and engine injected.

``create_app()`` reads :class:`Settings` from the environment; tests pass their own settings, or
an engine they built. The engine is built once, warmed at startup (serving model, title index,
genre bit-sets, vote statistics, the ratings store), and shared by every request: handlers are
thin calls into it. For ``uvicorn --factory movierec.api.app:create_app``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from movierec import __version__
from movierec.api import errors
from movierec.api.settings import Settings
from movierec.api.writes import Writer
from movierec.engine.core import Engine

log = logging.getLogger(__name__)

WEB_STATIC = Path(__file__).resolve().parents[1] / "web" / "static"


class Service:
    """What the handlers share: the settings, the engine (built once), the rating writer."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self._engine = engine
        self.owns_engine = engine is None  # only what it opened is closed at shutdown
        self._writer: Writer | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine, built on first use when startup did not (transports without lifespan)."""
        if self._engine is None or self._writer is None:
            with self._lock:
                if self._engine is None:
                    self._engine = Engine.open(self.settings.resolved_home(),
                                               self.settings.dataset, db=self.settings.db,
                                               policy=self.settings.policy())
                if self._writer is None:
                    self.warm(self._engine)
                    self._writer = Writer(self._engine)
        return self._engine

    @property
    def writer(self) -> Writer:
        self.engine  # noqa: B018  (builds the writer with the engine)
        assert self._writer is not None
        return self._writer

    @staticmethod
    def warm(engine: Engine) -> None:
        """Build everything lazy now, once, so no request pays for it or races to build it."""
        live = engine.online()
        engine.model(live.model_name if live is not None else engine.default_model())
        engine.titles  # noqa: B018
        engine.genres  # noqa: B018
        engine.candidates(min_rating=0.0)  # vote statistics and the well-rated scores
        log.info("serving %s (%s)", engine.dataset.name, engine.serving_model())

    def close(self) -> None:
        """Wait for a running retrain; close the store if this service opened it."""
        engine = self._engine
        live = engine._online if engine is not None else None
        if live is not None:
            live.wait(timeout=30)
            if self.owns_engine:
                live.store.close()
                self._engine = self._writer = None  # a restart opens it again


def service(request: Request) -> Service:
    return request.app.state.service


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The movierec HTTP service.

    Args:
        settings: configuration (default: from ``MOVIEREC_*`` environment variables).
        engine: an engine already built (tests); default: opened from the settings at startup.
    """
    from movierec.api.routes import catalog, plots, users

    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: Service = app.state.service
        anyio.to_thread.current_default_thread_limiter().total_tokens = \
            state.settings.request_threads
        state.engine  # noqa: B018  (build and warm before the first request)
        yield
        state.close()

    app = FastAPI(title="movierec", version=__version__, lifespan=lifespan,
                  description="Movie recommendations: charts, similar movies, personal picks "
                  "that absorb new ratings at once.")
    app.state.service = Service(settings, engine)
    errors.install(app)
    app.include_router(catalog.router)
    app.include_router(users.router)
    app.include_router(plots.router)
    if WEB_STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")
        index = WEB_STATIC / "index.html"

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(index)
    return app
