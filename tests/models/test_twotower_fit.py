"""The two-tower model: what only a feature-based model can do (the shared contract is in
test_twotower.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from movierec.errors import NoMatchError
from movierec.models.twotower import TwoTower
from tests.models.conformance import GROUP, checkerboard
from tests.models.params import SMALL

pytest.importorskip("torch", reason="the two-tower model trains with PyTorch (extra 'neural')")


@pytest.fixture(scope="module")
def fitted() -> TwoTower:
    return TwoTower(**SMALL[TwoTower]).fit(checkerboard())


def test_a_user_who_only_names_genres_gets_those_genres(fitted):
    comedy = fitted.recommend_for_genres(["comedy"], k=GROUP)
    assert set(comedy.movie_ids) == set(1000 + np.arange(GROUP))
    horror = fitted.recommend_for_genres(["Horror"], k=3)
    assert set(horror.movie_ids) <= set(1000 + GROUP + np.arange(GROUP))
    typed = fitted.recommend_for_genres([" HORROR "], k=3)  # as typed: case, spaces aside
    assert typed.movie_ids.tolist() == horror.movie_ids.tolist()


def test_unknown_genres_are_named(fitted):
    with pytest.raises(NoMatchError, match="Westerns"):
        fitted.recommend_for_genres(["Westerns"])
    with pytest.raises(NoMatchError):
        fitted.recommend_for_genres([])


def test_an_unrated_movie_is_placed_by_its_metadata():
    data = checkerboard()
    ratings = data.ratings[data.ratings["movie_id"] != 1002].reset_index(drop=True)
    model = TwoTower(**SMALL[TwoTower]).fit(dataclasses.replace(data, ratings=ratings))
    similar = model.similar_movies(1002, k=GROUP - 1).movie_ids
    assert set(similar) == set(1000 + np.arange(GROUP)) - {1002}
    assert 1002 in model.recommend(100, k=2).movie_ids  # a comedy fan gets the new comedy


def test_training_is_logged_per_epoch_and_stops_early():
    # a large step overfits 130 ratings within a few epochs: validation error turns up
    model = TwoTower(
        epochs=200, batch_size=16, validation=0.2, patience=3, layers="32-16", learning_rate=0.05
    ).fit(checkerboard())
    log = model.epoch_log
    assert log.shape[1] == 3 and np.isfinite(log).all() and (log[:, 2] > 0).all()
    assert len(log) < 200  # stopped early
    best = int(np.argmin(log[:, 1]))
    assert best == len(log) - 1 - 3  # stopped exactly `patience` epochs after the best one


def test_training_on_the_cpu_device_is_training_as_before(fitted):
    """``device="cpu"`` (the default) is the path every other test trains on: same weights."""
    named = TwoTower(**SMALL[TwoTower], device="cpu").fit(checkerboard())
    np.testing.assert_allclose(named.item_vectors, fitted.item_vectors, rtol=1e-5, atol=1e-6)


def test_a_gpu_this_machine_lacks_is_a_clear_error():
    import torch

    from movierec.errors import InvalidValueError
    from movierec.models._towertrain import training_device

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the error cannot happen here")
    with pytest.raises(InvalidValueError, match="device") as caught:
        TwoTower(**SMALL[TwoTower], device="cuda").fit(checkerboard())
    assert "torch.cuda.is_available() is False" in str(caught.value)
    assert training_device("cpu").type == "cpu"


def test_the_command_line_trains_on_a_device_only_models_that_have_one(tmp_path):
    from tests.conftest import shared_dataset
    from tests.test_cli_data import movierec

    home = tmp_path / "home"
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    result = movierec("train", "--model", "chart", "--device", "cuda", home=home, check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "device" in said and "twotower" in said
