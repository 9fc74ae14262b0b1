"""Typed configs that round-trip through JSON (STYLE rule 3), for models and data steps alike.

A frozen dataclass that inherits :class:`JsonConfig` writes itself as a plain dict and is
rebuilt from one, refusing keys it does not know, so a manifest or an experiment log rebuilds
exactly what ran. Validation stays in each dataclass's ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self, cast


class JsonConfig:
    """``to_json``/``from_json`` for a dataclass (mixed into ``@dataclass`` classes only)."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(cast(Any, self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cast(Any, cls))}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for {cls.__name__}; "
                f"expected {', '.join(sorted(names))}"
            )
        return cls(**data)
