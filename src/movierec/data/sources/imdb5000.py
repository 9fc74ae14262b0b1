"""Placeholder while the loader is written."""

from movierec.data.dataset import Dataset
from movierec.data.files import FileSet

FORMAT = "imdb5000"
DESCRIPTION = "(being written)"


def matches(files: FileSet) -> bool:
    return False


def load(files: FileSet, name: str) -> Dataset:
    raise NotImplementedError
