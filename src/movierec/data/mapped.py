"""A stored dataset's ratings memory-mapped, so a long-running service holds no copy of them.

A service keeps its dataset for what it builds at startup (the reasons' who-rated-what, the
catalogue's votes) and for retraining; between those it never reads the ratings. Decoded from
Parquet they are private memory in every worker (33.8M ratings: 0.64 GB each). Mapped from
uncompressed ``.npy`` columns instead, they are pages of the file cache that the workers share,
and :func:`release_pages` drops them from a process once its startup is done: the kernel keeps
them as cache (reclaimable), and a later read faults them back in from it or from disk.

The columns are written once, beside ``ratings.parquet``, in ``<dataset>/mapped/``, with the
Parquet file's size and modification time so a rewritten dataset is mapped afresh (a dataset
saved again replaces its whole folder, the columns with it).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from movierec.data.dataset import RATING_COLUMNS

log = logging.getLogger(__name__)

_FOLDER = "mapped"
_SOURCE = "source.json"


def mapped_ratings(folder: Path) -> pd.DataFrame | None:
    """The dataset's ratings as read-only memory-mapped columns (written on first use); None
    when they cannot be written or mapped (a read-only home, a full disk: the caller reads the
    Parquet file instead)."""
    parquet = folder / "ratings.parquet"
    source = _describe(parquet)
    target = folder / _FOLDER
    try:
        if _read_source(target) != source:
            _write_columns(parquet, target, source)
        columns = {name: np.load(target / f"{name}.npy", mmap_mode="r") for name in RATING_COLUMNS}
    except (OSError, ValueError) as exc:  # read-only home, full disk, a damaged column file
        log.warning("ratings of %s not memory-mapped (%s): read into memory", folder.name, exc)
        return None
    return pd.DataFrame(columns, copy=False)


def release_pages(frame: pd.DataFrame) -> int:
    """Drop the memory-mapped columns' pages from this process (they stay readable); returns
    the bytes so mapped, 0 for a frame held in memory."""
    released = 0
    for name in frame.columns:
        base = frame[name].to_numpy()
        while isinstance(base, np.ndarray):  # a view of a view … of the mapped file
            base = base.base
        if isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            base.madvise(mmap.MADV_DONTNEED)
            released += len(base)
    return released


def _describe(parquet: Path) -> dict[str, int]:
    stat = parquet.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_source(target: Path) -> dict[str, int] | None:
    try:
        return json.loads((target / _SOURCE).read_text())
    except (OSError, ValueError):
        return None


def _write_columns(parquet: Path, target: Path, source: dict[str, int]) -> None:
    """Write the columns into a fresh sibling and rename it into place: a worker starting
    beside another either renames first or finds the other's columns there."""
    table = pq.read_table(parquet, columns=list(RATING_COLUMNS))
    staging = Path(tempfile.mkdtemp(prefix=f".{_FOLDER}.", dir=target.parent))
    try:
        for name in RATING_COLUMNS:
            np.save(staging / f"{name}.npy", table.column(name).to_numpy())
        (staging / _SOURCE).write_text(json.dumps(source))
        if _read_source(target) == source:  # another worker has just written them
            return
        shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if _read_source(target) != source:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
