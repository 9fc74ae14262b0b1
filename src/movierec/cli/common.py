"""What every command shares: the home, dataset and store options, JSON output, progress,
errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from movierec.home import Home

# Results go to stdout; progress, notes and errors to stderr, so `--json` output stays clean.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Home folder (default: $MOVIEREC_HOME or ~/.local/share/movierec).",
        envvar="MOVIEREC_HOME",
        show_envvar=False,
    ),
]
DatasetOption = Annotated[
    str, typer.Option("--dataset", "-d", help="Name of a stored dataset (see `data list`).")
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ratings store: a file path or postgresql:// URL "
        "(default: ratings.db in the home folder).",
        envvar="MOVIEREC_DB",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes.")]


def home_of(path: str | None) -> Home:
    return Home.resolve(path)


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@contextmanager
def progress(description: str, *, enabled: bool = True) -> Iterator[Callable[[float], None]]:
    """A progress bar on stderr; yields ``update(fraction)``. Off when not a terminal or quiet."""
    if not enabled or os.environ.get("MOVIEREC_NO_PROGRESS"):
        yield lambda fraction: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=1.0)
        yield lambda fraction: bar.update(task, completed=min(max(fraction, 0.0), 1.0))


@contextmanager
def status(message: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner on stderr for work whose length is unknown."""
    if not enabled:
        yield
        return
    with err.status(message):
        yield


def show_notes(notes: Any, *, quiet: bool = False) -> None:
    """Print a load's notes (skipped rows, missing files) on stderr."""
    if quiet:
        return
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(str(note))}", highlight=False)
