"""`movierec data curate` on real ml-100k, run as a user runs it."""

import json

import pytest

from tests.conftest import shared_dataset
from tests.test_cli_data import movierec

CURATE = (
    "data",
    "curate",
    "ml-100k",
    "--min-movie-ratings",
    "100",
    "--min-mean",
    "3.5",
    "--min-user-ratings",
    "50",
    "--sample",
    "0.5",
    "--stratify",
    "rating",
    "--name",
    "ml-100k-curated",
)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    return home


@pytest.fixture(scope="module")
def report(home):
    return json.loads(movierec(*CURATE, "--json", home=home).stdout)


def test_the_report_adds_up(report):
    steps = report["steps"]
    assert [s["step"] for s in steps] == ["movies", "users", "sample"]
    assert steps[0]["before"] == {"ratings": 100_000, "users": 943, "movies": 1682}
    for step in steps:
        for what in ("ratings", "users", "movies"):
            assert step["before"][what] - step["after"][what] == step["removed"][what]
            assert step["after"][what] <= step["before"][what]
    for earlier, later in zip(steps, steps[1:], strict=False):
        assert earlier["after"] == later["before"]
    assert 0 < steps[0]["after"]["movies"] < 1682 and steps[1]["removed"]["users"] > 0
    halved = steps[2]["before"]["ratings"] / 2
    assert abs(steps[2]["after"]["ratings"] - halved) <= 5  # 5 rating values, each rounded
    assert report["after"] == steps[2]["after"]
    assert report["catalog"] == {"before": 1682, "after": steps[2]["after"]["movies"]}
    assert report["users_table"]["after"] == steps[2]["after"]["users"]
    assert report["config"]["stratify"] == "rating" and report["dataset"] == "ml-100k-curated"


def test_info_shows_the_curated_set(home, report):
    info = json.loads(
        movierec("data", "info", "--dataset", "ml-100k-curated", "--json", home=home).stdout
    )
    after = report["after"]
    assert (info["ratings"], info["users"], info["movies_rated"]) == (
        after["ratings"],
        after["users"],
        after["movies"],
    )
    assert info["movies"] == after["movies"]  # the catalog keeps only movies with ratings
    assert any("curated from ml-100k" in note for note in info["notes"])


def test_refuses_to_overwrite_without_force(home, report):
    again = movierec(*CURATE, home=home, check=False)
    assert again.returncode == 1 and "already stored" in again.stderr and "--force" in again.stderr
    same = movierec("data", "curate", "ml-100k", "--name", "ml-100k", home=home, check=False)
    assert same.returncode == 1 and "the dataset being curated" in same.stderr
    forced = movierec(*CURATE, "--seed", "1", "--force", home=home)
    assert "sample" in forced.stdout and "stored ml-100k-curated" in forced.stdout


def test_bad_value_and_emptying_filter_are_one_line_errors(home):
    bad = movierec(
        "data",
        "curate",
        "ml-100k",
        "--sample",
        "2",
        "--name",
        "x",
        "--json",
        home=home,
        check=False,
    )
    assert bad.returncode == 1 and "sample must be in (0, 1], got 2.0" in bad.stderr
    assert json.loads(bad.stdout)["error"] == "InvalidValueError"
    empty = movierec(
        "data",
        "curate",
        "ml-100k",
        "--min-user-ratings",
        "10000",
        "--name",
        "y",
        home=home,
        check=False,
    )
    assert empty.returncode == 1 and "the users filter" in empty.stderr
    listed = json.loads(movierec("data", "list", "--json", home=home).stdout)["datasets"]
    assert "x" not in listed and "y" not in listed  # nothing written
