"""Datasets stored as Parquet in the home folder: faithful, atomic, and clear when absent."""

import json

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import HALF_STARS, Dataset, LoadReport
from movierec.data.storage import list_datasets, load_dataset, save_dataset
from movierec.errors import DataFormatError, DatasetNotFoundError
from movierec.home import Home


def small_dataset(name="tiny"):
    catalog = pd.DataFrame(
        {
            "movie_id": [1, 2, 3],
            "title": ["Toy Story", "The Godfather", "Heat"],
            "year": [1995, 1972, None],
            "genres": [["Animation", "Comedy"], ["Crime"], []],
            "cast": [["Tom Hanks"], [], ["Al Pacino", "Robert De Niro"]],
            "overview": ["toys", "", "cops"],
            "tmdb_id": [862, 238, None],
        }
    )
    ratings = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "movie_id": [1, 2, 3],
            "rating": [4.0, 4.5, 0.5],
            "timestamp": [10, 20, 30],
        }
    )
    users = pd.DataFrame({"user_id": [1, 2], "gender": ["F", "M"]})
    report = LoadReport()
    report.add("dropped 1 rating(s): NaN", file="ratings.csv", count=1, lines=[7])
    return Dataset(name, catalog, ratings, users, HALF_STARS, "movielens-csv", report)


def test_round_trip_keeps_every_column_and_type(tmp_path):
    home = Home(tmp_path)
    original = small_dataset()
    save_dataset(original, home)
    loaded = load_dataset(home, "tiny")
    pd.testing.assert_frame_equal(loaded.ratings, original.ratings)
    pd.testing.assert_frame_equal(loaded.catalog, original.catalog)
    assert loaded.catalog["genres"].tolist()[0] == ["Animation", "Comedy"]
    assert loaded.catalog["year"].isna().tolist() == [False, False, True]
    assert loaded.scale == HALF_STARS and loaded.source_format == "movielens-csv"
    assert [str(n) for n in loaded.report] == [str(n) for n in original.report]
    assert loaded.fingerprint() == original.fingerprint()
    assert list_datasets(home) == ["tiny"]


def test_overwrite_replaces_and_leaves_no_temporary_folders(tmp_path):
    home = Home(tmp_path)
    save_dataset(small_dataset(), home)
    changed = small_dataset()
    changed.ratings.loc[0, "rating"] = 5.0
    save_dataset(changed, home)
    assert load_dataset(home, "tiny").ratings["rating"].iloc[0] == 5.0
    assert [p.name for p in home.datasets.iterdir()] == ["tiny"]


def test_failed_write_keeps_the_previous_copy(tmp_path, monkeypatch):
    home = Home(tmp_path)
    save_dataset(small_dataset(), home)
    import movierec.data.storage as storage

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage.pq, "write_table", boom)
    with pytest.raises(OSError):
        save_dataset(small_dataset(), home)
    assert len(load_dataset(home, "tiny").ratings) == 3
    assert [p.name for p in home.datasets.iterdir()] == ["tiny"]


def test_absent_dataset_names_the_stored_ones_and_how_to_get_it(tmp_path):
    home = Home(tmp_path)
    save_dataset(small_dataset(), home)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(home, "ml-25m")
    message = str(info.value)
    assert "stored: tiny" in message and "movierec data fetch ml-25m" in message


def test_newer_format_and_corrupt_manifest(tmp_path):
    home = Home(tmp_path)
    folder = save_dataset(small_dataset(), home)
    meta = json.loads((folder / "dataset.json").read_text())
    (folder / "dataset.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(DataFormatError, match="newer movierec"):
        load_dataset(home, "tiny")
    (folder / "dataset.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="corrupt"):
        load_dataset(home, "tiny")


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "x" * 65])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="not allowed"):
        save_dataset(small_dataset(name), Home(tmp_path))


def test_rating_matrix_and_info():
    dataset = small_dataset()
    matrix, users, movies = dataset.rating_matrix()
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32
    assert matrix[users.index(2), movies.index(3)] == pytest.approx(0.5)
    info = dataset.info()
    assert info["users"] == 2 and info["ratings"] == 3 and info["movies_rated"] == 3
    assert info["coverage"]["cast"] == pytest.approx(2 / 3, abs=1e-4)
    assert info["coverage"]["overview"] == pytest.approx(2 / 3, abs=1e-4)
    assert info["demographics"] == ["gender"]


def test_dataset_rejects_non_integer_ids():
    catalog = pd.DataFrame({"movie_id": ["a"], "title": ["x"]})
    with pytest.raises(DataFormatError, match="movie_id must hold integers"):
        Dataset("bad", catalog, small_dataset().ratings)
