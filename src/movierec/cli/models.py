"""`movierec models list|rollback`: the stored versions of each model, and going back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import DatasetOption, HomeOption, JsonOption, emit_json, home_of, out
from movierec.engine.core import Engine

app = typer.Typer(help="Stored model versions: list them, roll back.", no_args_is_help=True)


@app.command("list")
def list_command(
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="One model (default: every model of the dataset)."),
    ] = None,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Versions of each model, newest last, with their metrics; * marks the one served."""
    stored = Engine.stored_versions(home_of(home), dataset, model)
    listed = {name: [v.to_json() for v in versions] for name, versions in stored.items()}
    if as_json:
        emit_json({"dataset": dataset, "models": listed})
        return
    if not any(listed.values()):
        out.print(f"no stored models for {escape(dataset)}; try `movierec train`")
        return
    table = Table(
        "model", "version", "", "created", "trained from", "ratings", "fit s", "validation"
    )
    for name, versions in listed.items():
        for v in versions:
            metrics = v["metrics"]
            table.add_row(
                escape(name),
                f"v{v['version']:04d}",
                "*" if v["current"] else "",
                v["created_at"],
                str(metrics.get("trained_from", "")),
                f"{metrics.get('ratings', 0):,}",
                str(metrics.get("fit_seconds", "")),
                escape(str(metrics.get("validation", ""))),
            )
    out.print(table)


@app.command("rollback")
def rollback_command(
    model: Annotated[str, typer.Option("--model", "-m", help="The model to roll back.")],
    to: Annotated[
        int | None, typer.Option(help="Version number (default: the one before the current).")
    ] = None,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve an earlier version of a model (the newer ones stay on disk)."""
    number = Engine.rollback(home_of(home), dataset, model, to)
    if as_json:
        emit_json({"dataset": dataset, "model": model, "current": number})
        return
    out.print(f"{escape(model)} on {escape(dataset)} now serves v{number:04d}")
