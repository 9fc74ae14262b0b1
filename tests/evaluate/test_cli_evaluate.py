"""`movierec evaluate`: through Typer in-process, and as a user runs it in a real process."""

import json
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from movierec.cli import evaluate as evaluate_cli
from movierec.data.storage import save_dataset
from movierec.home import Home
from movierec.models import registry
from tests.evaluate.toy import random_dataset


@pytest.fixture
def home(tmp_path):
    where = Home(tmp_path / "home")
    save_dataset(random_dataset(n_users=30, n_movies=25, density=0.4, seed=2, name="toy"), where)
    return where


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "test-bias", ("tests.evaluate.toy:BiasModel", {}))
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Root, so `evaluate` stays a subcommand."""

    evaluate_cli.register(root)
    return root


def invoke(app, home, *args):
    return CliRunner().invoke(
        app, ["evaluate", "--dataset", "toy", "--home", str(home.root), "--quiet", *args]
    )


def test_json_is_one_document(app, home):
    result = invoke(app, home, "--models", "test-bias", "--cv", "3", "-k", "5", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["split"] == "kfold" and document["settings"]["folds"] == 3
    (model,) = document["models"]
    assert model["model"] == "test-bias" and set(model["summary"]["ndcg"]) == {"mean", "std"}


def test_table_has_mean_and_std_per_metric(app, home):
    result = invoke(
        app, home, "--models", "test-bias", "--split", "user-holdout", "--relevance", "all"
    )
    assert result.exit_code == 0, result.output
    assert "rmse" in result.stdout and "ndcg" in result.stdout and "±" in result.stdout
    assert "fit s" in result.stdout and "relevant ≥ all" in result.stdout


def test_help_states_the_definitions(app):
    result = CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for phrase in ("log2", "min(|R|,k)", "coverage", "KFold", "--relevance"):
        assert phrase in result.stdout, phrase


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["--models", "nope"], "NoMatchError", "known models:"),
        (["--models", "test-bias", "-k", "0"], "ValueError", "-k must be a positive integer"),
        (["--models", "test-bias", "--cv", "1"], "ValueError", "--cv must be at least 2"),
        (["--models", "test-bias", "--relevance", "high"], "ValueError", "--relevance"),
    ],
)
def test_bad_input_is_a_clear_error(app, home, args, error, message):
    result = invoke(app, home, *args)
    assert result.exit_code != 0
    assert type(result.exception).__name__ == error and message in str(result.exception)


def wired() -> bool:
    from movierec.cli import app

    return any(command.name == "evaluate" for command in app.registered_commands)


def test_real_process(home):
    assert wired() and "mf" in registry.names()
    env = {**os.environ, "MOVIEREC_HOME": str(home.root), "MOVIEREC_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "movierec", "evaluate", "--dataset", "toy"]
    result = subprocess.run(
        [*command, "--models", "mf", "--cv", "2", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # stdout is one JSON document and nothing else
    assert document["models"][0]["model"] == "mf"
    bad = subprocess.run(
        [*command, "--models", "nope"], capture_output=True, text=True, env=env, timeout=300
    )
    assert bad.returncode == 1 and "known models:" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cold_users_table_and_the_note_naming_models_that_do_not_apply(app, home):
    result = invoke(
        app,
        home,
        "--models",
        "chart,test-bias",
        "--split",
        "cold-users",
        "--fraction",
        "0.3",
        "--n-profile",
        "2",
        "-k",
        "5",
    )
    assert result.exit_code == 0, result.output
    assert "cold-users" in result.stdout and "fold-in s" in result.stdout
    assert "—" in result.stdout  # test-bias has no figures there
    assert "not applicable on cold-users: test-bias" in result.stderr
    document = json.loads(
        invoke(
            app,
            home,
            "--models",
            "chart,test-bias",
            "--split",
            "cold-users",
            "--n-profile",
            "0",
            "--json",
        ).stdout
    )
    chart, bias = document["models"]
    assert chart["not_applicable"] is None and "ndcg" in chart["summary"]
    assert bias["not_applicable"] and bias["summary"] == {}
    assert document["settings"]["n_profile"] == 0 and document["folds"][0]["cold_users"] > 0


def test_help_states_the_cold_split(app):
    result = CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    for phrase in ("cold-users", "--n-profile", "earliest", "fold_in_user"):
        assert phrase in result.stdout, phrase
