"""TMDB-side loaders: The Movies Dataset, TMDB 5000, TMDb 10k, IMDB 5000.

Small files written here pin each format's parsing and its bad-input reports; the real copies
in ../shared/data pin the exact counts.
"""

from __future__ import annotations

import ast
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from movierec.data.files import FileSet
from movierec.data.sources import common, imdb5000, load_path, movies_dataset, tmdb10k, tmdb5000
from movierec.errors import DataFormatError

# --- helpers ------------------------------------------------------------------------------


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def records(*names: str, key: str = "name", **extra) -> list[dict]:
    return [{"id": i, key: name, **extra} for i, name in enumerate(names)]


def notes(dataset) -> str:
    return "\n".join(str(note) for note in dataset.report)


def real(shared_data, name):
    folder = shared_data / name
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent")
    return folder


# --- TMDB 5000 ----------------------------------------------------------------------------

TMDB5000_HEADER = (
    "budget,genres,id,keywords,original_language,overview,release_date,title,"
    "vote_average,vote_count\n"
)


def tmdb5000_row(
    movie_id,
    title,
    genres,
    keywords,
    date="2009-12-10",
    language="en",
    overview="A story.",
    votes="100",
    average="7.2",
) -> str:
    return (
        ",".join(
            [
                "1000",
                csv_cell(genres),
                str(movie_id),
                csv_cell(keywords),
                language,
                csv_cell(overview),
                date,
                csv_cell(title),
                average,
                votes,
            ]
        )
        + "\n"
    )


def test_tmdb5000_movies_without_credits(tmp_path):
    genres = json.dumps(records("Action", "Science Fiction"))
    write(
        tmp_path,
        "tmdb_5000_movies.csv",
        TMDB5000_HEADER
        + tmdb5000_row(19995, "Avatar", genres, json.dumps(records("space", "alien")))
        + tmdb5000_row(285, "Pirates", "[]", '[{"id": 1, "name": "ocean"', date="")
        + tmdb5000_row(
            206647,
            " Spectre ",
            json.dumps(records("Action")),
            "[]",
            language="fr",
            votes="",
            average="",
        ),
    )
    dataset = load_path(tmp_path)
    assert dataset.source_format == "tmdb-5000"
    assert dataset.scale is None and len(dataset.ratings) == 0
    catalog = dataset.catalog.set_index("movie_id")
    assert catalog.loc[19995, "title"] == "Avatar"
    assert catalog.loc[19995, "tmdb_id"] == 19995
    assert catalog.loc[19995, "genres"] == ["Action", "Science Fiction"]
    assert catalog.loc[19995, "keywords"] == ["space", "alien"]
    assert catalog.loc[19995, "year"] == 2009
    assert catalog.loc[19995, "vote_count"] == 100
    assert catalog.loc[19995, "vote_average"] == pytest.approx(7.2)
    assert catalog.loc[206647, "title"] == "Spectre"
    assert catalog.loc[206647, "language"] == "fr"
    assert catalog.loc[285, "keywords"] == []  # the truncated JSON cell
    assert pd.isna(catalog.loc[285, "year"])
    assert np.isnan(catalog.loc[206647, "vote_average"])
    text = notes(dataset)
    assert "emptied 1 keywords cell(s)" in text and "line 3" in text
    assert "tmdb_5000_credits.csv is missing" in text
    assert "cast" not in dataset.catalog.columns


def test_tmdb5000_with_credits_and_duplicates(tmp_path):
    genres = json.dumps(records("Drama"))
    write(
        tmp_path,
        "tmdb_5000_movies.csv",
        TMDB5000_HEADER
        + tmdb5000_row(10, "One", genres, "[]")
        + tmdb5000_row(20, "Two", genres, "[]")
        + tmdb5000_row(10, "One again", genres, "[]"),
    )
    cast = json.dumps(
        [
            {"cast_id": i, "character": "X", "name": n, "order": i}
            for i, n in enumerate(["Ann", "Bob", "Cy", "Dee"])
        ]
    )
    crew = json.dumps(
        [
            {"job": "Director", "name": "Lana"},
            {"job": "Writer", "name": "Wes"},
            {"job": "Director", "name": "Lilly"},
        ]
    )
    write(
        tmp_path,
        "tmdb_5000_credits.csv",
        f"movie_id,title,cast,crew\n10,One,{csv_cell(cast)},{csv_cell(crew)}\n20,Two,not json,[]\n",
    )
    dataset = tmdb5000.load(FileSet.scan(tmp_path), "t")
    catalog = dataset.catalog.set_index("movie_id")
    assert len(catalog) == 2 and catalog.loc[10, "title"] == "One"
    assert catalog.loc[10, "cast"] == ["Ann", "Bob", "Cy"]
    assert catalog.loc[10, "director"] == ["Lana", "Lilly"]
    assert catalog.loc[20, "cast"] == []
    text = notes(dataset)
    assert "dropped 1 duplicate movie row(s)" in text
    assert "emptied 1 cast cell(s)" in text
    assert "missing" not in text


def test_tmdb5000_empty_file_names_the_file(tmp_path):
    write(tmp_path, "tmdb_5000_movies.csv", "")
    with pytest.raises(DataFormatError, match="tmdb_5000_movies.csv.*empty"):
        tmdb5000.load(FileSet.scan(tmp_path), "t")


def test_tmdb5000_missing_columns_are_named(tmp_path):
    write(tmp_path, "tmdb_5000_movies.csv", "movie;title\n1;A\n")
    with pytest.raises(DataFormatError, match="missing column"):
        tmdb5000.load(FileSet.scan(tmp_path), "t")


# --- The Movies Dataset -------------------------------------------------------------------

META_HEADER = (
    "adult,genres,id,imdb_id,original_language,overview,release_date,title,"
    "vote_average,vote_count\n"
)


def meta_row(
    movie_id,
    imdb,
    title,
    genres="[]",
    date="1995-10-30",
    language="en",
    overview="Plot.",
    votes="10.0",
    average="7.7",
) -> str:
    return (
        ",".join(
            [
                "False",
                csv_cell(genres),
                str(movie_id),
                imdb,
                language,
                csv_cell(overview),
                date,
                csv_cell(title),
                average,
                votes,
            ]
        )
        + "\n"
    )


def credits_row(movie_id, cast, crew) -> str:
    return f"{csv_cell(repr(cast))},{csv_cell(repr(crew))},{movie_id}\n"


def movies_dataset_folder(folder):
    genres = repr(records("Animation", "Comedy"))
    write(
        folder,
        "movies_metadata.csv",
        META_HEADER
        + meta_row(862, "tt0114709", "Toy Story", genres)
        + meta_row(8844, "tt0113497", "Jumanji", "[{'id': 1, 'name': 'Adventure'")
        + meta_row("1997-08-20", "tt0000001", "Shifted row")
        + meta_row(999, "tt0999999", "Only in TMDB"),
    )
    toy_cast = [
        {"cast_id": 1, "character": "Woody (voice)", "name": "Tom Hanks", "order": 0},
        {"cast_id": 2, "character": "Buzz {Lightyear}", "name": "Tim Allen", "order": 1},
        {"cast_id": 3, "character": "Mr. Potato Head", "name": "Don Rickles", "order": 2},
        {"cast_id": 4, "character": "Slinky", "name": "Jim Varney", "order": 3},
    ]
    toy_crew = [
        {"department": "Writing", "job": "Screenplay", "name": "Joss Whedon"},
        {"department": "Directing", "job": "Director", "name": "John Lasseter"},
    ]
    jumanji_cast = [
        {"character": "Alan", "name": "Robin Williams", "order": 0},
        {"character": "Judy", "name": "Kirsten Dunst", "order": 1},
        {"character": "Peter", "name": "Bradley Pierce", "order": 2},
        {"character": "Sarah", "name": "Bonnie Hunt", "order": 3},
    ]
    jumanji_crew = [
        {"job": "Director", "name": "Joe Johnston"},
        {"job": "Director", "name": "Pat O'Brien"},
    ]
    write(
        folder,
        "credits.csv",
        "cast,crew,id\n"
        + credits_row(862, toy_cast, toy_crew)
        + credits_row(8844, jumanji_cast, jumanji_crew)
        + "\"[{'name': 'Cut off'\",[],999\n",
    )
    keywords = repr(records("jealousy", "toy", "based on children's book"))
    write(
        folder,
        "keywords.csv",
        "id,keywords\n"
        f"862,{csv_cell(keywords)}\n"
        "8844,\"[{'id': 1, 'name': __import__('os').getcwd()}]\"\n"
        "862,[]\n",
    )
    write(
        folder,
        "links.csv",
        "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n2,0113497,8844\r\n3,0113228,\r\n",
    )
    write(folder, "links_small.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n7502,0185906,331214\n")
    write(
        folder,
        "ratings_small.csv",
        "userId,movieId,rating,timestamp\n1,1,2.5,1260759144\n"
        "1,2,3.0,1260759179\n2,7502,4.5,1260759185\n2,1,7.0,1260759190\n",
    )
    return folder


def test_movies_dataset_full_copy(tmp_path):
    dataset = load_path(movies_dataset_folder(tmp_path))
    assert dataset.source_format == "the-movies-dataset"
    assert dataset.scale is not None and dataset.scale.step == 0.5
    catalog = dataset.catalog.set_index("movie_id")
    assert sorted(catalog.index) == [1, 2, 3, 7502]  # keyed by MovieLens id; 999 has no link
    toy = catalog.loc[1]
    assert (toy["title"], toy["year"], toy["tmdb_id"], toy["imdb_id"]) == (
        "Toy Story",
        1995,
        862,
        114709,
    )
    assert toy["genres"] == ["Animation", "Comedy"]
    assert toy["cast"] == ["Tom Hanks", "Tim Allen", "Don Rickles"]
    assert toy["director"] == ["John Lasseter"]
    assert toy["keywords"] == ["jealousy", "toy", "based on children's book"]
    assert (toy["vote_count"], toy["vote_average"], toy["language"]) == (10, 7.7, "en")
    jumanji = catalog.loc[2]
    assert jumanji["genres"] == []  # bad literal cell
    assert jumanji["keywords"] == []  # not executed, only rejected
    assert jumanji["director"] == ["Joe Johnston", "Pat O'Brien"]
    assert catalog.loc[3, "title"] == "" and pd.isna(catalog.loc[3, "tmdb_id"])
    assert catalog.loc[7502, "tmdb_id"] == 331214  # only in links_small.csv
    assert len(dataset.ratings) == 3  # the 7.0 rating is off the half-star scale
    text = notes(dataset)
    assert "skipped 1 row(s) whose id is not an integer id (e.g. '1997-08-20')" in text
    assert "movies_metadata.csv: emptied 1 genres cell(s)" in text
    assert "keywords.csv: emptied 1 keywords cell(s) that are not a readable list (line 3)" in text
    assert "dropped 1 duplicate keywords row(s)" in text
    assert "credits.csv: emptied 1 cast cell(s) that are not a readable list (line 4)" in text
    assert "added 1 movie(s) found only in links_small.csv" in text
    assert "outside the scale" in text
    assert "not in this copy" not in text


def test_movies_dataset_partial_copy_says_what_is_missing(tmp_path):
    folder = movies_dataset_folder(tmp_path / "full")
    part = tmp_path / "part"
    part.mkdir()
    with zipfile.ZipFile(part / "keywords.csv.zip", "w") as archive:
        archive.write(folder / "keywords.csv", "keywords.csv")
    for name in ("links_small.csv", "ratings_small.csv"):
        (part / name).write_bytes((folder / name).read_bytes())
    dataset = load_path(part)
    assert dataset.source_format == "the-movies-dataset"
    catalog = dataset.catalog.set_index("movie_id")
    assert sorted(catalog.index) == [1, 2, 7502]  # 2 is rated but not in links_small.csv
    assert catalog.loc[1, "keywords"] == ["jealousy", "toy", "based on children's book"]
    text = notes(dataset)
    assert "movies_metadata.csv (titles" in text and "credits.csv (cast, directors)" in text
    assert "1 rated movie(s) are not in the catalog" in text


def test_movies_dataset_without_links_keys_by_tmdb_id(tmp_path):
    folder = movies_dataset_folder(tmp_path)
    for name in ("links.csv", "links_small.csv", "ratings_small.csv"):
        (folder / name).unlink()
    dataset = movies_dataset.load(FileSet.scan(folder), "m")
    catalog = dataset.catalog.set_index("movie_id")
    assert sorted(catalog.index) == [862, 999, 8844]
    assert catalog.loc[999, "imdb_id"] == 999999 and catalog.loc[999, "tmdb_id"] == 999
    assert "movies are keyed by TMDB id" in notes(dataset)


def test_movies_dataset_matches_any_of_its_files(tmp_path):
    write(tmp_path, "links_small.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n")
    assert movies_dataset.matches(FileSet.scan(tmp_path))
    write(tmp_path / "other", "links.csv", "movieId,imdbId,tmdbId\n1,0114709,862\n")
    assert not movies_dataset.matches(FileSet.scan(tmp_path / "other"))


@pytest.mark.parametrize(
    "cell",
    [
        [{"name": "A", "job": "Director"}, {"name": "B {x}", "job": "Director"}],
        [{"name": "Brace } in name", "job": "Director"}, {"name": "C", "job": "Writer"}],
        [{"name": "O'Hara", "job": "Director", "note": "it's"}],
        [{"name": "D", "job": "Director"}] * 5,
    ],
)
def test_credit_shortcut_agrees_with_a_whole_parse(cell):
    text = repr(cell)
    whole = [r["name"] for r in ast.literal_eval(text) if r["job"] == "Director"]
    fast = movies_dataset._some_records(text, movies_dataset._DIRECTOR, None)
    got = fast if fast is not None else movies_dataset._whole(text)
    assert [r["name"] for r in got if r["job"] == "Director"] == whole


# --- TMDb 10k -----------------------------------------------------------------------------

TMDB10K_HEADER = (
    "id,imdb_id,popularity,original_title,cast,director,keywords,overview,genres,"
    "release_date,vote_count,vote_average,release_year\n"
)


def test_tmdb10k_pipes_duplicates_and_mojibake(tmp_path):
    write(
        tmp_path,
        "tmdb-movies.csv",
        TMDB10K_HEADER
        + "135397,tt0369610,32.9,Jurassic World,Chris Pratt|Bryce Dallas Howard|Irrfan Khan|"
        "Vincent D'Onofrio,Colin Trevorrow,monster|dna,\"Twenty-two years later, â€œa "
        'parkâ€.",Action|Science Fiction,6/9/15,5562,6.5,2015\n'
        + "42194,,0.01,TEKKEN,,Dwight H. Little|Ann Doe,,,Crime,3/20/10,110,5,2010\r\n"
        + "11,tt0076759,12.0,Star Wars,Mark Hamill,Alejandro GonzÃ¡lez IÃ±Ã¡rritu,,,"
        "Adventure,3/20/77,4428,7.9,1977\n"
        + "42194,,0.01,TEKKEN,,Dwight H. Little,,,Crime,3/20/10,110,5,2010\n",
    )
    dataset = load_path(tmp_path)
    assert dataset.source_format == "tmdb-10k"
    catalog = dataset.catalog.set_index("movie_id")
    assert len(catalog) == 3
    jw = catalog.loc[135397]
    assert jw["cast"] == ["Chris Pratt", "Bryce Dallas Howard", "Irrfan Khan"]
    assert (jw["tmdb_id"], jw["imdb_id"], jw["year"]) == (135397, 369610, 2015)
    assert jw["genres"] == ["Action", "Science Fiction"]
    assert jw["overview"] == "Twenty-two years later, “a park”."
    assert catalog.loc[42194, "director"] == ["Dwight H. Little", "Ann Doe"]
    assert pd.isna(catalog.loc[42194, "imdb_id"])
    assert catalog.loc[11, "director"] == ["Alejandro González Iñárritu"]
    text = notes(dataset)
    assert "dropped 1 duplicate movie row(s)" in text
    assert "repaired 2 cell(s)" in text


def test_tmdb10k_empty_file_names_the_file(tmp_path):
    write(tmp_path, "tmdb-movies.csv", "")
    with pytest.raises(DataFormatError, match="tmdb-movies.csv.*empty"):
        tmdb10k.load(FileSet.scan(tmp_path), "t")


# --- IMDB 5000 ----------------------------------------------------------------------------

IMDB_HEADER = (
    "color,director_name,actor_2_name,genres,actor_1_name,movie_title,"
    "num_voted_users,actor_3_name,plot_keywords,movie_imdb_link,language,title_year,"
    "imdb_score\r\n"
)
NBSP = "\u00a0"


def imdb_row(tt, title, director="James Cameron", year="2009", language="English") -> str:
    return (
        f"Color,{director},Joel David Moore,Action|Adventure,CCH Pounder,{title}{NBSP},"
        f"886204,Wes Studi,avatar|future,http://www.imdb.com/title/{tt}/?ref_=fn_tt_tt_1,"
        f"{language},{year},7.9\r\n"
    )


def test_imdb5000_ids_titles_duplicates(tmp_path):
    write(
        tmp_path,
        "movie_metadata.csv",
        IMDB_HEADER
        + imdb_row("tt0499549", "Avatar")
        + imdb_row("tt0449088", "Pirates", director="", year="", language="Cantonese")
        + imdb_row("tt0499549", "Avatar")
        + imdb_row("nolink", "Broken")
        + imdb_row("tt5289954", "Star Wars", language="Aboriginal"),
    )
    dataset = load_path(tmp_path)
    assert dataset.source_format == "imdb-5000"
    catalog = dataset.catalog.set_index("movie_id")
    assert sorted(catalog.index) == [449088, 499549, 5289954]
    avatar = catalog.loc[499549]
    assert avatar["title"] == "Avatar" and avatar["imdb_id"] == 499549
    assert avatar["cast"] == ["CCH Pounder", "Joel David Moore", "Wes Studi"]
    assert avatar["director"] == ["James Cameron"]
    assert avatar["keywords"] == ["avatar", "future"]
    assert (avatar["year"], avatar["vote_count"], avatar["vote_average"]) == (2009, 886204, 7.9)
    assert avatar["language"] == "en"
    assert catalog.loc[449088, "language"] == "cn" and catalog.loc[449088, "director"] == []
    assert catalog.loc[5289954, "language"] == "Aboriginal"
    assert "tmdb_id" not in dataset.catalog.columns
    text = notes(dataset)
    assert "dropped 1 duplicate movie row(s)" in text
    assert "skipped 1 row(s) without an IMDb tt id" in text and "line 5" in text


def test_imdb5000_empty_file_names_the_file(tmp_path):
    write(tmp_path, "movie_metadata.csv", "")
    with pytest.raises(DataFormatError, match="movie_metadata.csv.*empty"):
        imdb5000.load(FileSet.scan(tmp_path), "i")


def test_imdb_numbers_read_every_spelling():
    values = pd.Series(
        ["tt0114709", "0114709", "http://www.imdb.com/title/tt0499549/?ref_=fn_tt", "", None, "n/a"]
    )
    assert common.imdb_numbers(values).tolist() == [114709, 114709, 499549, pd.NA, pd.NA, pd.NA]


# --- the real copies ----------------------------------------------------------------------


def test_real_movies_dataset(shared_data):
    dataset = load_path(real(shared_data, "the-movies-dataset"))
    assert dataset.source_format == "the-movies-dataset"
    assert len(dataset.ratings) == 100_004
    assert dataset.ratings["user_id"].nunique() == 671
    assert dataset.ratings["movie_id"].nunique() == 9_066
    # links.csv's 45,843 movies plus 10 (TV series, mostly) that only links_small.csv has;
    # 8 of those are rated in ratings_small.csv.
    assert len(dataset.catalog) == 45_843 + 10
    assert dataset.catalog["movie_id"].is_unique
    assert dataset.ratings["movie_id"].isin(dataset.catalog["movie_id"]).all()
    assert int(dataset.catalog["tmdb_id"].notna().sum()) == 45_631
    assert int(dataset.catalog["imdb_id"].notna().sum()) == 45_853
    has_keywords = dataset.catalog["keywords"].map(len).gt(0)
    assert int(has_keywords.sum()) == 31_110
    text = notes(dataset)
    assert "dropped 987 duplicate keywords row(s)" in text
    assert "added 10 movie(s) found only in links_small.csv" in text
    assert "movies_metadata.csv (titles" in text and "credits.csv (cast" in text


def test_real_tmdb5000(shared_data):
    dataset = load_path(real(shared_data, "tmdb-5000"))
    assert dataset.source_format == "tmdb-5000"
    assert len(dataset.catalog) == 4_803 and len(dataset.ratings) == 0
    avatar = dataset.catalog.set_index("movie_id").loc[19995]
    assert avatar["title"] == "Avatar" and avatar["year"] == 2009
    assert avatar["vote_count"] == 11_800 and avatar["language"] == "en"
    assert "tmdb_5000_credits.csv is missing" in notes(dataset)


def test_real_tmdb10k(shared_data):
    dataset = load_path(real(shared_data, "tmdb-10k"))
    assert dataset.source_format == "tmdb-10k"
    assert len(dataset.catalog) == 10_865
    text = notes(dataset)
    assert "tmdb-movies.csv: dropped 1 duplicate movie row(s)" in text
    assert "repaired 2691 cell(s)" in text
    assert dataset.catalog["cast"].map(len).max() == 3
    assert int(dataset.catalog["imdb_id"].notna().sum()) == 10_855


def test_real_imdb5000(shared_data):
    dataset = load_path(real(shared_data, "imdb-5000"))
    assert dataset.source_format == "imdb-5000"
    assert len(dataset.catalog) == 4_919
    assert "dropped 124 duplicate movie row(s)" in notes(dataset)
    assert not dataset.catalog["title"].str.endswith(NBSP).any()
    assert dataset.catalog["year"].min() == 1916 and dataset.catalog["year"].max() == 2016
