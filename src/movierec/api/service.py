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
from movierec.engine.users import Users

log = logging.getLogger(__name__)


class Service:
    """What the handlers share: the settings, the engine (built once), its users side."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self._engine = engine
        self.owns_engine = engine is None  # only what it opened is closed at shutdown
        self._users: Users | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine, built on first use when startup did not (transports without lifespan)."""
        if self._engine is None or self._users is None:
            with self._lock:
                if self._engine is None:
                    self._engine = Engine.open(
                        self.settings.resolved_home(),
                        self.settings.dataset,
                        db=self.settings.db,
                        policy=self.settings.policy(),
                    )
                if self._users is None:
                    self.warm(self._engine)
                    self._users = Users(self._engine)
        return self._engine

    @property
    def users(self) -> Users:
        """Users, their ratings and tokens (:mod:`movierec.engine.users`)."""
        self.engine  # noqa: B018  (builds the users side with the engine)
        assert self._users is not None
        return self._users

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
                self._engine = self._users = None  # a restart opens it again


def service(request: Request) -> Service:
    """The app's :class:`Service` (a FastAPI dependency)."""
    return request.app.state.service


#: a handler's parameter receiving the shared :class:`Service`
Svc = Annotated[Service, Depends(service)]
