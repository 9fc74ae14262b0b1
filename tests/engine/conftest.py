"""The engine tests' shared fixture: ml-100k as the engine loads it (skipped when absent)."""

import pytest

from movierec.data.sources import load_path
from tests.conftest import shared_dataset


@pytest.fixture(scope="module")
def dataset():
    return load_path(shared_dataset("ml-100k-recbole"), "ml-100k")
