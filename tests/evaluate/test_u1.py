"""ml-100k's canonical GroupLens folds u1..u5 (mku.sh), rebuilt from u.data's row order."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from movierec.cli import evaluate as evaluate_cli
from movierec.data.dataset import Dataset
from movierec.data.sources import load_path
from movierec.data.storage import save_dataset
from movierec.evaluate import make_splits
from movierec.evaluate.splits import grouplens_fold
from movierec.home import Home
from tests.conftest import shared_dataset
from tests.evaluate.toy import random_dataset

REFUSAL = "the u1..u5 splits need ml-100k's ratings in u.data's row order"


@pytest.fixture(scope="module")
def ml100k() -> Dataset:
    return load_path(shared_dataset("ml-100k-recbole"), "ml-100k")


def keys(frame: pd.DataFrame) -> list[tuple[int, int, int]]:
    columns = ("user_id", "movie_id", "timestamp")
    return sorted(zip(*(frame[c].tolist() for c in columns), strict=True))


def test_u1_is_grouplens_u1(ml100k):
    (part,) = grouplens_fold(ml100k, 1)
    test = part.test
    assert len(test) == 20_000 and len(part.train.ratings) == 80_000
    # facts of GroupLens' u1.test: 459 users, the largest id 462
    assert test["user_id"].nunique() == 459 and test["user_id"].max() == 462
    assert part.fold == 1
    # ordered as the .test file: by user, then movie
    ordered = test.sort_values(["user_id", "movie_id"], kind="stable")
    assert ordered.index.tolist() == list(range(len(test)))
    # the whole catalog stays in training
    assert part.train.catalog["movie_id"].tolist() == ml100k.catalog["movie_id"].tolist()


def test_the_five_tests_are_disjoint_and_cover_every_rating(ml100k):
    tests = []
    for fold in range(1, 6):
        (part,) = make_splits(ml100k, f"u{fold}")
        assert len(part.test) == 20_000 and len(part.train.ratings) == 80_000
        assert keys(pd.concat([part.train.ratings, part.test])) == keys(ml100k.ratings)
        tests.append(part.test)
    every = pd.concat(tests)
    assert len(every) == 100_000
    assert keys(every) == keys(ml100k.ratings)
    assert len(set(keys(every))) == 100_000  # (user, movie, time) identifies a rating here


def test_a_fold_outside_one_to_five_is_refused(ml100k):
    with pytest.raises(ValueError, match="fold must be an integer from 1 to 5"):
        next(grouplens_fold(ml100k, 6))


def test_data_that_is_not_ml100k_in_its_order_is_refused(ml100k):
    shuffled = ml100k.ratings.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert tuple(shuffled.iloc[0, :2]) != (196, 242)
    truncated = ml100k.ratings.iloc[:50_000]  # the right first row, too few ratings
    for ratings in (shuffled, truncated):
        other = dataclasses.replace(ml100k, ratings=ratings)
        with pytest.raises(ValueError, match=REFUSAL):
            next(grouplens_fold(other, 1))


def test_a_toy_dataset_is_refused_saying_what_was_expected():
    """Needs no real data: it runs whether or not ../shared/data is present."""
    expected = r"100,000 ratings, the first .* = \(196, 242, 3\.0, 881250949\); dataset 'toy'"
    with pytest.raises(ValueError, match=REFUSAL):
        next(make_splits(random_dataset(), "u1"))
    with pytest.raises(ValueError, match=expected):
        next(grouplens_fold(random_dataset(n_users=5, n_movies=5, seed=1), 2))


def cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Root, so `evaluate` stays a subcommand."""

    evaluate_cli.register(root)
    return root


def test_cli_evaluates_on_u1(ml100k, tmp_path):
    home = Home(tmp_path / "home")
    save_dataset(ml100k, home)
    args = ["evaluate", "--dataset", "ml-100k", "--home", str(home.root), "--quiet"]
    result = CliRunner().invoke(cli(), [*args, "--models", "chart", "--split", "u1", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (fold,) = document["folds"]
    assert document["split"] == "u1" and document["settings"]["folds"] == 1
    assert document["settings"]["seed"] is None
    assert fold["fold"] == 1 and fold["train_ratings"] == 80_000
    assert fold["test_ratings"] == 20_000 and np.isfinite(
        document["models"][0]["summary"]["ndcg"]["mean"]
    )
