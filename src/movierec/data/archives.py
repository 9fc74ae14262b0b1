"""Files we did not make: digests computed in one pass, zips unpacked without letting a member
escape the folder they are unpacked into.

Shared by :mod:`movierec.data.fetch` (GroupLens zips) and :mod:`movierec.data.recbole_wheel`
(the RecBole wheel and the files read out of it).
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from movierec.data.folders import staged_folder
from movierec.errors import FetchError

CHUNK = 1 << 20  # bytes per read: large files are hashed and copied without being held whole


def file_digests(path: Path, *, md5: bool) -> tuple[str, str | None]:
    """The file's sha256 and, when asked, its md5, in one pass over the bytes."""
    sha = hashlib.sha256()
    weak = hashlib.md5(usedforsecurity=False) if md5 else None
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            sha.update(block)
            if weak is not None:
                weak.update(block)
    return sha.hexdigest(), weak.hexdigest() if weak is not None else None


def extract_zip(archive: Path, folder: Path) -> None:
    """Unzip to a staging folder, then swap it in, dropping the single top-level folder.

    GroupLens zips hold ``ml-100k/u.data`` and so on; flattening puts the files straight in
    ``folder``, where the format loaders look. Members that would land outside are refused.
    An archive that is not a readable zip is deleted, so the next fetch downloads it again.
    """
    try:
        with staged_folder(folder) as staging, zipfile.ZipFile(archive) as zf:
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
                    shutil.copyfileobj(source, sink, CHUNK)
    except zipfile.BadZipFile as exc:
        archive.unlink(missing_ok=True)
        raise FetchError(f"{archive} is not a readable zip ({exc}); it was deleted") from exc
