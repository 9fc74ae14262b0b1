"""One module per dataset format; each turns files into the same :class:`Dataset`.

A format module defines ``FORMAT`` (its name), ``DESCRIPTION``, ``matches(files)`` (whether a
folder looks like this format) and ``load(files, name)``. :func:`detect` tries them in the order
of :data:`FORMATS`, most specific first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from movierec.data.dataset import Dataset
from movierec.data.files import FileSet
from movierec.data.sources import (
    imdb5000,
    movielens_1m,
    movielens_100k,
    movielens_csv,
    movies_dataset,
    ratings_csv,
    recbole,
    tmdb10k,
    tmdb5000,
)
from movierec.errors import DataFormatError

FORMATS: tuple[ModuleType, ...] = (
    ratings_csv,  # a lone file: tried first, as no folder format takes one
    movielens_100k,
    recbole,
    movielens_1m,
    movies_dataset,
    movielens_csv,
    tmdb5000,
    tmdb10k,
    imdb5000,
)


def detect(files: FileSet) -> ModuleType:
    """The format module whose files are present; a clear error listing what was found."""
    for module in FORMATS:
        if module.matches(files):
            return module
    expected = "; ".join(f"{m.FORMAT}: {m.DESCRIPTION}" for m in FORMATS)
    found = ", ".join(files) or "no files"
    raise DataFormatError(
        f"unknown dataset format (found {found}). Known formats: {expected}", file=files.root
    )


def load_path(
    path: str | Path, name: str | None = None, *, extra: Sequence[str | Path] = ()
) -> Dataset:
    """Detect the format of a folder, a `.zip` or a lone ratings `.csv` and load it.

    Args:
        path: the dataset's folder or archive, or one CSV file of ratings.
        name: the dataset's name (default: the folder name).
        extra: more folders or files whose files complete the dataset (e.g. ML-1M's
            `movies.dat` beside RecBole's ml-100k, to re-link its knowledge graph).
    """
    files = FileSet.scan_all([path, *extra]) if extra else FileSet.scan(path)
    module = detect(files)
    dataset_name = name or default_name(Path(path))
    dataset = module.load(files, dataset_name)
    dataset.source_format = module.FORMAT
    return dataset


def default_name(path: Path) -> str:
    """The folder, archive or file name, without `.zip`, `.csv` or `.csv.gz`."""
    name = path.expanduser().resolve().name
    for suffix in (".zip", ".csv.gz", ".csv"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
