"""`movierec top`, `similar`, `search`, `find`: charts, movies like another, title search and
search by description."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from movierec.cli.common import (
    DatasetOption,
    HomeOption,
    JsonOption,
    QuietOption,
    emit_json,
    err,
    home_of,
    out,
    progress,
)
from movierec.engine.core import Engine, MovieRow

K = Annotated[int, typer.Option("-k", "--k", help="How many movies.")]
Genre = Annotated[
    str | None,
    typer.Option("--genre", "-g", help="Genre(s), comma-separated; a movie needs one of them."),
]
Years = Annotated[
    str | None, typer.Option("--years", "-y", help="1950-1959, 1950s, 1995, -1970 or 2000-.")
]
MinRating = Annotated[
    float | None,
    typer.Option(
        help="Only well-rated movies: mean rating shrunk toward the global mean by the median "
        "vote count."
    ),
]


def register(app: typer.Typer) -> None:
    app.command("top")(top)
    app.command("similar")(similar)
    app.command("search")(search)
    app.command("find")(find)


def top(
    k: K = 10,
    genre: Genre = None,
    years: Years = None,
    min_votes: Annotated[int, typer.Option(help="Only movies with at least this many votes.")] = 0,
    language: Annotated[
        str | None, typer.Option(help="Original language code, e.g. en (TMDB catalogs).")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option(help="Users by demographics, e.g. gender=F,age=25-34,occupation=engineer."),
    ] = None,
    quantile: Annotated[
        float,
        typer.Option(help="m, the votes needed to qualify, is this quantile of the vote counts."),
    ] = 0.90,
    votes: Annotated[str, typer.Option(help="auto, ratings or tmdb.")] = "auto",
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The best movies by IMDB weighted rating: v/(v+m)·R + m/(v+m)·C."""
    chart = Engine.open(home_of(home), dataset).top(
        k=k,
        genres=genre,
        years=years,
        min_votes=min_votes,
        language=language,
        segment=segment,
        quantile=quantile,
        votes=votes,
    )
    if as_json:
        emit_json(chart.to_json())
        return
    title = (
        f"top {k}"
        + (f" · {escape(segment)}" if segment else "")
        + f" · C={chart.C:.3f}, m={chart.m:g} ({chart.quantile:.0%} quantile), "
        f"votes from {chart.source}"
    )
    table = Table("#", "title", "year", "votes", "mean", "weighted", title=title)
    for rank, entry in enumerate(chart.entries, 1):
        table.add_row(
            str(rank),
            escape(entry.title),
            str(entry.year or ""),
            f"{entry.votes:,}",
            f"{entry.mean:.2f}",
            f"{entry.score:.3f}",
        )
    out.print(table)
    for note in chart.notes:
        err.print(f"note: {escape(note)}")


def similar(
    movie: Annotated[
        str,
        typer.Argument(
            help='A title (fuzzy, e.g. "Mary Poppins" or "toy story 1995") or a movie id.'
        ),
    ],
    by: Annotated[
        str,
        typer.Option(
            help="content (metadata), collab (the collaborative "
            "model's item factors) or hybrid (both lists fused "
            "by reciprocal rank)."
        ),
    ] = "content",
    features: Annotated[
        str,
        typer.Option(
            help="auto, soup (cast, director, keywords, genres), tfidf (overview and tags) or kg."
        ),
    ] = "auto",
    min_rating: MinRating = None,
    years: Years = None,
    genre: Genre = None,
    same_genre: Annotated[
        bool, typer.Option(help="Only movies sharing a genre with MOVIE.")
    ] = False,
    k: K = 10,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Movies like MOVIE — optionally only well rated, from some years, of some genres."""
    engine = Engine.open(home_of(home), dataset)
    answer = engine.similar(
        movie,
        by=by,
        features=features,
        k=k,
        same_genre=same_genre,
        min_rating=min_rating,
        years=years,
        genres=genre,
    )
    if as_json:
        emit_json(answer.to_json())
        return
    label = _label(answer.movie)
    out.print(
        _movie_table(
            answer.movies,
            f"like {label} · {answer.by} ({answer.features})",
            "similarity",
            answer.reasons,
        )
    )
    for note in answer.notes:
        err.print(f"note: {escape(note)}")


def search(
    query: Annotated[
        str,
        typer.Argument(help="Part of a title, any case and accents; a year at the end narrows it."),
    ],
    k: K = 10,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find movies by title: fuzzy, article- and year-aware, ranked by match then popularity."""
    matches = Engine.open(home_of(home), dataset).search(query, k=k)
    if as_json:
        emit_json([dataclasses.asdict(match) for match in matches])
        return
    if not matches:
        err.print(f"no movie matches {escape(query)!r}")
        return
    table = Table("id", "title", "year", "match", "popularity")
    for match in matches:
        table.add_row(
            str(match.movie_id),
            escape(match.title),
            str(match.year or ""),
            f"{match.score:.0f}",
            f"{match.popularity:,}",
        )
    out.print(table)


def find(
    description: Annotated[
        str,
        typer.Argument(
            help="What you feel like, in words: \"a '50s "
            'comedy", "stunning nature documentary", '
            '"heist film with a twist".'
        ),
    ],
    genre: Genre = None,
    years: Years = None,
    min_rating: MinRating = None,
    k: K = 10,
    backend: Annotated[
        str,
        typer.Option(
            help="auto (the sentence model when installed, else TF-IDF), sentence or tfidf."
        ),
    ] = "auto",
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Find movies by description: title, genres, overview, tags and keywords, embedded with
    the all-MiniLM-L6-v2 sentence model and ranked by cosine similarity.

    The first search of a dataset embeds its catalog (a progress bar on stderr; `movierec data
    embed` does it ahead of time) and stores the vectors beside it. Without the model's
    packages it falls back to TF-IDF word matching, and says so on stderr.
    """
    engine = Engine.open(home_of(home), dataset)
    with progress("embedding movie descriptions", enabled=not quiet) as update:
        answer = engine.find(
            description,
            k=k,
            genres=genre,
            years=years,
            min_rating=min_rating,
            backend=backend,
            progress=update,
        )
    if as_json:
        emit_json(answer.to_json())
    else:
        out.print(
            _movie_table(
                answer.movies,
                f"{escape(answer.query)!r} · {answer.backend} ({escape(answer.model)})",
                "cosine",
            )
        )
    for note in answer.notes:
        err.print(f"note: {escape(note)}")


def _label(movie: MovieRow) -> str:
    return escape(f"{movie.title} ({movie.year})" if movie.year else movie.title)


def _movie_table(
    rows: list[MovieRow], title: str, score_name: str, reasons: list[str | None] | None = None
) -> Table:
    """Movies with their figures; with ``reasons`` (what each has in common with the film asked
    about), an "in common" column takes the genres' place."""
    shown = reasons if reasons and any(reasons) else None
    middle = "in common" if shown else "genres"
    table = Table("#", "title", "year", middle, score_name, "votes", "mean", title=title)
    for rank, row in enumerate(rows, 1):
        table.add_row(
            str(rank),
            escape(row.title),
            str(row.year or ""),
            escape((shown[rank - 1] or "") if shown else ", ".join(row.genres[:3])),
            f"{row.score:.3f}",
            f"{row.votes:,}",
            "" if row.mean_rating is None else f"{row.mean_rating:.2f}",
        )
    return table
