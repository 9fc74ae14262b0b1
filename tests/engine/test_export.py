"""Every user's top-N to Parquet: the very lists `recommend` gives, here and on Spark's workers,
and `movierec recommend-all` end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from movierec.engine.export import top_n_rows, write_all
from movierec.models.als import ALS
from tests.conftest import shared_dataset
from tests.models.test_mf_fit import random_ratings
from tests.test_cli_data import movierec


@pytest.fixture(scope="module")
def fitted():
    return ALS(n_factors=4, n_iterations=5).fit(random_ratings(n_users=30, density=0.3))


def test_rows_are_the_recommend_lists_with_seen_movies_left_out(fitted, tmp_path):
    rows = write_all(fitted, 5, tmp_path / "all.parquet")
    table = pd.read_parquet(tmp_path / "all.parquet")
    assert rows == len(table) == 30 * 5
    assert list(table.columns) == ["user_id", "rank", "movie_id", "score"]
    for user in (1, 17, 30):
        mine = table[table["user_id"] == user].sort_values("rank")
        picks = fitted.recommend(user, 5)
        np.testing.assert_array_equal(mine["movie_id"], picks.movie_ids)
        np.testing.assert_allclose(mine["score"], picks.scores)
        seen = fitted.movies.ids[fitted.history(user)[0]]
        assert not set(mine["movie_id"]) & set(seen.tolist())


def test_no_users_no_rows(fitted):
    assert top_n_rows(fitted, [], 5).empty


def test_k_is_checked(fitted, tmp_path):
    with pytest.raises(ValueError, match="k"):
        write_all(fitted, 0, tmp_path / "x.parquet")


def test_spark_workers_write_the_same_lists(fitted, tmp_path):
    pytest.importorskip("pyspark", reason="Spark is the optional `spark` extra")
    if shutil.which("java") is None:  # pragma: no cover - Java 17 is on the project's machines
        pytest.skip("Spark needs Java (17)")
    write_all(fitted, 5, tmp_path / "here.parquet")
    rows = write_all(fitted, 5, tmp_path / "spark", spark="local[2]")
    here = pd.read_parquet(tmp_path / "here.parquet").sort_values(["user_id", "rank"])
    there = pd.read_parquet(tmp_path / "spark").sort_values(["user_id", "rank"])
    assert rows == len(here)
    pd.testing.assert_frame_equal(here.reset_index(drop=True), there.reset_index(drop=True))


def test_cli_writes_every_user(tmp_path):
    home = tmp_path / "home"
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    movierec("train", "--model", "ease", home=home)
    out = tmp_path / "all.parquet"
    summary = json.loads(
        movierec("recommend-all", "-o", str(out), "-k", "3", "--json", home=home).stdout
    )
    table = pd.read_parquet(out)
    assert summary["model"] == "ease" and summary["users"] == 943 == table["user_id"].nunique()
    assert summary["rows"] == len(table) == 943 * 3
    refused = movierec("recommend-all", "-o", str(out), "--engine", "gpu", home=home, check=False)
    assert refused.returncode != 0 and "local or spark" in refused.stdout + refused.stderr
