"""Files of a dataset, wherever they sit: a folder, a `.zip`, or `.gz`/`.zip` members in a folder.

Kaggle and GroupLens downloads come zipped, and several copies in `../shared/data` keep single
CSVs zipped (`keywords.csv.zip`). A :class:`FileSet` maps each logical file name
(`keywords.csv`) to a :class:`FileRef` that can be opened as bytes, so loaders never care how the
file was packed.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Protocol, Self

from movierec.errors import DataFormatError

if TYPE_CHECKING:  # pragma: no cover
    from _typeshed import WriteableBuffer


class BinaryReader(Protocol):
    """What :meth:`FileRef.open` returns: a plain, gzip or zip-member file, read as bytes.

    Not ``IO[bytes]``: typeshed does not count ``GzipFile`` or an ``io.RawIOBase`` as one.
    """

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...


@dataclass(frozen=True)
class FileRef:
    """One logical file: a plain path, a gzip file, or a member of a zip archive."""

    name: str
    path: Path
    member: str | None = None

    @property
    def display(self) -> str:
        """How error messages name the file."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def gzipped(self) -> bool:
        return self.member is None and self.path.suffix == ".gz"

    def open(self) -> BinaryReader:
        """Open for binary reading, decompressing on the fly."""
        try:
            if self.member is not None:
                archive = zipfile.ZipFile(self.path)
                return _ZipMember(archive, archive.open(self.member))
            if self.gzipped:
                return gzip.open(self.path, "rb")
            return open(self.path, "rb")
        except (OSError, zipfile.BadZipFile) as exc:
            raise DataFormatError(f"cannot open: {exc}", file=self.display) from exc

    def read_bytes(self) -> bytes:
        with self.open() as handle:
            try:
                return handle.read()
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DataFormatError(f"cannot read: {exc}", file=self.display) from exc

    def is_empty(self) -> bool:
        with self.open() as handle:
            return not handle.read(1)


class _ZipMember(io.RawIOBase):
    """A zip member that closes its archive when closed."""

    def __init__(self, archive: zipfile.ZipFile, member: IO[bytes]):
        self._archive = archive
        self._member = member

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._member.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self._member.read(size)

    def close(self) -> None:
        self._member.close()
        self._archive.close()
        super().close()


class FileSet:
    """The files of one dataset, by logical name (base name, compression suffix removed)."""

    def __init__(self, root: Path, files: dict[str, FileRef]):
        self.root = root
        self.files = files

    @classmethod
    def scan(cls, path: str | Path) -> FileSet:
        """List a folder (one level, plus `.zip` members), a `.zip` archive, or one file."""
        root = Path(path).expanduser()
        if not root.exists():
            raise DataFormatError("no such file or folder", file=root)
        files: dict[str, FileRef] = {}
        if root.is_file():
            if zipfile.is_zipfile(root):
                _add_zip_members(files, root)
            else:  # a lone file, e.g. a ratings export (sources.ratings_csv)
                name = root.name[:-3] if root.suffix == ".gz" else root.name
                files[name] = FileRef(name, root)
        else:
            for child in sorted(root.iterdir()):
                if child.is_dir():
                    continue
                if child.suffix == ".zip" and zipfile.is_zipfile(child):
                    _add_zip_members(files, child)
                elif child.suffix == ".gz":
                    files.setdefault(child.name[:-3], FileRef(child.name[:-3], child))
                else:
                    files.setdefault(child.name, FileRef(child.name, child))
        return cls(root, files)

    @classmethod
    def scan_all(cls, paths: list[str | Path]) -> FileSet:
        """Several folders, archives or single files as one set (the first path is the root).

        Lets a dataset be completed from elsewhere, e.g. RecBole's ml-100k with ML-1M's
        `movies.dat`, which its knowledge-graph links need.
        """
        if not paths:
            raise DataFormatError("no path given")
        merged = cls(Path(paths[0]).expanduser(), {})
        for path in (Path(p).expanduser() for p in paths):
            if path.is_file() and not zipfile.is_zipfile(path):
                name = path.name[:-3] if path.suffix == ".gz" else path.name
                merged.files.setdefault(name, FileRef(name, path))
            else:
                for name, ref in cls.scan(path).files.items():
                    merged.files.setdefault(name, ref)
        return merged

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.files))

    def get(self, name: str) -> FileRef | None:
        return self.files.get(name)

    def first(self, *patterns: str) -> FileRef | None:
        """The first file matching any of the glob patterns, tried in order."""
        for pattern in patterns:
            for name in sorted(self.files):
                if fnmatch.fnmatch(name, pattern):
                    return self.files[name]
        return None

    def require(self, *patterns: str) -> FileRef:
        found = self.first(*patterns)
        if found is None:
            raise DataFormatError(
                f"missing {' or '.join(patterns)} (found: {', '.join(self) or 'nothing'})",
                file=self.root,
            )
        return found


def _add_zip_members(files: dict[str, FileRef], archive: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as handle:
            names = handle.namelist()
    except zipfile.BadZipFile as exc:
        raise DataFormatError(f"corrupt zip archive: {exc}", file=archive) from exc
    for member in names:
        if member.endswith("/") or "__MACOSX" in member or Path(member).name.startswith("._"):
            continue
        name = Path(member).name
        files.setdefault(name, FileRef(name, archive, member))
