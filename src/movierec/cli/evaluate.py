"""`movierec evaluate`: cross-validate models by name and print mean ± std of every metric."""

from __future__ import annotations

import math
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
    err,
    home_of,
    out,
    progress,
)
from movierec.data.storage import load_dataset

HELP = """Cross-validate models: fit each on every fold, score it, print mean ± std over folds.

Splits (--split): kfold = Surprise's KFold over ratings (seeded shuffle, --cv folds);
user-holdout = per user a random --fraction (or --n-test) of their ratings;
user-temporal = per user their last --n-test ratings by time (default 1);
temporal = every rating after the --quantile of timestamps. Users with fewer than 2 ratings
stay in train.

cold-users = a random --fraction of the users with more than --n-profile ratings is withheld
from training entirely; each one's --n-profile earliest ratings by timestamp (random ones when
the data has no timestamps) are their profile, the rest their test ratings. Models that absorb
new users (online: chart, als, mf, content, …) are told each profile with fold_in_user
(nothing with --n-profile 0), then recommend with the profile excluded and predict the test
ratings (fold-in s = the time all fold-ins took); models that cannot absorb a user (ease,
knn, …) are not applicable there: "—" in the table and a note names them. user-holdout is the
warm-user counterpart: every test user has training ratings.

Rating metrics (models that predict ratings), over test ratings whose user and movie have
training ratings (others dropped, counted): rmse = sqrt(mean((r - r̂)²)), mae = mean(|r - r̂|).

Ranking metrics at k: each test user known to training gets k movies, seen ones excluded,
from the whole catalogue, in the model's order (ties as the model broke them). Relevant = a
test rating ≥ --relevance (default 80% of the scale's top: 4.0 on 5 stars; 'all': every test
movie). Users with nothing relevant are skipped (counted). With h_j = 1 when the j-th movie
is relevant and R the relevant set: precision = Σh/k; recall = Σh/|R|; ndcg = Σ h_j/log2(j+1)
over the ideal Σ_{j ≤ min(|R|,k)} 1/log2(j+1); map = Σ h_j·P@j / min(|R|,k); hit_rate = 1 if
any hit.

Beyond accuracy: coverage = distinct recommended movies / catalogue size; popularity = mean
training rating count of the recommended movies. Times are seconds per fold: fit, predict
(the test ratings), recommend (all lists). Std is over folds (ddof=0, as Surprise).
"""

_ORDER = ("rmse", "mae", "precision", "recall", "ndcg", "map", "hit_rate", "coverage",
          "popularity", "fit_seconds", "fold_in_seconds", "predict_seconds", "recommend_seconds")
_LABELS = {"fit_seconds": "fit s", "fold_in_seconds": "fold-in s", "predict_seconds": "predict s",
           "recommend_seconds": "recommend s", "hit_rate": "hit rate"}


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the root app."""
    app.command("evaluate", help=HELP)(evaluate_command)


def evaluate_command(
    models: Annotated[str, typer.Option("--models", "-m", help="Model names, comma-separated "
                                        "(e.g. mf,als,knn).")],
    split: Annotated[str, typer.Option(help="kfold, user-holdout, user-temporal, temporal "
                                       "or cold-users.")] = "kfold",
    cv: Annotated[int, typer.Option(help="Folds of kfold (at least 2).")] = 5,
    k: Annotated[int, typer.Option("-k", "--k", help="Ranking cut-off.")] = 10,
    relevance: Annotated[str, typer.Option(help="Lowest relevant test rating, 'auto' (80% of "
                                           "the scale's top) or 'all'.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    fraction: Annotated[float, typer.Option(help="user-holdout: share of each user's "
                                            "ratings tested; cold-users: share of the users "
                                            "withheld.")] = 0.2,
    n_test: Annotated[int | None, typer.Option("--n-test", help="user-holdout and "
                                               "user-temporal: ratings tested per user.")]
    = None,
    quantile: Annotated[float, typer.Option(help="temporal: ratings after this quantile of "
                                            "timestamps are tested.")] = 0.8,
    repeats: Annotated[int, typer.Option(help="user-holdout: independent draws "
                                         "(seeds seed, seed+1, …).")] = 1,
    n_profile: Annotated[int, typer.Option("--n-profile", help="cold-users: ratings of each "
                                           "withheld user a model is told (their earliest; "
                                           "0: none).")] = 5,
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    from movierec.evaluate import evaluate

    names = [name.strip() for name in models.split(",") if name.strip()]
    if not names:
        raise ValueError("--models: name at least one model, e.g. --models mf,als")
    if k <= 0:
        raise ValueError(f"-k must be a positive integer, got {k}")
    if split == "kfold" and cv < 2:
        raise ValueError(f"--cv must be at least 2, got {cv}")
    data = load_dataset(home_of(home), dataset)
    with progress(f"evaluating {', '.join(names)}", enabled=not quiet) as update:
        result = evaluate(data, names, split=split, k=k, cv=cv, seed=seed,
                          relevance=parse_relevance(relevance), fraction=fraction,
                          n_test=n_test, quantile=quantile, repeats=repeats,
                          n_profile=n_profile, progress=update)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(results_table(result.to_json()))
    skipped_models = [m for m in result.models if m.not_applicable]
    if skipped_models:
        err.print(f"note: not applicable on {result.split}: "
                  + "; ".join(f"{m.name} — {m.not_applicable}" for m in skipped_models),
                  highlight=False)
    dropped = sum(f["unknown_user"] + f["unknown_movie"] for f in result.folds)
    skipped = sum(f["skipped_users"] for f in result.folds)
    if not quiet and (dropped or skipped):
        err.print(f"note: {dropped:,} test rating(s) with a user or movie unseen in training "
                  f"were left out of rmse/mae; {skipped:,} user-fold(s) with nothing relevant "
                  "were left out of the ranking metrics", highlight=False)


def parse_relevance(text: str) -> float | None | str:
    """'auto' stays, 'all'/'none' mean every test movie is relevant, else a number."""
    word = text.strip().lower()
    if word == "auto":
        return "auto"
    if word in ("all", "none"):
        return None
    try:
        value = float(word)
    except ValueError:
        raise ValueError(f"--relevance: expected a rating such as 4.0, 'auto' or 'all', "
                         f"got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"--relevance must be finite, got {text!r}")
    return value


def results_table(document: dict[str, Any]) -> Table:
    """Metrics down, models across, each cell ``mean ± std``."""
    settings = document["settings"]
    relevance = settings["relevance"]
    title = (f"{escape(document['dataset'])} · {document['split']} · {settings['folds']} "
             f"fold(s) · k={settings['k']} · relevant ≥ "
             f"{'all' if relevance is None else f'{relevance:g}'}")
    table = Table("metric", *[escape(m["model"]) for m in document["models"]], title=title)
    for metric in _ORDER:
        cells = [_cell(m["summary"].get(metric), metric) for m in document["models"]]
        if any(cell != "—" for cell in cells):
            table.add_row(_LABELS.get(metric, metric), *cells)
    return table


def _cell(figure: dict[str, float] | None, metric: str) -> str:
    if figure is None:
        return "—"
    digits = 1 if metric == "popularity" else 2 if metric.endswith("seconds") else 4
    return f"{figure['mean']:.{digits}f} ± {figure['std']:.{digits}f}"
