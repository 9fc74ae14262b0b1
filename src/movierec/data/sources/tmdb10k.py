"""Placeholder while the loader is written."""

from movierec.data.dataset import Dataset
from movierec.data.files import FileSet

FORMAT = "tmdb10k"
DESCRIPTION = "(being written)"


def matches(files: FileSet) -> bool:
    return False


def load(files: FileSet, name: str) -> Dataset:
    raise NotImplementedError
