"""ml-100k without GroupLens: read out of the ``recbole==1.2.1`` wheel, which pip gets from PyPI.

ml-100k is the embedded default, so it must be obtainable where only package registries are
(CI, sandboxes). ``pip download`` fetches the wheel through whatever index pip is configured
with, so mirrors and proxies keep working; RecBole is never installed. The wheel and each file
read out of it are checked against digests recorded in ../shared/data/ml-100k-recbole/SOURCE.md,
and the folder appears atomically as ``<home>/downloads/ml-100k-recbole``, which
:func:`movierec.data.sources.load_path` detects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from movierec.data.archives import file_digests
from movierec.data.folders import install_folder
from movierec.errors import FetchError
from movierec.home import Home

logger = logging.getLogger(__name__)

RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
RECBOLE_MEMBER_DIR = "recbole/dataset_example/ml-100k/"
RECBOLE_FILES: dict[str, str] = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    "ml-100k.kg": "200a0636fa07c218119a42e5bac7aa3e26e3665a6f919c1b22909bd412b14779",
    "ml-100k.link": "524dca2c3d62619688ab99b3ec53ea2acb9b64d38eafec3e02bdd0dc6bb7d948",
}
RECBOLE_FOLDER = "ml-100k-recbole"
PIP_TIMEOUT = 300.0  # seconds; a stalled index must not hang `data fetch` forever


class PipDownloadError(FetchError):
    """`pip download` could not get the RecBole wheel (no index, timeout, no pip)."""


def recover_ml100k_from_recbole(
    home: Home, *, progress: bool = False, pip_timeout: float = PIP_TIMEOUT
) -> Path:
    """Read MovieLens 100k out of the RecBole wheel into ``downloads/ml-100k-recbole``.

    Only registry access is needed: ``pip download`` fetches the wheel through whatever index
    pip is configured with, so mirrors and proxies keep working. Both the wheel and each
    extracted file are checked against recorded digests, and the folder appears atomically.
    """
    folder = home.downloads / RECBOLE_FOLDER
    if folder.is_dir() and _recbole_folder_ok(folder):
        logger.info("using the verified cached %s", folder)
        return folder
    home.downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".recbole-", dir=home.downloads) as tmp:
        scratch = Path(tmp)
        with _status(progress, f"Downloading {RECBOLE_REQUIREMENT} from the package index"):
            wheel = _pip_download(scratch / "wheel", pip_timeout)
        digest = file_digests(wheel, md5=False)[0]
        if digest != RECBOLE_WHEEL_SHA256:
            raise FetchError(
                f"{wheel.name} does not match its recorded sha256 (expected "
                f"{RECBOLE_WHEEL_SHA256}, got {digest}); it was deleted"
            )
        staging = scratch / RECBOLE_FOLDER
        staging.mkdir()
        try:
            with zipfile.ZipFile(wheel) as archive:
                for filename, expected in RECBOLE_FILES.items():
                    data = archive.read(RECBOLE_MEMBER_DIR + filename)
                    actual = hashlib.sha256(data).hexdigest()
                    if actual != expected:
                        raise FetchError(
                            f"{filename} in {wheel.name} does not match its "
                            f"recorded sha256 (expected {expected}, got {actual})"
                        )
                    (staging / filename).write_bytes(data)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise FetchError(f"{wheel.name} does not hold the ml-100k files: {exc}") from exc
        install_folder(staging, folder)
    logger.info("ml-100k recovered from %s into %s", RECBOLE_REQUIREMENT, folder)
    return folder


def _recbole_folder_ok(folder: Path) -> bool:
    for filename, expected in RECBOLE_FILES.items():
        path = folder / filename
        if not path.is_file() or file_digests(path, md5=False)[0] != expected:
            logger.warning("cached %s fails verification; recovering it again", path)
            return False
    return True


def _pip_download(dest: Path, timeout: float) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        RECBOLE_REQUIREMENT,
        "--dest",
        str(dest),
    ]
    logger.info("running %s", " ".join(command))
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PipDownloadError(
            f"`pip download {RECBOLE_REQUIREMENT}` did not finish within {timeout:.0f} s"
        ) from exc
    except OSError as exc:
        raise PipDownloadError(f"cannot run pip: {exc}") from exc
    if result.returncode != 0:
        tail = " | ".join(line.strip() for line in result.stderr.strip().splitlines()[-3:])
        raise PipDownloadError(
            f"`pip download {RECBOLE_REQUIREMENT}` failed (exit "
            f"{result.returncode}): {tail or 'no message'}"
        )
    wheels = sorted(dest.glob("recbole-1.2.1-*.whl"))
    if len(wheels) != 1:
        raise PipDownloadError(
            f"`pip download {RECBOLE_REQUIREMENT}` left no single wheel in "
            f"{dest} (found: {[w.name for w in dest.iterdir()]})"
        )
    return wheels[0]


@contextmanager
def _status(show: bool, message: str) -> Iterator[None]:
    """A spinner on stderr while pip works, since it reports nothing in --quiet mode."""
    if not show or os.environ.get("MOVIEREC_NO_PROGRESS"):
        yield
        return
    with Console(stderr=True).status(message):
        yield
