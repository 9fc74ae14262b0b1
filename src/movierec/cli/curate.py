"""`movierec data curate`: cut a stored dataset down as a fan would, and say what each step cut.

The filters and the sample are :func:`movierec.data.curate.curate`'s; this command checks the
names, loads, stores the result and prints the report.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import HomeOption, JsonOption, QuietOption, emit_json, home_of, out, status
from movierec.data.storage import check_name, list_datasets, load_dataset, save_dataset
from movierec.errors import MovieRecError


def curate_command(
    name: Annotated[str, typer.Argument(help="A stored dataset.")],
    new_name: Annotated[str, typer.Option("--name", help="Store the curated set under this name.")],
    min_movie_ratings: Annotated[
        int, typer.Option(help="Keep movies with at least this many ratings (0: any).")
    ] = 0,
    min_mean: Annotated[
        float | None, typer.Option(help="…and a mean rating of at least this (default: any).")
    ] = None,
    min_user_ratings: Annotated[
        int, typer.Option(help="Then keep users with at least this many of those ratings.")
    ] = 0,
    sample: Annotated[
        float, typer.Option(help="Then keep this fraction of the ratings, in (0, 1].")
    ] = 1.0,
    stratify: Annotated[
        str,
        typer.Option(help="rating (each value keeps its share), user (each user does) or none."),
    ] = "none",
    seed: Annotated[int, typer.Option(help="Random seed of the sample.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Replace NEW (or NAME itself) if already stored.")
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Keep popular, well-liked movies, then active users, then a sample; one pass, in that order.

    Movie counts and means are taken on NAME's ratings, user counts on what the movie filter
    kept; the catalog keeps only movies that still have ratings. Prints what each step removed.
    """
    from movierec.data.curate import CurateConfig, curate

    config = CurateConfig(
        min_movie_ratings=min_movie_ratings,
        min_mean=min_mean,
        min_user_ratings=min_user_ratings,
        sample=sample,
        stratify=stratify,
        seed=seed,
    )
    where = home_of(home)
    check_name(new_name)
    if not force and new_name == name:
        raise MovieRecError(
            f"--name {new_name} is the dataset being curated; choose another name, "
            "or pass --force to replace it"
        )
    if not force and new_name in list_datasets(where):
        raise MovieRecError(
            f"dataset {new_name!r} is already stored in {where.datasets}; choose another "
            "--name, or pass --force to replace it"
        )
    with status(f"loading {escape(name)}", enabled=not quiet):
        source = load_dataset(where, name)
    started = time.perf_counter()
    with status("curating", enabled=not quiet):
        curated, report = curate(source, config, name=new_name)
    seconds = time.perf_counter() - started
    with status(f"storing {escape(new_name)}", enabled=not quiet):
        folder = save_dataset(curated, where)
    if as_json:
        emit_json(
            {
                "dataset": new_name,
                "stored_at": str(folder),
                "curate_seconds": round(seconds, 3),
                **report.to_json(),
            }
        )
        return
    out.print(_curation_table(report.to_json()))
    out.print(
        f"stored [bold]{escape(new_name)}[/] in {escape(str(folder))} (curated in {seconds:.2f} s)"
    )


def _curation_table(report: dict[str, Any]) -> Table:
    table = Table(
        "step", "keeps", "ratings", "users", "movies", title=f"curating {report['source']}"
    )

    def change(step: dict[str, Any], what: str) -> str:
        before, after = step["before"][what], step["after"][what]
        return f"{before:,} → {after:,} (−{before - after:,})"

    for step in report["steps"]:
        table.add_row(
            step["step"],
            escape(step["criterion"]),
            change(step, "ratings"),
            change(step, "users"),
            change(step, "movies"),
        )
    catalog = report["catalog"]
    table.add_row(
        "catalog", "movies with ratings", "", "", f"{catalog['before']:,} → {catalog['after']:,}"
    )
    if report["users_table"] is not None:
        people = report["users_table"]
        table.add_row(
            "demographics", "users with ratings", "", f"{people['before']:,} → {people['after']:,}"
        )
    if report["movies_below_min_after_users"]:
        table.caption = (
            f"one pass: {report['movies_below_min_after_users']:,} kept movies fell below "
            "--min-movie-ratings once the user filter ran"
        )
    return table
