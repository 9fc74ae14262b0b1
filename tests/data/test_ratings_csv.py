"""A lone ratings CSV, as a site exports it: header spellings, the scale read from the ratings,
and bad files named by file and line."""

import numpy as np
import pytest

from movierec.data.sources import load_path
from movierec.errors import DataFormatError


def write(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_any_common_spelling_of_the_columns(tmp_path):
    path = write(tmp_path, "User,Item_ID,Score,Time\n7,42,4,100\n7,43,2,200\n8,42,5,300\n")
    dataset = load_path(path)
    assert dataset.name == "export" and dataset.source_format == "ratings-csv"
    columns = ["user_id", "movie_id", "rating", "timestamp"]
    rows = dataset.ratings[columns].to_numpy().tolist()
    assert rows == [[7, 42, 4, 100], [7, 43, 2, 200], [8, 42, 5, 300]]
    assert sorted(dataset.catalog["movie_id"]) == [42, 43]
    assert (dataset.scale.low, dataset.scale.high, dataset.scale.step) == (1, 5, 1)
    notes = " ".join(str(n) for n in dataset.report.notes)
    assert "1–5 in steps of 1" in notes and "shown by id" in notes


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ("4.5,0.5,3", (0.5, 5, 0.5)),  # MovieLens's half stars
        ("7,10,1", (1, 10, 1)),
        ("0,3,2", (0, 5, 1)),  # a 0 is used: the scale starts there
        ("55,90,12", (1, 100, 1)),
        ("3,3,3", (1, 5, 1)),  # one value still makes a scale
    ],
)
def test_the_scale_is_read_from_the_ratings(tmp_path, values, scale):
    rows = "".join(f"1,{movie},{value}\n" for movie, value in enumerate(values.split(",")))
    dataset = load_path(write(tmp_path, "user_id,movie_id,rating\n" + rows))
    assert (dataset.scale.low, dataset.scale.high, dataset.scale.step) == scale
    assert len(dataset.ratings) == 3


def test_bad_files_are_named_by_file_and_line(tmp_path):
    with pytest.raises(DataFormatError, match=r"export.csv, line 3: .*3.73"):
        load_path(write(tmp_path, "user_id,movie_id,rating\n1,1,4\n1,2,3.73\n"))
    with pytest.raises(DataFormatError, match=r"line 1: no movie column: .*item.*found user, x"):
        load_path(write(tmp_path, "user,x,rating\n1,1,4\n"))
    with pytest.raises(DataFormatError, match=r"line 3: column 'movie_id': 'x' is not an integer"):
        load_path(write(tmp_path, "user_id,movie_id,rating\n1,1,4\n1,x,3\n"))
    with pytest.raises(DataFormatError, match="header but no rows"):
        load_path(write(tmp_path, "user_id,movie_id,rating\n"))
    with pytest.raises(DataFormatError, match="no ratings in the file"):
        load_path(write(tmp_path, "user_id,movie_id,rating\n1,1,\n"))


def test_missing_and_repeated_ratings_are_dropped_with_a_note(tmp_path):
    dataset = load_path(write(tmp_path, "user_id,movie_id,rating\n1,1,4\n1,2,NaN\n1,1,5\n"))
    assert dataset.ratings[["movie_id", "rating"]].to_numpy().tolist() == [[1, 5]]
    notes = " ".join(str(n) for n in dataset.report.notes)
    assert "missing or NaN (line 3)" in notes and "duplicate" in notes


def test_a_lone_file_of_another_kind_is_an_unknown_format(tmp_path):
    with pytest.raises(DataFormatError, match="unknown dataset format .*notes.txt"):
        load_path(write(tmp_path, "hello", name="notes.txt"))
    folder = tmp_path / "site"
    folder.mkdir()
    write(folder, "user_id,movie_id,rating\n1,1,4\n", name="ratings.csv")
    with pytest.raises(DataFormatError, match="missing column"):  # a folder is MovieLens's
        load_path(folder)
    assert np.isfinite(load_path(folder / "ratings.csv").ratings["rating"]).all()
