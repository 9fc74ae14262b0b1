"""What the handlers share, and the dependency that hands it to them.

Routes depend on this module, never on :mod:`movierec.api.app`, so the app can import the
routes without a cycle: the app stores one :class:`Service` in ``app.state`` and routes receive
it through ``Svc`` (FastAPI's ``Depends``).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, Request

from movierec.api.settings import Settings
from movierec.engine.core import Engine

log = logging.getLogger(__name__)


class Service:
    """What the handlers share: the settings and the engine (built and warmed once)."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self._engine = engine
        self.owns_engine = engine is None  # only what it opened is closed at shutdown
        self._warm = False
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine, built on first use when startup did not (transports without lifespan)."""
        if self._engine is None or not self._warm:
            with self._lock:
                if self._engine is None:
                    self._engine = Engine.open(
                        self.settings.resolved_home(),
                        self.settings.dataset,
                        db=self.settings.db,
                        policy=self.settings.policy(),
                        mapped=True,  # its ratings' pages are dropped once warm
                    )
                    self._engine.cache_answers(self.settings.answer_cache)
                if not self._warm:  # no request pays for the lazy parts or races to build them
                    engine = self._engine
                    engine.warm()
                    self._warm = True
                    log.info("serving %s (%s)", engine.dataset.name, engine.serving_model())
        return self._engine

    def close(self) -> None:
        """Wait for a running retrain; close the store if this service opened it."""
        engine = self._engine
        if engine is None:
            return
        engine.close(close_store=self.owns_engine)
        if self.owns_engine:
            self._engine, self._warm = None, False  # a restart opens it again


def service(request: Request) -> Service:
    """The app's :class:`Service` (a FastAPI dependency)."""
    return request.app.state.service


#: a handler's parameter receiving the shared :class:`Service`
Svc = Annotated[Service, Depends(service)]
