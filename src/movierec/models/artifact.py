"""A saved model on disk: a folder of ``.npy`` arrays and a ``manifest.json``, without pickle.

:meth:`Recommender.save <movierec.models.base.Recommender.save>` decides what goes in; this
module writes the folder atomically (a staging folder renamed into place, so a reader never
finds half an artifact) and reads it back, memory-mapping the large arrays.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from movierec.errors import DataFormatError

ARTIFACT_VERSION = 1
_MMAP_BYTES = 16 << 20  # arrays larger than this are memory-mapped on load


def write_artifact(
    target: Path,
    manifest: dict[str, Any],
    arrays: dict[str, np.ndarray],
    write_parts: Callable[[Path], None],
) -> None:
    """Write ``arrays`` and ``manifest`` to the folder ``target``, atomically.

    ``write_parts`` writes whatever else belongs in the folder (a composite model's parts)
    into the staging folder before it is renamed into place.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        write_parts(staging)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_arrays(folder: Path, names: list[str]) -> dict[str, np.ndarray]:
    """The named arrays of a model folder; those over 16 MB memory-mapped, read-only."""
    arrays = {}
    for name in names:
        file = folder / f"{name}.npy"
        big = file.stat().st_size > _MMAP_BYTES
        arrays[name] = np.load(file, allow_pickle=False, mmap_mode="r" if big else None)
    return arrays


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a model folder, checked for a format this version can read."""
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise DataFormatError("no manifest.json: not a movierec model folder", file=folder)
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"corrupt manifest: {exc}", file=path) from exc
    if manifest.get("format_version", 0) > ARTIFACT_VERSION:
        raise DataFormatError("saved by a newer movierec; upgrade to load it", file=path)
    return manifest
