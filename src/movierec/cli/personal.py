"""`movierec train`, `recommend`, `recommend-all`: fit a model, one user's picks, everyone's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import (
    DatasetOption,
    DbOption,
    HomeOption,
    JsonOption,
    QuietOption,
    emit_json,
    err,
    home_of,
    out,
    progress,
    status,
)
from movierec.engine.core import DEFAULT_MODEL, Engine, write_all
from movierec.errors import InvalidValueError

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="local (this machine) or spark (train: pyspark.ml ALS, exported as our als; "
        "recommend-all: Spark's workers score). Needs the `spark` extra and Java 17.",
    ),
]
MasterOption = Annotated[
    str, typer.Option(help="Spark master for --engine spark: local[2], spark://host:7077.")
]


def spark_master(engine_name: str, master: str) -> str | None:
    """The Spark master to use, or None for this machine; an unknown engine names the field."""
    if engine_name not in ("local", "spark"):
        raise InvalidValueError("engine", engine_name, "local or spark")
    return master if engine_name == "spark" else None


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("recommend")(recommend)
    app.command("recommend-all")(recommend_all)
    app.command("rate")(rate)


def train(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="mf, mf-bounded, mf-tuned, svdpp, svdpp-tuned, bmf, bsvdpp, rating-blend, "
            "als, knn, ease, ease-lowrank, ials, sar, multvae, twotower, hybrid, hybrid-watch, "
            "chart, content, content-soup, content-tfidf or content-kg.",
        ),
    ] = DEFAULT_MODEL,
    default: Annotated[bool, typer.Option(help="Make it the model `recommend` uses.")] = True,
    dataset: DatasetOption = "ml-100k",
    engine_name: EngineOption = "local",
    master: MasterOption = "local[2]",
    device: Annotated[
        str | None,
        typer.Option(
            help="Where PyTorch trains twotower or multvae: cpu (their default), cuda or "
            "cuda:N. The trained model serves in numpy, on any machine."
        ),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fit a model on the whole dataset and store it in the home folder."""
    spark = spark_master(engine_name, master)
    engine = Engine.open(home_of(home), dataset)
    with status(f"fitting {escape(model)} on {escape(dataset)}", enabled=not quiet):
        fitted, seconds = engine.train(model, make_default=default, spark=spark, device=device)
    summary = {
        "dataset": dataset,
        "model": model,
        "fit_seconds": round(seconds, 3),
        "users": len(fitted.users),
        "movies": len(fitted.movies),
        "config": fitted.config.to_json(),
        "default": default,
    }
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"trained [bold]{escape(model)}[/] on {escape(dataset)} in {seconds:.2f} s "
        f"({len(fitted.users):,} users, {len(fitted.movies):,} movies)"
        + (" — now the default for `movierec recommend`" if default else "")
    )


def recommend_all(
    target: Annotated[
        Path, typer.Option("--out", "-o", help="The Parquet file (or, with Spark, folder).")
    ],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="A trained model (default: the default).")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Movies per user.")] = 10,
    dataset: DatasetOption = "ml-100k",
    engine_name: EngineOption = "local",
    master: MasterOption = "local[2]",
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Every user's top-k unseen movies to Parquet: user_id, rank, movie_id, score.

    The lists `movierec recommend` gives, without reasons. With --engine spark the model is
    shipped to Spark's workers, which score their share of the users; on a cluster they need
    movierec installed (its wheel, e.g. spark-submit --py-files).
    """
    spark = spark_master(engine_name, master)
    engine = Engine.open(home_of(home), dataset)
    name = model or engine.default_model()
    fitted = engine.model(name)
    started = time.perf_counter()
    with progress(f"top-{k} of every user ({escape(name)})", enabled=not quiet) as update:
        rows = write_all(fitted, k, target, spark=spark, progress=update)
    seconds = time.perf_counter() - started
    if as_json:
        emit_json(
            {"model": name, "users": len(fitted.users), "rows": rows, "out": str(target)}
            | {"seconds": round(seconds, 3)}
        )
        return
    out.print(
        f"wrote {rows:,} rows for {len(fitted.users):,} users ({escape(name)}) to "
        f"{escape(str(target))} in {seconds:.1f} s"
    )


def recommend(
    user: Annotated[
        int | None, typer.Option("--user", "-u", help="A user id of the dataset.")
    ] = None,
    likes: Annotated[
        str | None,
        typer.Option(
            "--likes",
            help="Instead of --user: genres a newcomer likes, comma-separated (two-tower model).",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many movies.")] = 10,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Which model ranks the picks (e.g. ease, als, mf, knn, chart, "
            f"hybrid). Default: the last one trained, else {DEFAULT_MODEL}. A user known only from "
            "`movierec rate` is folded into the model asked for on first use.",
        ),
    ] = None,
    genre: Annotated[
        str | None, typer.Option("--genre", "-g", help="Genre(s), comma-separated.")
    ] = None,
    years: Annotated[str | None, typer.Option("--years", "-y", help="1950-1959, 1950s…")] = None,
    min_rating: Annotated[float | None, typer.Option(help="Only well-rated movies.")] = None,
    db: DbOption = None,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """A user's top picks among movies they have not rated, each with a reason; or, with
    --likes Comedy,Animation, picks for someone who has rated nothing yet.

    The score is the model's own (hybrid: its parts' standardised scores,
    blended). Hybrid lists are re-ranked toward the genres the person rates
    highly, so their order is not always the score's."""
    if (user is None) == (likes is None):
        raise ValueError(
            "give exactly one of --user (a user id) and --likes (genres, e.g. "
            "--likes Comedy,Animation)"
        )
    engine = Engine.open(home_of(home), dataset, db=db)
    if likes is not None:
        answer = engine.recommend_for_genres(
            likes, k=k, genres=genre, years=years, min_rating=min_rating
        )
    else:
        assert user is not None  # exactly one of the two, checked above
        answer = engine.recommend(
            user, model=model, k=k, genres=genre, years=years, min_rating=min_rating
        )
    if as_json:
        emit_json(answer.to_json())
        return
    who = (
        f"user {answer.user_id}" if answer.user_id is not None else f"a newcomer who likes {likes}"
    )
    table = Table(
        "#", "title", "year", "score", "why", title=f"for {escape(who)} · {escape(answer.model)}"
    )
    reasons = answer.reasons or [""] * len(answer.movies)
    for rank, (row, why) in enumerate(zip(answer.movies, reasons, strict=False), 1):
        table.add_row(
            str(rank), escape(row.title), str(row.year or ""), f"{row.score:.2f}", escape(why)
        )
    out.print(table)
    if len(answer.movies) < k:  # a table shorter than asked for says why
        filtered = genre is not None or years is not None or min_rating is not None
        if filtered:
            left = "pass the filters"
        elif answer.user_id is None:
            left = "are in the catalog"
        else:
            left = f"are left that {who} has not rated"
        err.print(f"note: only {len(answer.movies)} movies {left}")


def rate(
    user: Annotated[
        int, typer.Option("--user", "-u", help="The user's id (a new id makes a new user).")
    ],
    movie: Annotated[str, typer.Argument(help="A title (fuzzy) or a movie id.")],
    rating: Annotated[
        float, typer.Argument(help="On the dataset's scale (e.g. 1-5, or 0.5-5 in half stars).")
    ],
    db: DbOption = None,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a rating durably and fold it into the model at once.

    A full retrain runs (here, in the foreground) when enough new ratings have arrived.
    """
    engine = Engine.open(home_of(home), dataset, db=db)
    result = engine.rate(user, movie, rating, background=False)
    if as_json:
        emit_json(result.to_json())
        return
    title = engine.movie(result.movie_id).title
    out.print(
        f"stored #{result.seq}: user {result.user_id} rated {escape(title)} "
        f"{result.rating:g}★"
        + (f"; folded in ({result.fold_in_ms:.2f} ms)" if result.folded_in else "")
        + ("; retrained" if result.retrain else "")
    )
    for note in result.notes:
        out.print(f"note: {escape(note)}")
