"""The `movierec data` commands, run as a user runs them: a real process, stdout and stderr."""

import json
import os
import subprocess
import sys

import pytest

from movierec.cli.data import parse_count
from tests.conftest import shared_dataset


def movierec(*args, home, check=True):
    env = {**os.environ, "MOVIEREC_HOME": str(home), "MOVIEREC_NO_PROGRESS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "movierec", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def tiny_csv(tmp_path):
    folder = tmp_path / "tiny-ml"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat (1995),Crime\n"
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,9.0,2\n2,1,3.5,3\n"
    )
    return folder


def test_import_then_info_json(tmp_path, tiny_csv):
    home = tmp_path / "home"
    result = movierec("data", "import", str(tiny_csv), "--json", home=home)
    stored = json.loads(result.stdout)  # stdout is one JSON document and nothing else
    assert stored["name"] == "tiny-ml" and stored["ratings"] == 2
    assert any("outside the scale" in note for note in stored["notes"])
    info = json.loads(movierec("data", "info", "--dataset", "tiny-ml", "--json", home=home).stdout)
    assert info["users"] == 2 and info["movies"] == 2 and info["format"] == "movielens-csv"
    listed = json.loads(movierec("data", "list", "--json", home=home).stdout)
    assert listed["datasets"] == ["tiny-ml"]


def test_a_sites_ratings_export_alone_is_imported_trained_and_served_by_id(tmp_path):
    """One CSV of ratings, no titles: the movies are "movie ID" in lists and reasons, and
    similar movies come from who rated them, with a note saying so."""
    rows = []  # even users like movies 0-7 and odd ones 8-15; each tried one of the others
    for user in range(1, 41):
        mine, others = (range(8), range(8, 16)) if user % 2 == 0 else (range(8, 16), range(8))
        rows += [(user, movie, 4 + (user + movie) % 2) for movie in mine if (user + movie) % 5]
        rows.append((user, others[user % 8], 1))
    export = tmp_path / "site-ratings.csv"
    export.write_text("user_id,item_id,rating\n" + "".join(f"{u},{m},{r}\n" for u, m, r in rows))
    home = tmp_path / "home"
    stored = json.loads(movierec("data", "import", str(export), "--json", home=home).stdout)
    assert stored["name"] == "site-ratings" and stored["ratings"] == len(rows)
    assert stored["rating_scale"] == {"low": 1.0, "high": 5.0, "step": 1.0}
    dataset = ["--dataset", "site-ratings"]
    movierec("train", "--model", "ease", *dataset, home=home)
    picks = json.loads(
        movierec("recommend", "--user", "2", "-k", "1", "--json", *dataset, home=home).stdout
    )
    (pick,) = picks["movies"]  # the one film of their kind user 2 has not rated
    assert pick["movie_id"] == 3 and pick["title"] == "movie 3"
    assert pick["reason"].startswith("because you rated movie ")
    table = movierec("recommend", "--user", "2", "-k", "20", *dataset, home=home)
    assert "movie 3" in table.stdout
    assert "note: only 8 movies are left that user 2 has not rated" in table.stderr
    similar = movierec("similar", "3", "-k", "3", "--json", *dataset, home=home)
    answer = json.loads(similar.stdout)
    assert answer["by"] == "collab" and all(m["movie_id"] < 8 for m in answer["movies"])
    assert any("no metadata to compare movies by" in note for note in answer["notes"])


def test_import_prints_notes_on_stderr_and_a_table(tmp_path, tiny_csv):
    result = movierec("data", "import", str(tiny_csv), "--name", "t2", home=tmp_path / "h")
    assert "outside the scale" in result.stderr and "line 3" in result.stderr
    assert "ratings" in result.stdout and "stored t2" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "info", "--dataset", "nope"], "movierec data fetch nope"),
        (["data", "import", "/definitely/not/here"], "no such file or folder"),
        (["data", "import", "{folder}", "--name", "../x"], "not allowed"),
        (["data", "synth", "--ratings", "lots"], "--ratings: expected a count"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, tiny_csv, args, message):
    args = [a.replace("{folder}", str(tiny_csv)) for a in args]
    result = movierec(*args, home=tmp_path / "home", check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_unknown_format_is_a_clear_error(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "data.txt").write_text("1 2 3\n")
    result = movierec("data", "import", str(folder), home=tmp_path / "home", check=False)
    assert result.returncode == 1 and "unknown dataset format" in result.stderr
    assert "data.txt" in result.stderr and "Traceback" not in result.stderr


def test_help_documents_every_data_command(tmp_path):
    result = movierec("data", "--help", home=tmp_path)
    for command in ("fetch", "import", "enrich", "synth", "list", "info"):
        assert command in result.stdout


def test_import_real_ml_latest_small(tmp_path):
    folder = shared_dataset("ml-latest-small")
    result = movierec("data", "import", str(folder), "--json", home=tmp_path / "home")
    info = json.loads(result.stdout)
    assert (info["ratings"], info["users"], info["movies"]) == (100_836, 610, 9_742)
    assert info["coverage"]["tmdb_id"] > 0.99


@pytest.mark.parametrize(
    ("text", "value"),
    [("33.8M", 33_800_000), ("100k", 100_000), ("943", 943), ("1_000", 1000), ("2.5m", 2_500_000)],
)
def test_parse_count(text, value):
    assert parse_count(text, "--ratings") == value


@pytest.mark.parametrize("text", ["", "0", "-5", "lots", "1e6"])
def test_parse_count_rejects(text):
    with pytest.raises(ValueError, match="--ratings"):
        parse_count(text, "--ratings")


def test_enrich_real_ml_latest_small_through_the_cli(tmp_path):
    home = tmp_path / "home"
    movierec("data", "import", str(shared_dataset("ml-latest-small")), home=home)
    result = movierec(
        "data",
        "enrich",
        "ml-latest-small",
        "--as",
        "ml-small-rich",
        "--with",
        str(shared_dataset("the-movies-dataset")),
        "--with",
        str(shared_dataset("tmdb-10k")),
        "--with",
        str(shared_dataset("tmdb-5000")),
        "--json",
        home=home,
    )
    coverage = json.loads(result.stdout)["coverage"]["columns"]
    assert coverage["keywords"]["gained"] == 8_698 and coverage["cast"]["gained"] == 6_209
    info = json.loads(movierec("data", "info", "-d", "ml-small-rich", "--json", home=home).stdout)
    assert info["coverage"]["overview"] == pytest.approx(0.6759, abs=1e-4)
    assert info["ratings"] == 100_836  # ratings untouched


def test_errors_under_json_are_a_json_document_too(tmp_path):
    home = tmp_path / "home"
    movierec(
        "data", "import", str(shared_dataset("ml-100k-recbole")), "--name", "ml-100k", home=home
    )
    result = movierec("similar", "star trek", "--json", home=home, check=False)
    assert result.returncode == 1 and "matches 8 movies" in result.stderr
    document = json.loads(result.stdout)
    assert document["error"] == "AmbiguousTitleError" and len(document["candidates"]) == 8
