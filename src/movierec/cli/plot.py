"""`movierec plot embeddings`: pictures of what a model learned, written as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from movierec.cli.common import (
    DatasetOption,
    HomeOption,
    JsonOption,
    QuietOption,
    emit_json,
    err,
    home_of,
    out,
    status,
)
from movierec.engine.core import Engine
from movierec.plots import embedding_map as maps

# help text is rich markup: the extra's brackets are escaped
app = typer.Typer(
    help="Pictures of what a model learned, as PNG files (needs matplotlib: "
    "pip install movierec\\[plot]).",
    no_args_is_help=True,
)


@app.command("embeddings")
def embeddings(
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            dir_okay=False,
            help="Where to write the PNG (default: embeddings-MODEL.png here).",
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="A model with movie vectors: mf, mf-bounded, mf-tuned, als, ials…"
        ),
    ] = "mf",
    n: Annotated[
        int,
        typer.Option(
            "-n",
            "--n",
            help=f"How many of the most-rated movies ({maps.MIN_MOVIES}-{maps.MAX_MOVIES}).",
        ),
    ] = maps.DEFAULT_MOVIES,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """A labelled 2-D map of a model's movie vectors (item factors, tower outputs).

    The N movies with the most ratings are placed on the first two principal components of
    their vectors, coloured by primary genre; the plot and the output say how much of the
    vectors' variance the two axes explain. The model is the stored current version for the
    dataset (`movierec train`), or is fitted now and stored for next time.
    """
    maps.check_n(n)
    maps.require_movie_vectors(model)  # before any fitting
    if not maps.available():
        raise maps.PlotDependencyError("drawing plots needs matplotlib: pip install movierec[plot]")
    engine = Engine.open(home_of(home), dataset)
    if not quiet and not engine.has_stored_model(model):
        err.print(
            f"fitting {escape(model)} on {escape(dataset)} (no stored version yet; it is "
            "stored for next time)",
            highlight=False,
        )
    with status(f"loading {escape(model)} for {escape(dataset)}", enabled=not quiet):
        engine.model(model)  # loaded, or fitted and stored, under its own spinner
    target = (out_path or Path(f"embeddings-{model}.png")).resolve()
    with status(f"drawing {n} movies", enabled=not quiet):
        drawn = engine.embedding_map(model, n, path=target)
    first, second = drawn.explained
    if as_json:
        emit_json(
            {"path": str(target), "dataset": dataset, "bytes": len(drawn.png), **drawn.to_json()}
        )
        return
    out.print(
        f"wrote {escape(str(target))}: {escape(model)}, the {drawn.n} most-rated movies "
        f"of {escape(dataset)}; the two axes explain {first + second:.1%} of the "
        f"variance (PC1 {first:.1%}, PC2 {second:.1%})",
        highlight=False,
    )
