"""Typed hyper-parameters: validated when a model is built, round-tripping through JSON.

A model's config is written into its artifact's ``manifest.json``, so the command line, the
service and an experiment log can rebuild the model exactly.
"""

from __future__ import annotations

import dataclasses

from movierec.jsonconfig import JsonConfig
from movierec.validate import number_at_least


@dataclasses.dataclass(frozen=True)
class Config(JsonConfig):
    """Hyper-parameters; subclasses add typed fields and check them in :meth:`validate`."""

    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, the allowed range, and the value given."""


@dataclasses.dataclass(frozen=True)
class RatingConfig(Config):
    """Config of models that predict ratings.

    ``shrink_votes`` (m) shrinks each predicted score toward the global mean C by the movie's
    training vote count v, ``v/(v+m)·pred + m/(v+m)·C``, to keep barely-rated movies off the
    top of a ranking; 0 turns it off. ``predict`` is never shrunk.
    """

    shrink_votes: float = 0.0

    def validate(self) -> None:
        super().validate()
        number_at_least(self.shrink_votes, "shrink_votes")
