"""Search by description: the real all-MiniLM-L6-v2 model on real ml-100k, and the TF-IDF fallback.

The sentence model is loaded once per session (``sentence_encoder``) and ml-100k's 1,682 titles
are embedded once per session (``ml100k_descriptions``, tests/conftest.py); every test here
reuses them.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from movierec.data.description import DescriptionConfig, DescriptionIndex, open_index
from movierec.data.movie_texts import movie_texts
from movierec.data.sources import load_path
from movierec.engine.core import Engine
from movierec.engine.describe import descriptions_of
from movierec.errors import DataFormatError, InvalidValueError, NoMatchError
from movierec.home import Home
from tests.conftest import copy_descriptions, shared_dataset


@pytest.fixture(scope="module")
def ml100k():
    return load_path(shared_dataset("ml-100k-recbole"), "ml-100k")


@pytest.fixture(scope="module")
def engine(ml100k, ml100k_descriptions, sentence_encoder, tmp_path_factory):
    """The engine with the session's stored index of ml-100k, which it loads, not builds."""
    home = Home(tmp_path_factory.mktemp("description-home"))
    copy_descriptions(ml100k_descriptions, home.dataset_dir("ml-100k"))
    engine = Engine(ml100k, home)
    assert descriptions_of(engine).index("auto")[1] is False
    return engine


@pytest.fixture
def no_sentence_model(monkeypatch):
    """As if sentence-transformers were not installed: importing it fails."""
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)


def genres_of(engine, answer):
    return [set(row.genres) for row in answer.movies]


def test_texts_hold_what_the_catalog_knows():
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 3],
            "title": ["Heat", None, None],
            "year": [1995, None, None],
            "genres": [["Crime", "Thriller"], [], []],
            "overview": ["A thief and a detective.", None, None],
            "keywords": [["heist", "los angeles"], ["ocean"], []],
            "tags": ["slow burn", None, None],
        }
    )
    texts = movie_texts(catalog)
    assert texts[0] == (
        "Heat (1995). Crime, Thriller. A thief and a detective. Keywords: heist, "
        "los angeles. Tags: slow burn."
    )
    assert texts[1] == "Keywords: ocean." and texts[2] == ""


def test_a_fifties_comedy_is_a_comedy_from_the_fifties(engine):
    answer = engine.find("a '50s comedy", years="1950s", k=8)
    assert answer.backend == "sentence" and answer.model == "all-MiniLM-L6-v2"
    assert len(answer.notes) == 1 and "no overviews" in answer.notes[0]  # ml-100k has none
    assert len(answer.movies) == 8
    assert all(1950 <= row.year <= 1959 for row in answer.movies)
    comedies = sum("Comedy" in g for g in genres_of(engine, answer))
    assert comedies >= 6, [(r.title, r.genres) for r in answer.movies]
    scores = [row.score for row in answer.movies]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1


def test_a_documentary_query_finds_documentaries(engine):
    answer = engine.find("stunning nature documentary", k=10)
    documentaries = sum("Documentary" in g for g in genres_of(engine, answer))
    assert documentaries >= 6, [(r.title, r.genres) for r in answer.movies]


def test_meaning_not_words(engine):
    """ "space battles" shares no word with "Sci-Fi" or "War", yet finds them."""
    answer = engine.find("space battles", k=5)
    assert sum("Sci-Fi" in g for g in genres_of(engine, answer)) >= 4


def test_filters_combine(engine):
    answer = engine.find("a funny film", genres="Romance", years="1990-1995", min_rating=3.5, k=10)
    assert answer.movies
    well_rated = set(engine.candidates(min_rating=3.5).tolist())
    for row in answer.movies:
        assert "Romance" in row.genres and 1990 <= row.year <= 1995
        assert row.movie_id in well_rated
    few = engine.find("a funny film", genres="Film-Noir", years="1990s", k=10)
    assert len(few.movies) < 10 and "only" in few.notes[-1]


def test_query_matches_brute_force_cosine(engine):
    index, _ = descriptions_of(engine).index("auto")
    query = index.encoder.encode(["heist film with a twist"])[0]
    expected = np.argsort(-(np.asarray(index.vectors) @ query), kind="stable")[:10]
    ranking = index.query("heist film with a twist", 10)
    assert ranking.movie_ids.tolist() == index.movie_ids[expected].tolist()
    norms = np.linalg.norm(index.vectors, axis=1)
    assert index.vectors.dtype == np.float32 and np.allclose(norms, 1, atol=1e-5)


def test_save_load_round_trip(engine, tmp_path):
    index, _ = descriptions_of(engine).index("auto")
    index.save(tmp_path / "description")
    manifest = json.loads((tmp_path / "description" / "manifest.json").read_text())
    assert manifest["backend"] == "sentence" and manifest["dimension"] == 384
    loaded = DescriptionIndex.load(
        tmp_path / "description", index.encoder, expected_hash=index.digest
    )
    assert loaded is not None
    np.testing.assert_array_equal(np.asarray(loaded.vectors), index.vectors)
    a, b = index.query("a western", 10), loaded.query("a western", 10)
    assert a.movie_ids.tolist() == b.movie_ids.tolist()
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
    assert (
        DescriptionIndex.load(tmp_path / "description", index.encoder, expected_hash="0" * 16)
        is None
    )


def test_a_stale_index_is_rebuilt(ml100k, sentence_encoder, tmp_path):
    catalog = ml100k.catalog.head(40).reset_index(drop=True)
    folder = tmp_path / "description"
    first, built = open_index(catalog, folder, encoder=sentence_encoder)
    assert built and (folder / "vectors.npy").exists()
    again, built = open_index(catalog, folder, encoder=sentence_encoder)
    assert not built and again.digest == first.digest
    changed = catalog.copy()
    changed.loc[0, "title"] = "A Completely Different Film"
    rebuilt, built = open_index(changed, folder, encoder=sentence_encoder)
    assert built and rebuilt.digest != first.digest
    assert json.loads((folder / "manifest.json").read_text())["texts_hash"] == rebuilt.digest


def test_tfidf_fallback_works_and_says_so(ml100k, no_sentence_model):
    engine = Engine(ml100k)
    answer = engine.find("documentary", k=5)
    assert answer.backend == "tfidf" and answer.model == "tfidf"
    assert answer.notes and "TF-IDF" in answer.notes[0] and "not installed" in answer.notes[0]
    assert all("Documentary" in row.genres for row in answer.movies), answer.movies
    with pytest.raises(DataFormatError, match="sentence-transformers"):
        DescriptionIndex.build(ml100k.catalog, DescriptionConfig(backend="sentence"))


def test_tfidf_asked_for_has_no_note(ml100k):
    index = DescriptionIndex.build(ml100k.catalog, DescriptionConfig(backend="tfidf"))
    assert index.backend == "tfidf" and index.note is None
    ranking = index.query("star wars", 3)
    assert 50 in ranking.movie_ids.tolist()  # Star Wars (1977)
    assert open_index(ml100k.catalog, None, DescriptionConfig(backend="tfidf"))[1]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"query": "   "}, InvalidValueError, "q"),
        ({"query": "x" * 501}, InvalidValueError, "q"),
        ({"query": "comedy", "k": 0}, InvalidValueError, "k"),
        ({"query": "comedy", "backend": "magic"}, InvalidValueError, "backend"),
        ({"query": "comedy", "years": "abc"}, ValueError, None),
        ({"query": "comedy", "genres": "Cartoons"}, NoMatchError, None),
    ],
)
def test_bad_input_names_the_field(engine, kwargs, error, field):
    with pytest.raises(error) as raised:
        engine.find(**kwargs)
    if field is not None:
        assert raised.value.field == field


def test_bad_config():
    with pytest.raises(ValueError, match="backend"):
        DescriptionConfig(backend="bert")
    with pytest.raises(ValueError, match="batch_size"):
        DescriptionConfig(batch_size=0)


def test_answers_say_when_films_are_matched_by_title_and_genres_alone(ml100k):
    """ml-100k has titles, years and genres only: "a space opera" meets "For Ever Mozart" by
    a word of its title. Answers say so, and say it for a catalog only partly described."""
    notes = Engine(ml100k).find("documentary", k=3, backend="tfidf").notes
    assert notes == [
        "The catalog has no overviews, keywords or tags: films are matched by their titles, "
        "years and genres alone."
    ]
    catalog = ml100k.catalog.copy()
    half = np.arange(len(catalog)) % 2 == 0
    catalog["overview"] = np.where(half, "A film about people.", "")
    notes = Engine(ml100k.with_catalog(catalog)).find("people", k=3, backend="tfidf").notes
    assert notes == [
        "Only 50% of the catalog's films have an overview, keywords or tags; the others are "
        "matched by their titles, years and genres alone."
    ]
    catalog["overview"] = "A film about people."
    assert Engine(ml100k.with_catalog(catalog)).find("people", k=3, backend="tfidf").notes == []
