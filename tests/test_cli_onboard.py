"""`movierec onboard` as a person and as a script uses it, on real ml-100k."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_cli_browse import home  # noqa: F401  (the module's ml-100k home)
from tests.test_cli_data import movierec


def run(folder, *args, stdin=""):
    env = {**os.environ, "MOVIEREC_HOME": str(folder), "MOVIEREC_NO_PROGRESS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "movierec", "onboard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def trained(home):  # noqa: F811
    movierec("train", "--model", "als", home=home)  # seconds; the hybrid takes minutes
    return home


def test_scripts_get_the_next_films_and_skips_count(trained):
    first = json.loads(run(trained, "-n", "3", "--json").stdout)
    ids = [m["movie_id"] for m in first["movies"]]
    assert first["strategy"] == "adaptive" and len(ids) == 3
    skipped = ",".join(map(str, ids))
    after = json.loads(run(trained, "-n", "3", "--skipped", skipped, "--json").stdout)
    assert after["skipped"] == 3 and not set(ids) & {m["movie_id"] for m in after["movies"]}


def test_a_person_picks_groups_rates_and_skips_then_sees_picks(trained):
    groups = json.loads(run(trained, "--groups", "--json").stdout)["groups"]
    answers = "0\n5\ns\n4\nq\n"
    done = run(trained, "--interactive", "--groups", stdin=answers)
    assert done.returncode == 0, done.stderr
    assert "you are user" in done.stdout and "your picks" in done.stdout
    assert f"stored {len(groups[0]['movies'])} films as liked" in done.stdout
    user = int(done.stdout.split("you are user")[1].split()[0])
    mine = json.loads(movierec("recommend", "--user", str(user), "--json", home=trained).stdout)
    liked = {m["movie_id"] for m in groups[0]["movies"]}
    assert not liked & {m["movie_id"] for m in mine["movies"]}  # rated films are not picked


def test_a_bad_answer_is_asked_again_and_bad_options_are_named(trained):
    done = run(trained, "--interactive", stdin="9\nq\n")
    assert done.returncode == 0 and "rating" in done.stdout
    bad = run(trained, "--strategy", "astrology", "--json")
    assert bad.returncode == 1 and "strategy" in bad.stderr
    bad = run(trained, "--choose", "1")
    assert bad.returncode != 0 and "--user" in bad.stderr
