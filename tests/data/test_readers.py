"""Reading files however they are packed, and bad rows named by file and line."""

import gzip
import zipfile

import numpy as np
import pyarrow as pa
import pytest

from movierec.data.dataset import HALF_STARS, LoadReport
from movierec.data.files import FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import read_table
from movierec.errors import DataFormatError

HEADER = "userId,movieId,rating,timestamp\n"
TYPES = {
    "userId": pa.int32(),
    "movieId": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}
COLUMNS = {"user_id": "userId", "movie_id": "movieId", "rating": "rating", "timestamp": "timestamp"}


def write(path, text):
    path.write_text(text)
    return path


def ratings_from(tmp_path, body, report=None):
    write(tmp_path / "ratings.csv", HEADER + body)
    files = FileSet.scan(tmp_path)
    table = read_table(files.get("ratings.csv"), types=TYPES)
    return clean_ratings(
        table, HALF_STARS, report if report is not None else LoadReport(), columns=COLUMNS
    )


def test_fileset_reads_plain_gzip_and_zip_members(tmp_path):
    write(tmp_path / "a.csv", "x\n1\n")
    with gzip.open(tmp_path / "b.csv.gz", "wt") as handle:
        handle.write("x\n2\n")
    with zipfile.ZipFile(tmp_path / "c.csv.zip", "w") as archive:
        archive.writestr("c.csv", "x\n3\n")
        archive.writestr("__MACOSX/._c.csv", "junk")
    files = FileSet.scan(tmp_path)
    assert sorted(files) == ["a.csv", "b.csv", "c.csv"]
    values = [read_table(files.get(n)).data.column("x").to_pylist()[0] for n in sorted(files)]
    assert values == [1, 2, 3]
    assert files.get("c.csv").display.endswith("c.csv.zip:c.csv")


def test_fileset_scans_a_zip_archive_with_a_folder_inside(tmp_path):
    with zipfile.ZipFile(tmp_path / "ml.zip", "w") as archive:
        archive.writestr("ml-latest-small/movies.csv", "movieId,title,genres\n")
        archive.writestr("ml-latest-small/", "")
    files = FileSet.scan(tmp_path / "ml.zip")
    assert list(files) == ["movies.csv"]


def test_missing_path_and_a_lone_file(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        FileSet.scan(tmp_path / "nope")
    lone = FileSet.scan(write(tmp_path / "x.csv", "hello"))  # a ratings export, say
    assert list(lone) == ["x.csv"] and lone.root == tmp_path / "x.csv"


def test_empty_file_is_an_error_naming_the_file(tmp_path):
    write(tmp_path / "ratings.csv", "")
    with pytest.raises(DataFormatError, match=r"ratings\.csv: the file is empty"):
        read_table(FileSet.scan(tmp_path).get("ratings.csv"), types=TYPES)


def test_header_only_is_an_error(tmp_path):
    write(tmp_path / "ratings.csv", HEADER)
    with pytest.raises(DataFormatError, match="header but no rows"):
        read_table(FileSet.scan(tmp_path).get("ratings.csv"), types=TYPES)


def test_value_that_does_not_convert_names_line_and_column(tmp_path):
    body = "1,10,4.0,100\n1,11,3.5,101\n1,abc,3.0,102\n"
    with pytest.raises(DataFormatError) as info:
        ratings_from(tmp_path, body)
    assert info.value.line == 4
    assert "'movieId'" in str(info.value) and "'abc'" in str(info.value)


def test_wrong_separator_says_so(tmp_path):
    write(tmp_path / "ratings.csv", "userId;movieId;rating;timestamp\n1;2;3.0;4\n")
    table = read_table(FileSet.scan(tmp_path).get("ratings.csv"), types=TYPES)
    with pytest.raises(DataFormatError, match="separator ','"):
        clean_ratings(table, HALF_STARS, LoadReport(), columns=COLUMNS)


def test_malformed_rows_are_skipped_and_reported_with_lines(tmp_path):
    report = LoadReport()
    body = "1,10,4.0,100\n1,11\n1,12,3.0,102,extra\n2,10,5.0,103\n"
    frame = ratings_from(tmp_path, body, report)
    assert frame["movie_id"].tolist() == [10, 10]
    (note,) = report.notes
    assert note.count == 2 and note.lines == (3, 4)
    assert "malformed" in note.message


def test_nan_missing_and_out_of_scale_ratings_are_dropped_with_lines(tmp_path):
    report = LoadReport()
    body = (
        "1,10,4.0,100\n"  # line 2 ok
        "1,11,,101\n"  # line 3 missing
        "1,12,NaN,102\n"  # line 4 NaN
        "1,13,7.0,103\n"  # line 5 out of scale
        "1,14,3.7,104\n"  # line 6 off the half-star step
        "1,15,0.0,105\n"  # line 7 below the scale
        ",16,3.0,106\n"  # line 8 missing user
        "2,10,0.5,107\n"
    )  # line 9 ok
    frame = ratings_from(tmp_path, body, report)
    assert frame[["user_id", "movie_id"]].values.tolist() == [[1, 10], [2, 10]]
    by_message = {n.message.split(":")[1].strip(): n for n in report.notes}
    assert by_message["the rating is missing or NaN"].lines == (3, 4)
    assert by_message["the rating is outside the scale 0.5–5 in steps of 0.5"].lines == (5, 6, 7)
    assert by_message["a user or movie id is missing"].lines == (8,)


def test_duplicates_keep_the_latest_by_timestamp(tmp_path):
    report = LoadReport()
    body = (
        "1,10,2.0,300\n"  # line 2: latest for (1,10)
        "1,11,3.0,100\n"
        "1,10,5.0,200\n"  # line 4: older duplicate
        "1,10,4.0,100\n"
    )  # line 5: oldest
    frame = ratings_from(tmp_path, body, report)
    assert frame.sort_values("movie_id")["rating"].tolist() == [2.0, 3.0]
    (note,) = report.notes
    assert note.count == 2 and sorted(note.lines) == [4, 5]
    assert "kept the latest" in note.message


def test_line_numbers_stay_right_after_skipped_rows(tmp_path):
    report = LoadReport()
    body = "1,10,4.0,100\nbroken\n1,11,9.0,101\n"
    ratings_from(tmp_path, body, report)
    scale_note = next(n for n in report.notes if "scale" in n.message)
    assert scale_note.lines == (4,)


def test_all_ratings_bad_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match="no valid ratings"):
        ratings_from(tmp_path, "1,10,9.0,100\n1,11,-1,100\n")


def test_large_file_reads_with_threads(tmp_path):
    n = 300_000
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(n // 100), 100)
    movies = np.tile(np.arange(100), n // 100)
    ratings = rng.integers(1, 11, n) / 2
    lines = "\n".join(
        f"{u},{m},{r:.1f},{i}"
        for i, (u, m, r) in enumerate(zip(users, movies, ratings, strict=True))
    )
    frame = ratings_from(tmp_path, lines + "\n")
    assert len(frame) == n
    assert frame["rating"].dtype == np.float32 and frame["user_id"].dtype == np.int32
