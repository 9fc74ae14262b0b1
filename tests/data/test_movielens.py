"""The MovieLens loaders: every layout, on small files written here and on the real copies."""

import gzip

import pytest

from movierec.data.files import FileSet
from movierec.data.sources import detect, load_path
from movierec.errors import DataFormatError
from tests.conftest import shared_dataset

FLAGS = ["0"] * 19


def item_line(movie_id, title, genres=()):
    from movierec.data.sources.movielens_100k import GENRES

    flags = ["1" if g in genres else "0" for g in GENRES]
    return f"{movie_id}|{title}|01-Jan-1995||http://imdb|" + "|".join(flags)


@pytest.fixture
def ml100k(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text(
        "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n2\t3\t1\t881250952\n"
    )
    lines = [
        item_line(1, "Toy Story (1995)", ["Animation", "Comedy"]),
        item_line(2, "Godfather, The (1972)", ["Crime", "Drama"]),
        item_line(3, "Café au lait (Métisse) (1993)", ["Comedy"]),
    ]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    (folder / "u.genre").write_text(
        "".join(
            f"{g}|{i}\n"
            for i, g in enumerate(
                __import__("movierec.data.sources.movielens_100k", fromlist=["GENRES"]).GENRES
            )
        )
    )
    return folder


def test_ml100k_original_layout(ml100k):
    dataset = load_path(ml100k)
    assert dataset.source_format == "ml-100k" and dataset.name == "ml-100k"
    catalog = dataset.catalog.set_index("movie_id")
    assert catalog.loc[2, "title"] == "The Godfather" and catalog.loc[2, "year"] == 1972
    assert catalog.loc[1, "genres"] == ["Animation", "Comedy"]
    assert catalog.loc[3, "title"] == "Café au lait (Métisse)"  # latin-1 decoded
    assert len(dataset.ratings) == 4 and dataset.users["occupation"].tolist()[0] == "technician"
    assert dataset.scale.high == 5 and dataset.scale.step == 1


def test_ml100k_half_star_is_off_scale(ml100k):
    (ml100k / "u.data").write_text("1\t1\t5\t1\n1\t2\t3.5\t2\n")
    dataset = load_path(ml100k)
    assert len(dataset.ratings) == 1
    (note,) = [n for n in dataset.report if "scale" in n.message]
    assert note.lines == (2,) and note.file.endswith("u.data")


def test_ml100k_without_ratings_says_so(ml100k):
    (ml100k / "u.data").unlink()
    dataset = load_path(ml100k)
    assert len(dataset.ratings) == 0 and len(dataset.catalog) == 3
    assert any("u.data is missing" in str(n) for n in dataset.report)


def test_ml100k_rated_movie_missing_from_catalog_is_added(ml100k):
    (ml100k / "u.data").write_text("1\t1\t5\t1\n1\t99\t3\t2\n")
    dataset = load_path(ml100k)
    assert 99 in dataset.catalog["movie_id"].tolist()
    assert any("not in the catalog" in str(n) for n in dataset.report)


def test_recbole_layout(tmp_path):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t5\t881250949\n"
        "1\t1\t4\t881250999\n1\t2\t3\t881250950\n"
    )
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation Children's Comedy\n2\tUsual Suspects, The\t1995\tCrime\n"
    )
    (folder / "ml-100k.user").write_text(
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "1\t24\tM\ttechnician\t85711\n"
    )
    # RecBole's link ids are MovieLens-1M ids: ML-1M movie 7 is Toy Story, 9 The Usual Suspects
    (folder / "ml-100k.link").write_text("item_id:token\tentity_id:token\n7\tm.toy\n9\tm.sus\n")
    (folder / "movies.dat").write_text(
        "7::Toy Story (1995)::Animation\n9::Usual Suspects, The (1995)::Crime\n"
    )
    (folder / "ml-100k.kg").write_text(
        "head_id:token\trelation_id:token\ttail_id:token\n"
        "m.toy\tfilm.film.actor\tm.hanks\nm.hanks\tfilm.actor.film\tm.toy\n"
        "m.toy\tfilm.film.directed_by\tm.lasseter\nm.sus\tfilm.film.actor\tm.spacey\n"
    )
    dataset = load_path(folder)
    assert dataset.source_format == "ml-100k-recbole"
    catalog = dataset.catalog.set_index("movie_id")
    assert catalog.loc[2, "title"] == "The Usual Suspects"
    assert catalog.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert catalog.loc[1, "kg_tokens"] == ["actor:m.hanks", "directed_by:m.lasseter"]
    assert len(dataset.ratings) == 2  # the duplicate (1, 1) keeps the later rating
    assert dataset.ratings.set_index("movie_id").loc[1, "rating"] == 4
    assert dataset.users["zip"].tolist() == ["85711"]
    (folder / "movies.dat").unlink()
    without = load_path(folder)
    assert "kg_tokens" not in without.catalog.columns
    assert any("MovieLens-1M ids" in str(note) for note in without.report)


def test_recbole_relinks_films_the_two_releases_spell_apart(tmp_path):
    """ML-1M's long, bilingual or a.k.a. titles still find ml-100k's film; a name two films
    could claim, or a film already matched exactly, is left alone."""
    folder = tmp_path / "rb"
    folder.mkdir()
    items = [
        (1, "Star Wars", 1977),
        (2, "Return of the Jedi", 1983),
        (3, "Das Boot", 1981),
        (4, "Alien 3", 1992),
        (5, "Conan the Barbarian", 1981),
        (6, "Sunset Blvd.", 1950),
        (7, "Twin, The", 1990),  # two ML-1M films below would claim it: matched by neither
        (8, "Heat", 1995),
    ]
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "".join(f"{i}\t{t}\t{y}\tDrama\n" for i, t, y in items)
    )
    ml1m = [
        (260, "Star Wars: Episode IV - A New Hope (1977)"),
        (1210, "Star Wars: Episode VI - Return of the Jedi (1983)"),
        (1233, "Boat, The (Das Boot) (1981)"),
        (1320, "Alien³ (1992)"),
        (1587, "Conan the Barbarian (1982)"),
        (922, "Sunset Blvd. (a.k.a. Sunset Boulevard) (1950)"),
        (70, "Twin: Part One (1990)"),
        (71, "Twin: Part Two (1990)"),
        (6, "Heat (1995)"),
        (99, "Heat: The Return (1995)"),  # Heat is taken by the exact title
    ]
    (folder / "movies.dat").write_text(
        "".join(f"{m}::{t}::Drama\n" for m, t in ml1m), encoding="latin-1"
    )
    (folder / "ml-100k.link").write_text(
        "item_id:token\tentity_id:token\n" + "".join(f"{m}\tm.{m}\n" for m, _ in ml1m)
    )
    (folder / "ml-100k.kg").write_text(
        "head_id:token\trelation_id:token\ttail_id:token\n"
        + "".join(f"m.{m}\tfilm.film.actor\tm.a{m}\n" for m, _ in ml1m)
    )
    dataset = load_path(folder)
    tokens = dataset.catalog.set_index("movie_id")["kg_tokens"].to_dict()
    assert tokens == {
        1: ["actor:m.a260"],
        2: ["actor:m.a1210"],
        3: ["actor:m.a1233"],
        4: ["actor:m.a1320"],
        5: ["actor:m.a1587"],  # a year apart
        6: ["actor:m.a922"],
        7: [],
        8: ["actor:m.a6"],
    }
    assert any("(6 by another name or a year apart)" in str(n) for n in dataset.report)


def test_ml1m_layout_with_gzipped_partial_ratings(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_bytes(
        "1::Toy Story (1995)::Animation|Children's|Comedy\n"
        "2::Misérables, Les (1995)::Drama\n".encode("latin-1")
    )
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    with gzip.open(folder / "ratings_PARTIAL.dat.gz", "wt") as handle:
        handle.write("1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n")
    dataset = load_path(folder)
    assert dataset.source_format == "ml-1m"
    assert dataset.catalog.set_index("movie_id").loc[2, "title"] == "Les Misérables"
    assert dataset.users["occupation"].tolist() == ["K-12 student", "self-employed"]
    assert len(dataset.ratings) == 3


def test_ml1m_bad_rating_value_names_the_line(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_text("1::Toy Story (1995)::Comedy\n")
    (folder / "ratings.dat").write_text("1::1::5::978300760\n1::1::five::978302109\n")
    with pytest.raises(DataFormatError) as info:
        load_path(folder)
    assert info.value.line == 2 and "'five'" in str(info.value)


def test_csv_family(tmp_path):
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
        '2,"Godfather, The (1972)",Crime|Drama\n3,Babylon 5,(no genres listed)\n'
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,4.5,964981247\n2,1,0.5,964982224\n"
    )
    (folder / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\n1,1,Pixar,1\n2,1,pixar,2\n2,1,fun,3\n"
    )
    (folder / "links.csv").write_text(
        "movieId,imdbId,tmdbId\n1,0114709,862\n2,0068646,238\n3,0105946,\n"
    )
    dataset = load_path(folder)
    catalog = dataset.catalog.set_index("movie_id")
    assert catalog.loc[2, "title"] == "The Godfather" and catalog.loc[2, "year"] == 1972
    assert catalog.loc[3, "genres"] == [] and catalog.loc[3, "year"] is __import__("pandas").NA
    assert catalog.loc[1, "tags"] == "pixar, fun"
    assert catalog.loc[1, "tmdb_id"] == 862 and catalog.loc[1, "imdb_id"] == 114709
    assert catalog["tmdb_id"].isna().tolist() == [False, False, True]
    assert dataset.scale.low == 0.5


def test_unknown_format_lists_what_was_found(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataFormatError) as info:
        detect(FileSet.scan(tmp_path))
    assert "notes.txt" in str(info.value) and "ml-100k" in str(info.value)


# --- the real copies in ../shared/data --------------------------------------------------------


def test_real_ml100k_recbole_counts():
    dataset = load_path(shared_dataset("ml-100k-recbole"))
    info = dataset.info()
    assert (info["ratings"], info["users"], info["movies"]) == (100_000, 943, 1_682)
    assert len(dataset.users) == 943


def test_real_ml100k_recbole_kg_relinked_through_ml1m_titles():
    dataset = load_path(
        shared_dataset("ml-100k-recbole"), extra=[shared_dataset("ml-1m") / "movies.dat"]
    )
    assert len(dataset.ratings) == 100_000 and len(dataset.catalog) == 1_682
    # 1,483 by the exact title and year; 37 more by another name ("Star Wars: Episode IV - A
    # New Hope" is ml-100k's "Star Wars") or a year apart
    assert dataset.info()["coverage"]["kg_tokens"] == pytest.approx(1520 / 1682, abs=1e-4)
    catalog = dataset.catalog.set_index("movie_id")
    khan, spock = catalog.loc[228, "kg_tokens"], catalog.loc[229, "kg_tokens"]
    assert catalog.loc[228, "title"] == "Star Trek: The Wrath of Khan"
    assert len(set(khan) & set(spock)) >= 10  # shared cast and crew of the series
    hope, empire, jedi = (set(catalog.loc[m, "kg_tokens"]) for m in (50, 172, 181))
    assert catalog.loc[[50, 172, 181], "title"].tolist() == [
        "Star Wars",
        "The Empire Strikes Back",
        "Return of the Jedi",
    ]
    assert len(hope & empire) >= 10 and len(empire & jedi) >= 10
    # "3 Ninjas: High Noon On Mega Mountain" is not matched by its series name (no tokens lost)
    assert any("43 by another name or a year apart" in str(note) for note in dataset.report)


def test_real_ml_latest_small_counts():
    dataset = load_path(shared_dataset("ml-latest-small"))
    info = dataset.info()
    assert (info["ratings"], info["users"], info["movies"]) == (100_836, 610, 9_742)
    assert info["movies_rated"] == 9_724
    assert not dataset.report.notes  # a clean file: nothing dropped
    tagged = dataset.catalog["tags"].str.len().gt(0).sum()
    assert tagged == 1_572  # movies with at least one of the 3,683 tags
    godfather = dataset.catalog[dataset.catalog["title"] == "The Godfather"]
    assert godfather["year"].tolist() == [1972] and godfather["tmdb_id"].tolist() == [238]


def test_real_ml1m_partial_counts():
    dataset = load_path(shared_dataset("ml-1m"))
    assert len(dataset.ratings) == 487_650
    assert dataset.ratings["user_id"].nunique() == 2_999
    assert dataset.ratings["movie_id"].nunique() == 3_615
    assert len(dataset.catalog) == 3_883 and len(dataset.users) == 6_040
