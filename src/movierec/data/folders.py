"""Folders that appear whole or not at all: written into a temporary sibling, then renamed.

Downloads, unpacked archives and saved indexes are read by other commands and processes, so
none may ever see one half-written: an error (or a crash) while writing leaves the previous
copy as it was. The temporary siblings are dot-named, so folder listings pass them by.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A fresh temporary sibling of ``folder`` to fill; on a clean exit it replaces ``folder``.

    On an error the sibling is deleted and ``folder`` is left untouched.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    install_folder(staging, folder)


def install_folder(staging: Path, folder: Path) -> None:
    """Rename a finished folder into place, replacing an older one.

    When ``folder`` appears meanwhile (another process installed it first), that copy is kept
    and ``staging`` dropped; when the swap fails, the older copy is put back.
    """
    backup = None
    try:
        if folder.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, backup / folder.name)
        os.rename(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if backup is None and folder.is_dir():
            return  # a concurrent writer installed the same folder first
        if backup is not None and not folder.exists():
            os.replace(backup / folder.name, folder)  # keep the old copy usable
        raise
    finally:
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
