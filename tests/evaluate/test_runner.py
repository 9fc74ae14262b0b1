"""The runner: models by name, fold by fold, with rating and ranking figures and clear errors."""

import math

import numpy as np
import pytest

from movierec.data.dataset import Dataset
from movierec.errors import NoMatchError
from movierec.evaluate import evaluate, kfold, metrics
from movierec.models import registry
from movierec.models.base import Recommender
from tests.evaluate.toy import BiasModel, random_dataset


class PopularModel(BiasModel):
    """Ranks by vote count and does not predict ratings: only ranking figures apply."""

    kind = "test-popular"
    predicts_ratings = False

    def _user_scores(self, user: int) -> np.ndarray:
        return self.movie_votes


MODELS = {"bias": BiasModel, "popular": PopularModel}


def factory(name: str) -> Recommender:
    return MODELS[name]()


@pytest.fixture(scope="module")
def data():
    return random_dataset(n_users=40, n_movies=30, density=0.4, seed=9)


def test_kfold_evaluation_fits_each_model_on_each_fold(data):
    ticks = []
    result = evaluate(data, ["bias", "popular"], cv=3, k=5, factory=factory,
                      progress=ticks.append)
    assert ticks[-1] == pytest.approx(1.0) and len(ticks) == 2 * 3 * 2
    bias, popular = result.models
    assert len(bias.folds) == len(popular.folds) == 3 == len(result.folds)
    assert bias.predicts_ratings and not popular.predicts_ratings
    summary = bias.summary()
    for name in ("rmse", "mae", "precision", "recall", "ndcg", "map", "hit_rate", "coverage",
                 "popularity", "fit_seconds", "predict_seconds", "recommend_seconds"):
        assert math.isfinite(summary[name]["mean"]) and summary[name]["std"] >= 0, name
    assert "rmse" not in popular.summary() and "ndcg" in popular.summary()
    values = [fold["rmse"] for fold in bias.folds]
    assert summary["rmse"]["mean"] == pytest.approx(np.mean(values))
    assert summary["rmse"]["std"] == pytest.approx(np.std(values))  # ddof=0, as Surprise
    assert result.settings["relevance"] == 4.0 and result.settings["folds"] == 3
    assert sum(f["test_ratings"] for f in result.folds) == len(data.ratings)


def test_figures_equal_a_hand_run_of_the_first_fold(data):
    result = evaluate(data, ["bias"], cv=3, k=5, relevance=3.0, factory=factory, seed=4)
    part = next(kfold(data, 3, seed=4))
    model = BiasModel().fit(part.train)
    train = part.train.ratings
    known = part.test[part.test["user_id"].isin(train["user_id"])
                      & part.test["movie_id"].isin(train["movie_id"])]
    predicted = model.predict(known["user_id"].to_numpy(), known["movie_id"].to_numpy())
    fold = result.models[0].folds[0]
    assert fold["rmse"] == pytest.approx(metrics.rmse(known["rating"].to_numpy(), predicted))
    users = np.unique(part.test["user_id"])
    lists = [model.recommend(int(u), 5).movie_ids for u in users]
    recommended, lengths = metrics.stack_rankings(lists, 5)
    ranking = metrics.ranking_scores(users, recommended, lengths,
                                     metrics.relevant_items(part.test, 3.0), 5)
    assert fold["ndcg"] == pytest.approx(ranking.means()["ndcg"])
    assert result.folds[0]["skipped_users"] == ranking.skipped_users


@pytest.mark.parametrize("split", ["user-holdout", "user-temporal", "temporal"])
def test_other_splits_run_once(data, split):
    result = evaluate(data, ["bias"], split=split, factory=factory, relevance=None)
    assert len(result.models[0].folds) == 1 and result.split == split
    assert result.settings["relevance"] is None and result.settings["cv"] is None


def test_repeated_holdout_draws_new_folds(data):
    result = evaluate(data, ["bias"], split="user-holdout", repeats=2, factory=factory)
    first, second = result.models[0].folds
    assert first["rmse"] != second["rmse"]


def test_models_come_from_the_registry(data, monkeypatch):
    monkeypatch.setitem(registry.MODELS, "test-bias", ("tests.evaluate.toy:BiasModel", {}))
    result = evaluate(data, ["test-bias"], cv=2)
    assert result.models[0].name == "test-bias" and "rmse" in result.models[0].summary()
    with pytest.raises(NoMatchError, match="unknown model 'nope'; known models: .*test-bias"):
        evaluate(data, ["test-bias", "nope"], cv=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"cv": 1}, "cv must be an integer of at least 2"),
        ({"split": "random"}, "unknown split 'random'"),
        ({"model_names": []}, "at least one model"),
        ({"model_names": ["bias", "bias"]}, "named twice: bias"),
    ],
)
def test_bad_settings_are_named(data, kwargs, message):
    arguments = {"model_names": ["bias"], **kwargs}
    names = arguments.pop("model_names")
    with pytest.raises(ValueError, match=message):
        evaluate(data, names, factory=factory, **arguments)


def test_a_single_user_dataset_is_refused():
    data = random_dataset(n_users=1, n_movies=10, density=1.0)
    assert isinstance(data, Dataset)
    with pytest.raises(ValueError, match="1 user"):
        evaluate(data, ["bias"], factory=factory)
