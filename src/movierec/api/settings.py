"""Service settings, read from ``MOVIEREC_*`` environment variables or given explicitly.

A frozen model rather than module globals, so tests build apps with different settings side by
side and a server's configuration is visible in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from movierec.engine.core import RetrainPolicy
from movierec.errors import InvalidValueError
from movierec.home import Home

PREFIX = "MOVIEREC_"


class Settings(BaseModel):
    """What a running service needs to know.

    Attributes:
        home: the home folder (None: ``MOVIEREC_HOME`` or the XDG default, as the CLI does).
        dataset: the stored dataset served.
        db: a ratings-store path or ``postgresql://`` URL (None: ``ratings.db`` in the home).
        admin_key: the ``X-Admin-Key`` that may write any user's ratings (None: no admin).
        retrain_after_ratings: a background retrain starts after this many new ratings…
        retrain_after_seconds: …or this long after the last fit with any rating pending.
        request_threads: handlers run in a thread pool this big. The engine's work holds the
            GIL, so more threads than a few only fight over it: latency grows, throughput not.
        answer_cache: recent recommendation answers kept per worker, reused until a rating
            or a model swap could change them (0: every request computes its answer).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path | None = None
    dataset: str = "ml-100k"
    db: str | None = None
    admin_key: str | None = Field(default=None, repr=False)
    retrain_after_ratings: int = 1_000
    retrain_after_seconds: float | None = 3_600.0
    request_threads: int = Field(default=4, ge=1, le=256)
    answer_cache: int = Field(default=4096, ge=0, le=1_000_000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``MOVIEREC_<FIELD>`` variables; ``overrides`` (not None) win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = (
                    None if name == "retrain_after_seconds" and raw.lower() == "none" else raw
                )
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # one line naming the variable, not pydantic's report
            problem = exc.errors()[0]
            name = str(problem["loc"][0]) if problem["loc"] else "settings"
            source = name if name in overrides else PREFIX + name.upper()
            raise InvalidValueError(source, problem.get("input"), problem["msg"].lower()) from None

    def resolved_home(self) -> Home:
        return Home.resolve(self.home)

    def policy(self) -> RetrainPolicy:
        return RetrainPolicy(
            after_ratings=self.retrain_after_ratings, after_seconds=self.retrain_after_seconds
        )
