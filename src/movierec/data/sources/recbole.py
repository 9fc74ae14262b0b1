"""MovieLens 100k in RecBole's atomic-file layout, as shipped inside the `recbole==1.2.1` wheel.

`ml-100k.inter/.item/.user` are tab-separated with `name:type` headers. The add-on
`ml-100k.link` maps movies to Freebase entities and `ml-100k.kg` holds (head, relation, tail)
triples about them; each movie gets tokens such as ``actor:m.0c3wmn`` or ``directed_by:m.02l5rm``
in the catalog's ``kg_tokens`` column, so content similarity can use who made the film.

The ids in RecBole's `ml-100k.link` are **MovieLens-1M** item ids (KB4Rec linked ML-1M;
RUCAIBox/RecSysDatasets#130): read as ml-100k ids, Grease's sequel would be "Hollow Reed →
Losing Chase". So the tokens are re-linked through titles and years, which needs ML-1M's
`movies.dat` among the files (``movierec data import ml-100k-folder ml-1m/movies.dat``).
Without it the tokens are left out, with a note, rather than attached to the wrong films.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.dataset import FIVE_STARS, Dataset, LoadReport, empty_ratings
from movierec.data.files import FileRef, FileSet
from movierec.data.ratings import clean_ratings
from movierec.data.readers import Table, note_skipped, read_table, require_columns
from movierec.data.sources.common import add_unlisted_movies
from movierec.data.title_match import BY_NAME, match_by_title
from movierec.data.titles import move_article

FORMAT = "ml-100k-recbole"
DESCRIPTION = "ml-100k.inter, .item, .user, .link, .kg (RecBole atomic files)"
# Relations whose head is the film; the token keeps the last part ("film.film.actor" → actor).
_FILM_RELATION = "film.film."


def matches(files: FileSet) -> bool:
    return files.first("*.inter", "*.item") is not None


def load(files: FileSet, name: str) -> Dataset:
    report = LoadReport()
    catalog = pd.DataFrame({"movie_id": np.empty(0, np.int64)})
    item = files.first("*.item")
    if item is None:
        report.add("no .item file: movies have no titles or genres", file=str(files.root))
    else:
        catalog = _catalog(item, report)
    inter = files.first("*.inter")
    ratings = empty_ratings()
    if inter is None:
        report.add("no .inter file: no ratings", file=str(files.root))
    else:
        table = _read_atomic(
            inter,
            {
                "user_id": pa.int32(),
                "item_id": pa.int32(),
                "rating": pa.float32(),
                "timestamp": pa.float64(),
            },
        )
        ratings = clean_ratings(
            table,
            FIVE_STARS,
            report,
            columns={
                "user_id": "user_id",
                "movie_id": "item_id",
                "rating": "rating",
                "timestamp": "timestamp",
            },
        )
        catalog = add_unlisted_movies(catalog, ratings, report, file=table.file)
    users = None
    user_file = files.first("*.user")
    if user_file is not None:
        table = _read_atomic(
            user_file,
            {
                "user_id": pa.int32(),
                "age": pa.int16(),
                "gender": pa.string(),
                "occupation": pa.string(),
                "zip_code": pa.string(),
            },
        )
        note_skipped(table, report)
        users = table.data.to_pandas().rename(columns={"zip_code": "zip"})
    link, kg, ml1m = files.first("*.link"), files.first("*.kg"), files.get("movies.dat")
    if link is None or kg is None or not len(catalog):
        if item is not None:
            report.add("no .link/.kg files: no knowledge-graph tokens", file=str(files.root))
    elif ml1m is None:
        report.add(
            "knowledge graph left out: ml-100k.link holds MovieLens-1M ids, and "
            "re-linking them needs ML-1M's movies.dat (import it alongside: "
            "movierec data import FOLDER path/to/ml-1m/movies.dat)",
            file=link.display,
        )
    else:
        to_100k = _ml1m_to_ml100k(ml1m, catalog, report)
        catalog["kg_tokens"] = _kg_tokens(catalog["movie_id"].to_numpy(), link, kg, to_100k, report)
    return Dataset(name, catalog, ratings, users, FIVE_STARS, FORMAT, report)


def _read_atomic(ref: FileRef, types: dict[str, pa.DataType]) -> Table:
    """Read an atomic file, dropping the `:type` suffix from its header names."""
    with ref.open() as handle:
        head = handle.readline().decode("utf8").rstrip("\r\n").split("\t")
    names = [column.split(":")[0] for column in head]
    table = read_table(
        ref,
        delimiter="\t",
        quoting=False,
        names=names,
        types={name: kind for name, kind in types.items() if name in names},
    )
    require_columns(table, list(types)[:2], delimiter="\t")
    return table


def _catalog(ref: FileRef, report: LoadReport) -> pd.DataFrame:
    table = _read_atomic(
        ref,
        {
            "item_id": pa.int32(),
            "movie_title": pa.string(),
            "release_year": pa.string(),
            "class": pa.string(),
        },
    )
    note_skipped(table, report)
    frame = table.data.to_pandas()
    return pd.DataFrame(
        {
            "movie_id": frame["item_id"],
            "title": frame["movie_title"].map(move_article),
            "year": pd.to_numeric(frame.get("release_year"), errors="coerce"),
            "genres": frame["class"].map(
                lambda cell: [g for g in str(cell).split() if g != "unknown"]
            )
            if "class" in frame
            else [[] for _ in range(len(frame))],
        }
    )


def _ml1m_to_ml100k(
    movies_dat: FileRef, catalog: pd.DataFrame, report: LoadReport
) -> dict[int, int]:
    """ML-1M movie id → ml-100k movie id, by title and year (:func:`match_by_title`).

    The two releases spell some films apart: "Star Wars: Episode IV - A New Hope" is ml-100k's
    "Star Wars", "The Boat (Das Boot)" its "Das Boot", "Alien³" its "Alien 3"; they disagree on
    Conan the Barbarian's year.
    """
    from movierec.data.sources.movielens_1m import read_movies

    ml1m = read_movies(movies_dat, report)
    rows, how = match_by_title(ml1m, catalog)
    ml100k_ids = catalog["movie_id"].to_numpy()
    hit = rows >= 0
    mapping = dict(
        zip(
            ml1m["movie_id"].to_numpy()[hit].tolist(),
            ml100k_ids[rows[hit]].tolist(),
            strict=True,
        )
    )
    report.add(
        f"knowledge graph re-linked from MovieLens-1M ids: {len(mapping)} ML-1M movies "
        f"matched by title and year ({int((how == BY_NAME).sum())} by another name or a year "
        "apart)",
        file=movies_dat.display,
        count=len(mapping),
    )
    return mapping


def _kg_tokens(
    movie_ids: np.ndarray, link: FileRef, kg: FileRef, to_100k: dict[int, int], report: LoadReport
) -> list[list[str]]:
    """Per movie, sorted ``relation:entity`` tokens of the triples whose head is that film."""
    links = _read_atomic(link, {"item_id": pa.int32(), "entity_id": pa.string()}).data.to_pandas()
    links["item_id"] = links["item_id"].map(to_100k)
    links = links.dropna(subset=["item_id"])
    triples = _read_atomic(
        kg, {"head_id": pa.string(), "relation_id": pa.string(), "tail_id": pa.string()}
    ).data.to_pandas()
    film_of = dict(zip(links["entity_id"], links["item_id"], strict=True))
    about_film = triples["relation_id"].str.startswith(_FILM_RELATION)
    triples = triples[about_film & triples["head_id"].isin(film_of.keys())]
    tokens = triples["relation_id"].str.slice(len(_FILM_RELATION)) + ":" + triples["tail_id"]
    per_movie = pd.Series(tokens.to_numpy(), index=triples["head_id"].map(film_of).to_numpy())
    grouped = per_movie.groupby(level=0).agg(lambda t: sorted(set(t)))
    covered = int(np.isin(movie_ids, grouped.index.to_numpy()).sum())
    report.add(
        f"knowledge graph: {covered} of {len(movie_ids)} movies have tokens "
        f"({len(tokens)} film triples)",
        file=kg.display,
        count=covered,
    )
    lookup = grouped.to_dict()
    return [lookup.get(int(m), []) for m in movie_ids]
