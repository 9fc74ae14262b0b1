"""The `movierec` command line: thin, no logic of its own (Typer + rich)."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape

from movierec import __version__
from movierec.cli import browse, evaluate, onboard, personal, serve
from movierec.cli import data as data_commands
from movierec.cli import models as model_commands
from movierec.cli import plot as plot_commands
from movierec.cli.common import emit_json, err
from movierec.errors import AmbiguousTitleError, MovieRecError

app = typer.Typer(
    name="movierec",
    help="Movie recommendations: datasets, charts, content-based and collaborative models, "
    "an HTTP service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(model_commands.app, name="models")
app.add_typer(plot_commands.app, name="plot")
browse.register(app)
personal.register(app)
onboard.register(app)
evaluate.register(app)
serve.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"movierec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """movierec: every classic recommender family, done right, on real movie data."""


def main() -> None:
    """Entry point: user errors print one line on stderr and exit 1, never a traceback."""
    try:
        app()
    except (MovieRecError, ValueError) as exc:
        if os.environ.get("MOVIEREC_DEBUG"):
            raise
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        if "--json" in sys.argv[1:]:
            document: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
            if isinstance(exc, AmbiguousTitleError):
                document["candidates"] = exc.candidates
            emit_json(document)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
