"""`movierec onboard`: get to know a newcomer — groups of films to pick, then films to rate.

At a terminal it is a loop for a person: pick groups of films you like (optional), then rate
each film shown (1–5), ``s`` for "haven't seen it", ``q`` to stop; your picks follow. With
``--json`` (or without a terminal) it answers once, for scripts: the next films for ``--user``
given the films ``--skipped`` so far, the groups (``--groups``), or stores chosen groups
(``--choose``). Which films come next is the engine's (:mod:`movierec.engine.onboarding`).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import (
    DatasetOption,
    DbOption,
    HomeOption,
    JsonOption,
    emit_json,
    home_of,
    out,
)
from movierec.engine.core import Engine

STRATEGY_HELP = (
    "adaptive (default: follows your answers), coverage (spread over tastes), "
    "pop-entropy (well known and divisive) or chart (best loved)."
)


def register(app: typer.Typer) -> None:
    app.command("onboard")(onboard)


def _ids(text: str | None, option: str) -> list[int]:
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected ids separated by commas, got {text!r}", param_hint=option
        ) from None


def onboard(
    user: Annotated[
        int | None,
        typer.Option("--user", "-u", help="Whose ratings count as answers (default: a new user)."),
    ] = None,
    strategy: Annotated[str | None, typer.Option(help=STRATEGY_HELP)] = None,
    n: Annotated[int, typer.Option("-n", help="How many films to list (scripts).")] = 10,
    skipped: Annotated[
        str | None, typer.Option(help="Films answered 'haven't seen it', comma-separated ids.")
    ] = None,
    groups: Annotated[bool, typer.Option("--groups", help="Start with the film groups.")] = False,
    choose: Annotated[
        str | None,
        typer.Option(help="Store these groups' films as liked for --user (ids from --groups)."),
    ] = None,
    ratings: Annotated[int, typer.Option(help="Stop the loop after this many ratings.")] = 10,
    interactive: Annotated[
        bool | None,
        typer.Option(
            "--interactive/--no-interactive", help="Ask at the terminal (default: when one)."
        ),
    ] = None,
    db: DbOption = None,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Films to ask a newcomer about, chosen from their answers so far; a loop at a terminal."""
    engine = Engine.open(home_of(home), dataset, db=db)
    if interactive is None:
        interactive = sys.stdin.isatty() and not as_json
    if choose is not None:
        if user is None:
            raise typer.BadParameter("--choose needs --user", param_hint="--choose")
        result = engine.choose_groups(user, _ids(choose, "--choose"))
        if as_json:
            emit_json(result.__dict__)
        else:
            out.print(f"stored {result.stored} films as liked for user {user}")
        return
    if not interactive:
        if groups:
            if as_json:
                emit_json({"groups": engine.film_groups()})
            else:
                _print_groups(engine.film_groups())
            return
        answer = engine.next_films(user, n, strategy=strategy, skipped=_ids(skipped, "--skipped"))
        if as_json:
            emit_json(answer.to_json())
            return
        table = Table(
            "id", "title", "year", "genres", title=f"films to ask about · {answer.strategy}"
        )
        for movie in answer.movies:
            table.add_row(
                str(movie.movie_id),
                escape(movie.title),
                str(movie.year or ""),
                escape(", ".join(movie.genres)),
            )
        out.print(table)
        return
    _loop(engine, user, strategy, _ids(skipped, "--skipped"), groups, ratings)


def _print_groups(groups: list[dict[str, Any]]) -> None:
    for group in groups:
        titles = "; ".join(m["title"] for m in group["movies"])
        out.print(f"[bold]{group['group_id']}[/] {escape(group['name'])}: {escape(titles)}")


def _loop(
    engine: Engine,
    user: int | None,
    strategy: str | None,
    skipped: list[int],
    groups: bool,
    wanted: int,
) -> None:
    if user is None:
        user = engine.create_user([]).user_id
        out.print(f"you are user [bold]{user}[/] (use --user {user} to come back)")
    if groups:
        _print_groups(engine.film_groups())
        picked = typer.prompt(
            "groups you like (e.g. 1,4; Enter for none)", default="", show_default=False
        )
        if picked.strip():
            stored = engine.choose_groups(user, _ids(picked, "groups")).stored
            out.print(f"stored {stored} films as liked (4★; rate them again to change)")
    rated = 0
    while rated < wanted:
        films = engine.next_films(user, 1, strategy=strategy, skipped=skipped).movies
        if not films:
            out.print("no more films to ask about")
            break
        film = films[0]
        label = f"{film.title} ({film.year or '?'}) · {', '.join(film.genres)}"
        answer = typer.prompt(f"{label} — 1-5, s = haven't seen it, q = done").strip().lower()
        if answer == "q":
            break
        if answer == "s":
            skipped.append(film.movie_id)
            continue
        try:
            engine.add_ratings(user, [(film.movie_id, float(answer))])
        except ValueError as exc:  # an off-scale or non-numeric answer: ask again
            out.print(f"[red]{escape(str(exc))}[/]")
            continue
        rated += 1
    picks = engine.recommend(user, k=10)
    table = Table("#", "title", "year", "why", title=f"your picks · {picks.model}")
    reasons = picks.reasons or [""] * len(picks.movies)
    for rank, (row, why) in enumerate(zip(picks.movies, reasons, strict=False), 1):
        table.add_row(str(rank), escape(row.title), str(row.year or ""), escape(why))
    out.print(table)
