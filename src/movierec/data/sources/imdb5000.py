"""Kaggle's IMDB 5000 (`movie_metadata.csv`, scraped from IMDb in 2016), keyed by IMDb id.

The id is the number of the ``tt`` id in ``movie_imdb_link``, so it joins MovieLens links
(``imdbId``) directly. The file has quirks the loader undoes: every title ends in a no-break
space, 124 rows repeat a movie (dropped and reported), and languages are English names where
TMDB uses ISO 639-1 codes (mapped, so a language filter works across sources).
"""

from __future__ import annotations

import pandas as pd

from movierec.data.dataset import Dataset, LoadReport, empty_ratings
from movierec.data.files import FileSet
from movierec.data.readers import note_skipped, require_columns
from movierec.data.sources.common import drop_duplicate_ids, imdb_numbers, read_text, split_list

FORMAT = "imdb-5000"
DESCRIPTION = "movie_metadata.csv (Kaggle IMDB 5000 Movie Dataset)"
MOVIES = "movie_metadata.csv"
ACTORS = ("actor_1_name", "actor_2_name", "actor_3_name")
# The file's language names → the ISO 639-1 codes TMDB uses; names not listed are kept as is.
LANGUAGE_CODES = {
    "Arabic": "ar",
    "Bosnian": "bs",
    "Cantonese": "cn",
    "Chinese": "zh",
    "Czech": "cs",
    "Danish": "da",
    "Dari": "fa",
    "Dutch": "nl",
    "Dzongkha": "dz",
    "English": "en",
    "Filipino": "tl",
    "French": "fr",
    "German": "de",
    "Greek": "el",
    "Hebrew": "he",
    "Hindi": "hi",
    "Hungarian": "hu",
    "Icelandic": "is",
    "Indonesian": "id",
    "Italian": "it",
    "Japanese": "ja",
    "Kannada": "kn",
    "Kazakh": "kk",
    "Korean": "ko",
    "Mandarin": "zh",
    "Mongolian": "mn",
    "Norwegian": "no",
    "Panjabi": "pa",
    "Persian": "fa",
    "Polish": "pl",
    "Portuguese": "pt",
    "Romanian": "ro",
    "Russian": "ru",
    "Slovenian": "sl",
    "Spanish": "es",
    "Swahili": "sw",
    "Swedish": "sv",
    "Tamil": "ta",
    "Telugu": "te",
    "Thai": "th",
    "Turkish": "tr",
    "Urdu": "ur",
    "Vietnamese": "vi",
    "Zulu": "zu",
}


def matches(files: FileSet) -> bool:
    return MOVIES in files


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    table = read_text(files.require(MOVIES))
    require_columns(table, ["movie_title", "movie_imdb_link"])
    note_skipped(table, report)
    frame = table.data.to_pandas()
    imdb = imdb_numbers(
        frame["movie_imdb_link"].where(frame["movie_imdb_link"].str.contains("tt", regex=False), "")
    )
    keep = imdb.notna().to_numpy(bool)
    if not keep.all():
        bad = (~keep).nonzero()[0]
        report.add(
            f"skipped {len(bad)} row(s) without an IMDb tt id in movie_imdb_link",
            file=table.file,
            count=len(bad),
            lines=table.line_numbers(bad[:5]).tolist(),
        )
        frame, imdb = frame[keep].reset_index(drop=True), imdb[keep].reset_index(drop=True)
    catalog = pd.DataFrame(
        {
            "movie_id": imdb.astype("int64"),
            "imdb_id": imdb,
            "title": frame["movie_title"].str.strip(),
        }
    )
    if "title_year" in frame:
        catalog["year"] = pd.to_numeric(frame["title_year"], errors="coerce")
    if "genres" in frame:
        catalog["genres"] = frame["genres"].map(split_list)
    if "plot_keywords" in frame:
        catalog["keywords"] = frame["plot_keywords"].map(split_list)
    if "director_name" in frame:
        catalog["director"] = frame["director_name"].map(split_list)
    actors = [frame[column] for column in ACTORS if column in frame]
    if actors:
        rows = zip(*actors, strict=True)
        catalog["cast"] = [[actor.strip() for actor in row if actor.strip()] for row in rows]
    if "language" in frame:
        language = frame["language"].str.strip()
        catalog["language"] = language.map(LANGUAGE_CODES).fillna(language)
    if "num_voted_users" in frame:
        catalog["vote_count"] = pd.to_numeric(frame["num_voted_users"], errors="coerce")
    if "imdb_score" in frame:
        catalog["vote_average"] = pd.to_numeric(frame["imdb_score"], errors="coerce")
    catalog = drop_duplicate_ids(catalog, "movie_id", report, "movie", file=table.file)
    return Dataset(name, catalog, empty_ratings(), None, None, FORMAT, report)
