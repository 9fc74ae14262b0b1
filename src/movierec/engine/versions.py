"""Model versions on disk: publish a new one atomically, list them, roll back.

Layout of ``<home>/models/<dataset>/<model>/``: one folder per version (``v0001``, ``v0002``…,
each a saved model: ``manifest.json`` + ``.npy``) and a ``CURRENT`` file naming the one being
served. A version is saved under a temporary name and renamed into place, and ``CURRENT`` is
replaced with ``os.replace``, so a reader sees the old version or the new one, never half of
either; a crash mid-publish leaves the old version serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movierec.errors import MovieRecError
from movierec.models.base import Recommender, read_manifest

_VERSION = re.compile(r"^v(\d{4,})$")
KEEP = 5  # versions kept on disk; older ones are pruned after a publish


@dataclass(frozen=True)
class Version:
    number: int
    path: Path
    created_at: str
    metrics: dict[str, Any]
    current: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "path": str(self.path),
            "created_at": self.created_at,
            "metrics": self.metrics,
            "current": self.current,
        }


class ModelVersions:
    """The versions of one model of one dataset."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def numbers(self) -> list[int]:
        if not self.root.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in self.root.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def path(self, number: int) -> Path:
        return self.root / f"v{number:04d}"

    def current_number(self) -> int | None:
        marker = self.root / "CURRENT"
        if marker.exists():
            match = _VERSION.match(marker.read_text().strip())
            if match and self.path(int(match.group(1))).is_dir():
                return int(match.group(1))
        numbers = self.numbers()
        return numbers[-1] if numbers else None

    def current(self) -> Path | None:
        number = self.current_number()
        return None if number is None else self.path(number)

    def list(self) -> list[Version]:
        current = self.current_number()
        versions = []
        for number in self.numbers():
            manifest = read_manifest(self.path(number))
            versions.append(
                Version(
                    number,
                    self.path(number),
                    manifest.get("created_at", ""),
                    manifest.get("metrics", {}),
                    number == current,
                )
            )
        return versions

    def publish(self, model: Recommender, metrics: dict[str, Any] | None = None) -> int:
        """Save ``model`` as the next version and make it current; returns its number."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = (self.numbers() or [0])[-1] + 1
        staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=self.root))
        try:
            model.save(staging / "model")
            if metrics:
                manifest_path = staging / "model" / "manifest.json"
                manifest = json.loads(manifest_path.read_text())
                manifest["metrics"] = metrics
                manifest_path.write_text(json.dumps(manifest, indent=2))
            os.rename(staging / "model", self.path(number))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._point_to(number)
        self._prune()
        return number

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold this model's retrain turn: an advisory lock on a file in its folder, so of
        several processes serving it (the service's workers) one retrains at a time and the
        others can adopt what it published instead of fitting the same model again."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".retrain.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def rollback(self, to: int | None = None) -> int:
        """Serve an earlier version: ``to``, or the one before the current."""
        numbers = self.numbers()
        current = self.current_number()
        if to is None:
            earlier = [n for n in numbers if current is not None and n < current]
            if not earlier:
                raise MovieRecError(
                    f"no version before v{current or 0:04d} to roll back to "
                    f"(versions: {', '.join(f'v{n:04d}' for n in numbers)})"
                )
            to = earlier[-1]
        if to not in numbers:
            raise MovieRecError(
                f"no version {to}; versions: {', '.join(str(n) for n in numbers) or 'none'}"
            )
        self._point_to(to)
        return to

    def _point_to(self, number: int) -> None:
        handle, temporary = tempfile.mkstemp(prefix=".CURRENT-", dir=self.root)
        with os.fdopen(handle, "w") as marker:
            marker.write(f"v{number:04d}\n")
            marker.flush()
            os.fsync(marker.fileno())
        os.replace(temporary, self.root / "CURRENT")

    def _prune(self) -> None:
        current = self.current_number()
        for number in self.numbers()[:-KEEP]:
            if number != current:
                shutil.rmtree(self.path(number), ignore_errors=True)
