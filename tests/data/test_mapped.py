"""A stored dataset's ratings memory-mapped for the service: the same data, pages that can be
let go, columns rewritten when the dataset is, and a plain load when they cannot be written."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from movierec.data import mapped
from movierec.data.dataset import Dataset
from movierec.data.mapped import release_pages
from movierec.data.storage import load_dataset, save_dataset
from movierec.engine.core import Engine
from movierec.home import Home
from tests.models.conformance import checkerboard


@pytest.fixture
def home(tmp_path) -> Home:
    home = Home(tmp_path)
    save_dataset(checkerboard(), home, "board")
    return home


def test_mapped_ratings_are_the_stored_ones_and_their_pages_can_be_let_go(home):
    plain = load_dataset(home, "board")
    loaded = load_dataset(home, "board", mapped=True)
    pd.testing.assert_frame_equal(loaded.ratings, plain.ratings)
    assert loaded.fingerprint() == plain.fingerprint()  # stored models still match
    assert release_pages(loaded.ratings) > 0
    pd.testing.assert_frame_equal(loaded.ratings, plain.ratings)  # read back after the release
    assert release_pages(plain.ratings) == 0
    with pytest.raises(ValueError, match="read-only"):
        loaded.ratings["rating"].to_numpy()[0] = 1.0  # nobody writes into the stored file


def test_a_dataset_saved_again_is_mapped_afresh(home):
    load_dataset(home, "board", mapped=True)
    data = checkerboard()
    fewer = data.ratings.iloc[: len(data.ratings) // 2]
    save_dataset(Dataset("board", data.catalog, fewer), home, "board")
    loaded = load_dataset(home, "board", mapped=True)
    assert len(loaded.ratings) == len(fewer)
    assert release_pages(loaded.ratings) > 0


def test_columns_that_cannot_be_written_leave_a_plain_load(home, monkeypatch, caplog):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mapped.np, "save", full_disk)
    with caplog.at_level(logging.WARNING, logger="movierec.data.mapped"):
        loaded = load_dataset(home, "board", mapped=True)
    assert "not memory-mapped" in caplog.text and "No space left" in caplog.text
    pd.testing.assert_frame_equal(loaded.ratings, load_dataset(home, "board").ratings)
    assert release_pages(loaded.ratings) == 0
    assert not (home.dataset_dir("board") / "mapped").exists()  # no half-written columns


def test_a_mapped_engine_serves_after_its_warm_up_let_the_pages_go(home):
    engine = Engine.open(home, "board", mapped=True)
    engine.warm()
    user = int(np.unique(engine.dataset.ratings["user_id"])[0])
    picks = engine.recommend(user, k=3)
    assert [m.title for m in picks.movies] == ["Alpha film 0"]  # the one unseen of its group
    assert release_pages(engine.dataset.ratings) > 0  # still the mapped columns
