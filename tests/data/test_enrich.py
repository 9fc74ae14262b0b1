"""Enrichment: TMDB-side metadata joined onto MovieLens movies through links (else titles and
years), layer by layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import HALF_STARS, Dataset, empty_ratings
from movierec.data.enrich import enrich
from movierec.data.sources import load_path
from movierec.data.sources.common import split_list
from movierec.data.titles import split_title
from movierec.errors import DataFormatError


def base_dataset() -> Dataset:
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 3, 4],
            "title": ["Toy Story", "Jumanji", "Heat", "Unknown"],
            "year": [1995, 1995, None, 2018],
            "genres": [["Animation"], ["Adventure"], [], []],
            "tmdb_id": [862, 8844, None, 999_999],
            "imdb_id": [114709, 113497, 113277, 1],
        }
    )
    ratings = pd.DataFrame(
        {"user_id": [1, 1], "movie_id": [1, 3], "rating": [4.0, 3.5], "timestamp": [0, 0]}
    )
    return Dataset("ml", catalog, ratings, None, HALF_STARS, "movielens-csv")


def keywords_source() -> Dataset:
    """Keyed by MovieLens ids like The Movies Dataset; matched through its tmdb_id column."""
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 6],
            "tmdb_id": [862, 8844, 949],
            "imdb_id": [114709, 113497, 113277],
            "keywords": [["toy", "jealousy"], [], ["heist"]],
        }
    )
    return Dataset("kw", catalog, empty_ratings(), source_format="the-movies-dataset")


def tmdb_source() -> Dataset:
    catalog = pd.DataFrame(
        {
            "movie_id": [862, 8844, 949],
            "tmdb_id": [862, 8844, 949],
            "imdb_id": [114709, 113497, None],
            "title": ["Toy Story!", "Jumanji!", "Heat!"],
            "year": [1995, 1995, 1995],
            "genres": [["Family"], ["Fantasy"], ["Crime"]],
            "overview": ["Woody.", "", "Cops."],
            "cast": [["Tom Hanks"], ["Robin Williams"], ["Al Pacino"]],
            "keywords": [["cowboy"], ["board game"], ["robbery"]],
            "vote_count": [100, 50, 10],
            "vote_average": [7.7, 6.9, 7.5],
        }
    )
    return Dataset("tmdb", catalog, empty_ratings(), source_format="tmdb-10k")


def imdb_source() -> Dataset:
    catalog = pd.DataFrame(
        {
            "movie_id": [113277, 113497],
            "imdb_id": [113277, 113497],
            "director": [["Michael Mann"], ["Joe Johnston"]],
            "overview": ["IMDb plot.", "Game."],
            "language": ["en", "en"],
            "vote_count": [5000, 6000],
            "vote_average": [8.2, 7.0],
        }
    )
    return Dataset("imdb", catalog, empty_ratings(), source_format="imdb-5000")


def test_layers_fill_only_empty_cells():
    base = base_dataset()
    original = base.catalog.copy(deep=True)
    enriched, coverage = enrich(base, [keywords_source(), tmdb_source(), imdb_source()])
    catalog = enriched.catalog.set_index("movie_id")
    # keywords from the first source win; the second fills only what is still empty
    assert catalog.loc[1, "keywords"] == ["toy", "jealousy"]
    assert catalog.loc[2, "keywords"] == ["board game"]
    # Heat has no tmdb_id in the base: matched by imdb_id (keywords source) ...
    assert catalog.loc[3, "keywords"] == ["heist"]
    # ... and, once the keywords source gave it tmdb_id 949, by TMDB id in the next source
    assert catalog.loc[3, "tmdb_id"] == 949 and catalog.loc[3, "overview"] == "Cops."
    assert catalog.loc[2, "overview"] == "Game."  # TMDB's was empty, IMDb's fills it
    # MovieLens's own title and genres stay; genres and year are filled where missing
    assert catalog.loc[1, "title"] == "Toy Story" and catalog.loc[1, "genres"] == ["Animation"]
    assert catalog.loc[3, "genres"] == ["Crime"] and catalog.loc[3, "year"] == 1995
    # votes come as a pair from one source
    assert (catalog.loc[2, "vote_count"], catalog.loc[2, "vote_average"]) == (50, 6.9)
    assert catalog.loc[3, "director"] == ["Michael Mann"]
    assert catalog.loc[4, "overview"] == "" and catalog.loc[4, "cast"] == []
    # the inputs are untouched, and no list is shared with a source
    pd.testing.assert_frame_equal(base.catalog, original)
    catalog.loc[1, "cast"].append("X")
    assert tmdb_source().catalog.loc[0, "cast"] == ["Tom Hanks"]
    assert enriched.ratings.equals(base.ratings)

    assert coverage["movies"] == 4
    # "Unknown" (2018) has ids no source knows: not matched by its title, whatever shares it
    assert coverage["matched"] == {"tmdb": 2, "imdb": 1, "title": 0, "unmatched": 1}
    assert [s["matched"] for s in coverage["sources"]] == [3, 3, 2]
    assert coverage["sources"][0]["by_imdb"] == 1 and coverage["sources"][1]["by_tmdb"] == 3
    assert coverage["sources"][2]["filled"]["overview"] == 1
    columns = coverage["columns"]
    assert columns["keywords"] == {"gained": 3, "coverage": 0.75}
    assert columns["overview"] == {"gained": 3, "coverage": 0.75}
    assert columns["director"] == {"gained": 2, "coverage": 0.5}
    assert columns["genres"] == {"gained": 1, "coverage": 0.75}
    assert columns["tmdb_id"] == {"gained": 1, "coverage": 1.0}
    assert columns["language"]["gained"] == 2
    text = "\n".join(str(n) for n in enriched.report)
    assert (
        "enriched from kw (the-movies-dataset): matched 3 of 4 movies (2 by TMDB id, "
        "1 by IMDb id, 0 by title and year)" in text
    )


def test_columns_no_source_has_are_not_added():
    enriched, coverage = enrich(base_dataset(), [keywords_source()])
    assert "overview" not in enriched.catalog.columns
    assert "overview" not in coverage["columns"]
    assert enriched.metadata_columns == ["keywords", "tmdb_id", "imdb_id"]


def test_without_links_films_are_matched_by_title_and_year():
    """ml-100k has no links: its films are found in a TMDB source by title and year, and a
    later source matches them by the ids the first one gave."""
    catalog = pd.DataFrame(
        {
            "movie_id": [10, 20, 30, 40],
            "title": ["Toy Story", "Jumanji (Jumanji!)", "Heat", "Unknown"],
            "year": pd.array([1995, 1996, 1995, 2018], dtype="Int16"),  # Jumanji a year off
            "genres": [["Animation"], ["Adventure"], ["Crime"], []],
        }
    )
    base = Dataset("ml-100k", catalog, empty_ratings())
    enriched, coverage = enrich(base, [tmdb_source(), imdb_source()])
    films = enriched.catalog.set_index("movie_id")
    assert films.loc[10, "cast"] == ["Tom Hanks"] and films.loc[10, "tmdb_id"] == 862
    assert films.loc[20, "imdb_id"] == 113497 and films.loc[20, "director"] == ["Joe Johnston"]
    assert films.loc[30, "overview"] == "Cops." and films.loc[30, "genres"] == ["Crime"]
    assert films.loc[40, "overview"] == "" and pd.isna(films.loc[40, "tmdb_id"])
    assert coverage["matched"] == {"tmdb": 0, "imdb": 0, "title": 3, "unmatched": 1}
    by_source = [(s["by_tmdb"], s["by_imdb"], s["by_title"]) for s in coverage["sources"]]
    # Heat has no IMDb id from TMDB, and IMDB 5000 has no titles: Heat stays unmatched there
    assert by_source == [(0, 0, 3), (0, 1, 0)]


def test_needs_ids_or_titles_to_match_on():
    bare = Dataset("bare", pd.DataFrame({"movie_id": [1], "title": ["A"]}), empty_ratings())
    with pytest.raises(DataFormatError, match="no titles with years"):
        enrich(bare, [tmdb_source()])
    with pytest.raises(DataFormatError, match="source 'bare'"):
        enrich(base_dataset(), [bare])
    with pytest.raises(ValueError, match="at least one source"):
        enrich(base_dataset(), [])


# --- real data ----------------------------------------------------------------------------


def ml_latest_small(folder) -> Dataset:
    """ml-latest-small's catalog with its links, built here so the test does not depend on
    the MovieLens CSV loader (the ratings do not matter to enrichment)."""
    movies = pd.read_csv(folder / "movies.csv")
    links = pd.read_csv(folder / "links.csv")
    split = movies["title"].map(split_title)
    catalog = pd.DataFrame(
        {
            "movie_id": movies["movieId"],
            "title": [title for title, _ in split],
            "year": [year for _, year in split],
            "genres": movies["genres"].map(
                lambda g: [x for x in split_list(g) if x != "(no genres listed)"]
            ),
        }
    ).merge(
        links.rename(columns={"movieId": "movie_id", "imdbId": "imdb_id", "tmdbId": "tmdb_id"}),
        on="movie_id",
        how="left",
    )
    return Dataset("ml-latest-small", catalog, empty_ratings(), scale=HALF_STARS)


def real(shared_data, name):
    folder = shared_data / name
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent")
    return folder


def test_real_enrichment_of_ml_latest_small(shared_data):
    base = ml_latest_small(real(shared_data, "ml-latest-small"))
    sources = [
        load_path(real(shared_data, name))
        for name in ("the-movies-dataset", "tmdb-10k", "tmdb-5000")
    ]
    enriched, coverage = enrich(base, sources)
    assert coverage["movies"] == 9_742
    assert coverage["matched"] == {"tmdb": 9_580, "imdb": 10, "title": 0, "unmatched": 152}
    by_source = {s["name"]: (s["matched"], s["by_tmdb"], s["by_imdb"]) for s in coverage["sources"]}
    assert by_source == {
        "the-movies-dataset": (9_587, 9_577, 10),
        "tmdb-10k": (6_224, 6_214, 10),
        "tmdb-5000": (3_537, 3_537, 0),
    }
    figures = {column: (f["gained"], f["coverage"]) for column, f in coverage["columns"].items()}
    assert figures == {
        "title": (0, 1.0),
        "year": (1, 0.9989),
        "genres": (4, 0.9969),
        "overview": (6_585, 0.6759),
        "cast": (6_209, 0.6373),
        "director": (6_217, 0.6382),
        "keywords": (8_698, 0.8928),
        "language": (3_537, 0.3631),
        "vote_count": (6_585, 0.6759),
        "vote_average": (6_585, 0.6759),
        "tmdb_id": (0, 0.9992),
        "imdb_id": (0, 1.0),
    }
    toy = enriched.catalog.set_index("movie_id").loc[1]
    assert toy["cast"] == ["Tom Hanks", "Tim Allen", "Don Rickles"]
    assert toy["director"] == ["John Lasseter"]
    assert "toy" in toy["keywords"] and toy["overview"].startswith("Woody the cowboy")
    assert np.isclose(toy["vote_average"], 7.5)


def test_real_ml100k_is_enriched_by_title_and_year(shared_data):
    """ml-100k has no links; TMDb 10k's titles and years find 918 of its films, 83% of its
    ratings (each of the 51 found by another name or a year apart was read by hand)."""
    base = load_path(real(shared_data, "ml-100k-recbole"), "ml-100k")
    enriched, coverage = enrich(base, [load_path(real(shared_data, "tmdb-10k"))])
    assert coverage["matched"] == {"tmdb": 0, "imdb": 0, "title": 918, "unmatched": 764}
    films = enriched.catalog.set_index("movie_id")
    star_wars, seven, strangelove = films.loc[50], films.loc[11], films.loc[474]
    assert star_wars["director"] == ["George Lucas"] and star_wars["tmdb_id"] == 11
    assert seven["title"] == "Seven (Se7en)" and seven["director"] == ["David Fincher"]
    assert strangelove["year"] == 1963 and strangelove["director"] == ["Stanley Kubrick"]
    rated = base.ratings["movie_id"].isin(films.index[films["tmdb_id"].notna()])
    assert rated.mean() == pytest.approx(0.8308, abs=1e-4)
