"""The home folder: where datasets, models and the ratings store live.

`MOVIEREC_HOME` wins; otherwise the XDG data folder (`$XDG_DATA_HOME/movierec`, by default
`~/.local/share/movierec`). Every command takes `--home` to override both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_home() -> Path:
    """The home folder chosen by the environment."""
    explicit = os.environ.get("MOVIEREC_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "movierec"


@dataclass(frozen=True)
class Home:
    """Paths inside one home folder; nothing is created until asked for."""

    root: Path

    @classmethod
    def resolve(cls, root: str | Path | None = None) -> Home:
        return cls(Path(root).expanduser() if root else default_home())

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def downloads(self) -> Path:
        """Cache of downloaded archives, kept so a re-import needs no network."""
        return self.root / "downloads"

    @property
    def ratings_db(self) -> Path:
        return self.root / "ratings.db"

    def dataset_dir(self, name: str) -> Path:
        return self.datasets / name
