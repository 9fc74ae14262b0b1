"""TMDb 10k (Udacity's `tmdb-movies.csv`, 10,866 movies): one flat file keyed by TMDB id.

Cast, director, keywords and genres are ``|``-separated; there are no user ratings, only
TMDB's vote count and average. The file repeats one movie (id 42194); the repeat is dropped and
reported. Its text was UTF-8 decoded as Windows-1252 and encoded again somewhere on its way
(``GonzÃ¡lez`` for ``González``, ``â€™`` for ``’``); those runs are decoded back, since names
that differ from every other source's spelling would never match in content features.
"""

from __future__ import annotations

import re

import pandas as pd

from movierec.data.dataset import Dataset, LoadReport, empty_ratings
from movierec.data.files import FileSet
from movierec.data.readers import note_skipped, require_columns
from movierec.data.sources.common import (
    TOP_CAST,
    drop_duplicate_ids,
    imdb_numbers,
    integer_ids,
    read_text,
    split_list,
)

FORMAT = "tmdb-10k"
DESCRIPTION = "tmdb-movies.csv (TMDb 10k movies, Udacity)"
MOVIES = "tmdb-movies.csv"
TEXT = ("original_title", "cast", "director", "keywords", "genres", "overview")


def _mojibake_pattern() -> tuple[re.Pattern[str], dict[str, int]]:
    """A regex for UTF-8 sequences shown as Windows-1252 characters, and char → byte."""
    byte_of = {}
    for byte in range(0x80, 0x100):
        try:
            byte_of[bytes([byte]).decode("cp1252")] = byte
        except UnicodeDecodeError:
            byte_of[chr(byte)] = byte  # bytes cp1252 leaves undefined pass through as Latin-1
    tail = "".join(re.escape(c) for c, b in byte_of.items() if b < 0xC0)
    one = f"[\\xc2-\\xdf][{tail}]|[\\xe0-\\xef][{tail}]{{2}}|[\\xf0-\\xf4][{tail}]{{3}}"
    return re.compile(f"(?:{one})+"), byte_of


_MOJIBAKE, _BYTE_OF = _mojibake_pattern()


def matches(files: FileSet) -> bool:
    return MOVIES in files


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    table = read_text(files.require(MOVIES))
    require_columns(table, ["id", "original_title"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    ids, keep = integer_ids(frame["id"], table, report, "id")
    frame = frame[keep].reset_index(drop=True)
    _repair_text(frame, report, table.file)
    catalog = pd.DataFrame(
        {"movie_id": ids, "tmdb_id": ids, "title": frame["original_title"].str.strip()}
    )
    if "imdb_id" in frame:
        catalog["imdb_id"] = imdb_numbers(frame["imdb_id"])
    if "release_year" in frame:
        catalog["year"] = pd.to_numeric(frame["release_year"], errors="coerce")
    for column in ("genres", "keywords", "director"):
        if column in frame:
            catalog[column] = frame[column].map(split_list)
    if "cast" in frame:
        catalog["cast"] = frame["cast"].map(lambda cell: split_list(cell)[:TOP_CAST])
    if "overview" in frame:
        catalog["overview"] = frame["overview"].str.strip()
    for column in ("vote_count", "vote_average"):
        if column in frame:
            catalog[column] = pd.to_numeric(frame[column], errors="coerce")
    catalog = drop_duplicate_ids(catalog, "movie_id", report, "movie", file=table.file)
    return Dataset(name, catalog, empty_ratings(), None, None, FORMAT, report)


def _repair_text(frame: pd.DataFrame, report: LoadReport, file: str) -> None:
    """Decode doubly-encoded UTF-8 back in the text columns, counting the cells repaired."""
    repaired = 0
    for column in TEXT:
        if column in frame:
            before = frame[column].fillna("").astype(object)
            after = before.str.replace(_MOJIBAKE, _undo, regex=True)
            # ” is E2 80 9D; 0x9D has no Windows-1252 character, so its byte was lost.
            after = after.str.replace("â€", "”", regex=False)
            repaired += int((after != before).sum())
            frame[column] = after
    if repaired:
        report.add(
            f"repaired {repaired} cell(s) of doubly-encoded UTF-8 (such as 'Ã©' for 'é')",
            file=file,
            count=repaired,
        )


def _undo(match: re.Match[str]) -> str:
    run = match.group()
    try:
        return bytes(_BYTE_OF[c] for c in run).decode("utf-8")
    except UnicodeDecodeError:
        return run
