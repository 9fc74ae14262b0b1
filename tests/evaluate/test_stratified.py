"""The stratified split and `relevance all`: Microsoft Recommenders' ml-100k top-N protocol."""

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from movierec.cli import evaluate as evaluate_cli
from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.data.sources import load_path
from movierec.data.storage import save_dataset
from movierec.evaluate import evaluate, make_splits, stratified
from movierec.evaluate.scoring import FoldScorer
from movierec.home import Home
from movierec.models import calibration
from tests.conftest import shared_dataset
from tests.evaluate.test_runner import PopularModel
from tests.evaluate.toy import random_dataset

COUNTS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 8, 6: 10, 7: 20}  # user → number of ratings


def rows(frame: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted(zip(frame["user_id"].tolist(), frame["movie_id"].tolist(), strict=True))


def hand_made(counts: dict[int, int] = COUNTS, stars: float | None = None) -> Dataset:
    """User u rates movies 100, 101, … (``counts[u]`` of them); stars vary unless given."""
    users = np.repeat(list(counts), list(counts.values()))
    movies = np.concatenate([np.arange(n) + 100 for n in counts.values()])
    ratings = pd.DataFrame(
        {
            "user_id": users,
            "movie_id": movies,
            "rating": np.full(len(users), stars) if stars else (movies % 5 + 1).astype(float),
            "timestamp": np.arange(len(users)) + 1_000_000,
        }
    )
    n_movies = max(counts.values()) + 5  # a few movies nobody rated
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(n_movies) + 100,
            "title": [f"Movie {m}" for m in range(n_movies)],
            "year": np.full(n_movies, 1995),
            "genres": [["Drama"] for _ in range(n_movies)],
        }
    )
    return Dataset("hand", catalog, ratings, None, FIVE_STARS, "test")


def test_each_user_trains_on_floor_of_ratio_and_keeps_one():
    data = hand_made()
    (part,) = stratified(data, 0.75, seed=42)
    train = part.train.ratings.groupby("user_id").size().to_dict()
    test = part.test.groupby("user_id").size().to_dict()
    # floor(0.75·c), at least 1: the single-rating user keeps theirs in training
    assert train == {1: 1, 2: 1, 3: 2, 4: 3, 5: 6, 6: 7, 7: 15}
    assert {user: train[user] + test.get(user, 0) for user in COUNTS} == COUNTS
    assert 1 not in test
    # nothing lost, nothing duplicated; the whole catalog stays in training
    assert rows(pd.concat([part.train.ratings, part.test])) == rows(data.ratings)
    assert len(part.train.ratings) + len(part.test) == len(data.ratings)
    assert part.train.catalog["movie_id"].tolist() == data.catalog["movie_id"].tolist()
    (seven_tenths,) = stratified(data, 0.7, seed=0)  # 7/10 ≤ 0.7: the boundary trains
    assert (seven_tenths.train.ratings["user_id"] == 6).sum() == 7


def test_the_seed_decides_the_draw():
    data = random_dataset(n_users=40, n_movies=50, seed=3)
    (first,) = stratified(data, 0.75, seed=42)
    (again,) = stratified(data, 0.75, seed=42)
    (other,) = stratified(data, 0.75, seed=7)
    assert rows(first.test) == rows(again.test) and rows(first.test) != rows(other.test)
    assert set(first.train.ratings["user_id"]) == set(data.ratings["user_id"])
    (default,) = make_splits(data, "stratified")  # the split's own seed: 42
    assert rows(default.test) == rows(first.test)


def test_the_folds_are_microsofts_python_stratified_split():
    """Their rule, restated: one np.random.rand key per row after np.random.seed(seed), each
    user's ratings sorted by key, rank j of c trains when j / c ≤ ratio."""
    data = random_dataset(n_users=60, n_movies=40, seed=5)
    frame = data.ratings[["user_id", "movie_id"]].copy()
    np.random.seed(42)
    frame["key"] = np.random.rand(len(frame))
    frame = frame.sort_values(["user_id", "key"])
    groups = frame.groupby("user_id")
    frame["rank"] = (groups.cumcount() + 1) / groups["user_id"].transform("count")
    (part,) = stratified(data, 0.75, seed=42)
    assert data.ratings.groupby("user_id").size().min() >= 2  # where both rules agree
    assert rows(part.train.ratings) == rows(frame[frame["rank"] <= 0.75])


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.2])
def test_a_ratio_outside_zero_one_is_refused(ratio):
    with pytest.raises(ValueError, match="ratio"):
        next(stratified(hand_made(), ratio))


def test_relevance_all_counts_a_one_star_test_rating_as_a_hit():
    data = hand_made({1: 8, 2: 8, 3: 8}, stars=1.0)  # every rating is 1★

    def factory(name: str) -> PopularModel:
        return PopularModel()

    every = evaluate(data, ["popular"], split="stratified", relevance=None, k=10, factory=factory)
    assert every.settings["relevance"] is None and every.settings["seed"] == 42
    assert every.settings["ratio"] == 0.75 and every.folds[0]["skipped_users"] == 0
    fold = every.models[0].folds[0]
    # 6 of 8 ratings train; the 2 tested 1★ movies are among the 7 unseen, all listed at k=10
    assert fold["hit_rate"] == 1.0 and fold["recall"] == 1.0
    assert fold["precision"] == pytest.approx(0.2)
    thresholded = evaluate(data, ["popular"], split="stratified", factory=factory)
    assert thresholded.folds[0]["skipped_users"] == 3  # 1★ is below 4.0: nothing relevant


def test_the_top_10_is_over_unseen_movies():
    data = random_dataset(n_users=30, n_movies=40, seed=1)
    (part,) = stratified(data)
    scorer = FoldScorer(part, None, calibration.GenreMatrix.from_catalog(data.catalog), 0.1)
    model = PopularModel().fit(part.train)
    lists = scorer.recommend(model, 10, scorer.profiles(None), 0.0)
    train = part.train.ratings
    for user, movies in zip(scorer.users.tolist(), lists, strict=True):
        seen = set(train.loc[train["user_id"] == user, "movie_id"].tolist())
        assert len(movies) == min(10, 40 - len(seen)) and not seen & set(movies.tolist())


@pytest.fixture(scope="module")
def ml100k_home(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("home"))
    save_dataset(load_path(shared_dataset("ml-100k-recbole"), "ml-100k"), home)
    return home


def cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Root, so `evaluate` stays a subcommand."""

    evaluate_cli.register(root)
    return root


def test_cli_refuses_a_ratio_outside_zero_one(ml100k_home):
    args = ["evaluate", "--home", str(ml100k_home.root), "--models", "chart"]
    result = CliRunner().invoke(cli(), [*args, "--split", "stratified", "--ratio", "1.5"])
    assert result.exit_code != 0 and "--ratio must be in (0, 1)" in str(result.exception)


def test_cli_reproduces_the_protocol_on_ml100k(ml100k_home):
    """Measured here: ndcg@10 chart 0.1962, ease 0.4831 (Microsoft's table: BiVAE 0.4751,
    SAR 0.3825)."""
    args = ["evaluate", "--dataset", "ml-100k", "--home", str(ml100k_home.root), "--quiet"]
    args += ["--models", "chart,ease", "--split", "stratified", "--ratio", "0.75"]
    result = CliRunner().invoke(cli(), [*args, "--relevance", "all", "-k", "10", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    settings, (fold,) = document["settings"], document["folds"]
    assert settings["seed"] == 42 and settings["relevance"] is None and settings["k"] == 10
    assert fold["train_ratings"] == 74_646 and fold["test_ratings"] == 25_354
    assert fold["test_users"] == 943 and fold["skipped_users"] == 0
    chart, ease = (m["summary"]["ndcg"]["mean"] for m in document["models"])
    print(f"ml-100k stratified 75/25, relevance all: ndcg@10 chart {chart:.4f}, ease {ease:.4f}")
    assert 0.1 < chart < 0.3 and 0.42 < ease < 0.55
