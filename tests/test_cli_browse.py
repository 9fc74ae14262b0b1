"""top, similar, search, train and recommend as a user runs them, on real ml-100k."""

import json

import pytest

from tests.conftest import shared_dataset
from tests.engine.wording import HONEST
from tests.test_cli_data import movierec


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    movierec(
        "data",
        "import",
        str(shared_dataset("ml-100k-recbole")),
        str(shared_dataset("ml-1m") / "movies.dat"),
        "--name",
        "ml-100k",
        home=home,
    )
    return home


def run_json(home, *args):
    return json.loads(movierec(*args, "--json", home=home).stdout)


def test_top_json_matches_the_table(home):
    chart = run_json(home, "top", "-k", "3")
    assert chart["movies"][0]["title"] == "Star Wars" and chart["votes_from"] == "ratings"
    table = movierec("top", "-k", "3", home=home).stdout
    assert "Star Wars" in table and f"C={chart['C']:.3f}" in table


def test_enrich_matches_films_without_links_by_title_and_year(home):
    """ml-100k has no links to TMDB: `data enrich` finds its films by title and year."""
    result = movierec(
        "data", "enrich", "ml-100k", "--with", str(shared_dataset("tmdb-5000")),
        "--as", "ml-100k-tmdb", home=home,
    )  # fmt: skip
    assert "matched 485 of 1,682 movies: 0 by TMDB id, 0 by IMDb id, 485 by title and year" in (
        result.stdout
    )
    info = run_json(home, "data", "info", "-d", "ml-100k-tmdb")
    assert info["coverage"]["overview"] == pytest.approx(485 / 1682, abs=1e-4)
    assert info["ratings"] == 100_000 and info["coverage"]["kg_tokens"] > 0.9  # kept


def test_top_segment_and_filters(home):
    chart = run_json(
        home,
        "top",
        "--segment",
        "gender=F,age=25-34",
        "--genre",
        "Drama",
        "--years",
        "1990s",
        "-k",
        "5",
    )
    assert chart["segment"] == "gender=F,age=25-34" and len(chart["movies"]) == 5


def test_similar_says_what_each_film_has_in_common(home):
    table = movierec("similar", "Star Wars", "--by", "collab", "-k", "3", home=home).stdout
    assert "in common" in table and "rated highly by" in table


def test_similar_and_search(home):
    answer = run_json(home, "similar", "Alien", "-k", "3")
    assert answer["movie"]["title"] == "Alien"
    assert {m["title"] for m in answer["movies"][:2]} == {"Aliens", "Alien 3"}
    matches = run_json(home, "search", "godfather", "-k", "2")
    assert [m["movie_id"] for m in matches] == [127, 187]


def test_train_then_recommend_with_reasons(home):
    trained = run_json(home, "train", "--model", "mf")
    assert trained["model"] == "mf" and trained["default"] is True
    answer = run_json(home, "recommend", "--user", "42", "-k", "5")
    assert answer["model"] == "mf" and len(answer["movies"]) == 5
    assert all(HONEST.match(m["reason"]) for m in answer["movies"])
    assert any(m["reason"].startswith("because you rated") for m in answer["movies"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "--user", "99999"], "unknown user 99999"),  # before fitting any model
        (
            ["recommend", "--user", "1", "--model", "deep-magic"],
            "model 'deep-magic' is not allowed",
        ),
        (["similar", "xyzzyplugh"], "no movie title matches"),
        (["top", "--segment", "planet=mars"], "unknown key 'planet'"),
        (["train", "--model", "deep-magic"], "unknown model 'deep-magic'"),
        (["top", "--years", "1999-1990"], "reversed"),
    ],
)
def test_errors(home, args, message):
    result = movierec(*args, home=home, check=False)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_models_list_and_rollback(home):
    movierec("train", "--model", "mf", home=home)
    movierec("train", "--model", "mf", home=home)
    listed = run_json(home, "models", "list", "--model", "mf")["models"]["mf"]
    assert len(listed) >= 2 and listed[-1]["current"]
    assert listed[-1]["metrics"]["trained_from"] == "dataset"
    back = run_json(home, "models", "rollback", "--model", "mf")
    assert back["current"] == listed[-2]["version"]


def test_find_by_description_embeds_once_then_reuses(home):
    pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers")
    embedded = run_json(home, "data", "embed")
    assert embedded["backend"] == "sentence" and embedded["dimension"] == 384
    assert embedded["movies"] == embedded["with_text"] == 1682 and embedded["built"]
    vectors = home / "datasets" / "ml-100k" / "description" / "vectors.npy"
    written = vectors.stat().st_mtime_ns
    answer = run_json(home, "find", "a '50s comedy", "--years", "1950s", "-k", "5")
    assert answer["backend"] == "sentence" and len(answer["movies"]) == 5
    assert all(1950 <= m["year"] <= 1959 for m in answer["movies"])
    assert sum("Comedy" in m["genres"] for m in answer["movies"]) >= 4
    # find read the stored vectors, not embedded the catalogue again (a second `data embed`
    # saying so is tests/data/test_description.py's, in process: a CLI run costs ~7 s here)
    assert vectors.stat().st_mtime_ns == written


def test_find_fallback_note_on_stderr_and_help(home, tmp_path, monkeypatch):
    shadow = tmp_path / "shadow" / "sentence_transformers"
    shadow.mkdir(parents=True)  # as if the package were not installed
    (shadow / "__init__.py").write_text("raise ImportError('not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    result = movierec("find", "documentary", "--genre", "Documentary", "-k", "3", home=home)
    assert "Documentary" in result.stdout and "tfidf" in result.stdout
    assert "note:" in result.stderr and "TF-IDF" in result.stderr
    monkeypatch.delenv("PYTHONPATH")
    empty = movierec("find", "   ", home=home, check=False)
    assert empty.returncode == 1 and "q '   ' is not allowed" in empty.stderr
    assert "Traceback" not in empty.stderr
    assert "--min-rating" in movierec("find", "--help", home=home).stdout


@pytest.mark.slow
def test_train_the_two_tower_then_newcomer_picks_by_liked_genres(twotower_home):
    """Genre picks come from the rating-trained two-tower, whatever model is the default (the
    hybrid's fit, a minute here, is covered by tests/models/test_hybrid.py). The session's
    fixture trains it with `movierec train`, once for this test and the engine's."""
    home, trained = twotower_home
    assert trained["model"] == "twotower"
    answer = run_json(home, "recommend", "--likes", "Animation", "-k", "5")
    assert answer["user_id"] is None and answer["model"] == "twotower"
    assert sum("Animation" in m["genres"] for m in answer["movies"]) >= 3
    assert answer["movies"][0]["reason"] == "liked by fans of Animation"
    table = movierec("recommend", "--likes", "Animation", "-k", "3", home=home).stdout
    assert "a newcomer who likes Animation" in table
    both = movierec("recommend", "--likes", "Drama", "--user", "1", home=home, check=False)
    assert both.returncode == 1 and "exactly one of --user" in both.stderr
