"""`movierec evaluate`: cross-validate models by name and print mean ± std of every metric."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

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
stay in train. stratified = per user a random --ratio (default 0.75) of their ratings to train
(each user keeps at least one), the rest tested: Microsoft Recommenders'
python_stratified_split, the same folds for the same row order and --seed (default 42 for
this split, 0 for the others); with --relevance all it is their top-N protocol.
u1 … u5 = ml-100k's own GroupLens folds (u1.base/u1.test …, 80/20, from u.data's row order),
the split of published figures "on u1"; ml-100k only.

cold-users = a random --fraction of the users with more than max(--profile) ratings is
withheld from training entirely. --profile 1,3,5,10,20 scores each profile size n: every model
is fitted once, then told each withheld user's n earliest ratings by timestamp (random ones
when the data has no timestamps) with fold_in_user, size after size (0: nothing told; the
default is --n-profile, 5). The withheld users are the same for every size, and the test
ratings are those after the largest profile, so every size is scored on the same test ratings.
Models then recommend with the whole largest profile excluded (told or not: an untold rating is
not tested either) and predict the test ratings (fold-in s = the time all fold-ins took).
The table has one column per model and size ("als · 5"); the JSON one entry per model and
size, its "profile" field the size. Models that cannot absorb a user are not applicable there:
"—" in the table and a note names them. user-holdout is the warm-user counterpart: every test
user has training ratings.

Rating metrics (models that predict ratings), over test ratings whose user and movie have
training ratings (others dropped, counted): rmse = sqrt(mean((r - r̂)²)), mae = mean(|r - r̂|).

Ranking metrics at k: each test user known to training gets k movies, seen ones excluded,
from the whole catalogue, in the model's order (ties as the model broke them). Relevant = a
test rating ≥ --relevance (default 80% of the scale's top: 4.0 on 5 stars; 'all': every test
movie). Users with nothing relevant are skipped (counted). With h_j = 1 when the j-th movie
is relevant and R the relevant set: precision = Σh/k; recall = Σh/|R|; ndcg = Σ h_j/log2(j+1)
over the ideal Σ_{j ≤ min(|R|,k)} 1/log2(j+1); map = Σ h_j·P@j / min(|R|,k); hit_rate = 1 if
any hit.

Beyond accuracy, over the lists L (what a popularity list cannot game). n(i) = training
ratings of movie i, N = training users, share(i) = n(i)/N; a user's profile P = their
training ratings (cold-users: the profile told). coverage = distinct recommended movies /
catalogue size; popularity = mean n(i) of the recommended movies. long-tail ndcg / recall =
ndcg and recall with the short head H (the ⌈--head-share·M⌉ most-rated of the M movies with
training ratings, default 10%) removed from R and never a hit; users with no relevant
long-tail movie are skipped for these two. miscalibration (Steck 2018) = mean KL(p ‖ (1-α)q +
αp), α = 0.01, over genres with p > 0: p the genre distribution of the movies liked in P
(rated ≥ the relevance; all of P when none), q that of L, each movie splitting weight 1 over
its genres. popularity lift (Abdollahpouri et al. 2019) = mean (GAP(L) - GAP(P)) / GAP(P),
GAP = mean share(i); > 0: lists more popular than what the user watches. personalization = 1
- mean Jaccard |L_u ∩ L_v| / |L_u ∪ L_v| over pairs of users (all pairs up to 2,000 users, else
200,000 seeded pairs). novelty (Zhou et al. 2010) = mean -log2(share(i)) bits per slot
(unrated movies count n = 1). ILD = mean over users of the mean over pairs in L of 1 -
Jaccard(genres(i), genres(j)), pairs with a genre-less movie skipped.

--calibrate λ (0..1, default 0 = off) re-ranks every model's top 50, and for each genre g of
the user's taste its ⌈k·p(g)⌉ best films of g, for every user with Steck's greedy calibration
toward p: add one movie at a time maximising (1-λ)·Σ s - λ·KL(p ‖ q̃(list)), s the scores
scaled to [0, 1]. Times are seconds per fold: fit, predict (the test
ratings), recommend (all lists, re-ranking included). Std is over folds (ddof=0, as Surprise).
"""

_ORDER = (
    "rmse",
    "mae",
    "precision",
    "recall",
    "ndcg",
    "map",
    "hit_rate",
    "longtail_ndcg",
    "longtail_recall",
    "miscalibration",
    "popularity_lift",
    "personalization",
    "coverage",
    "novelty",
    "intra_list_diversity",
    "popularity",
    "fit_seconds",
    "fold_in_seconds",
    "predict_seconds",
    "recommend_seconds",
)
_LABELS = {
    "fit_seconds": "fit s",
    "fold_in_seconds": "fold-in s",
    "predict_seconds": "predict s",
    "recommend_seconds": "recommend s",
    "hit_rate": "hit rate",
    "longtail_ndcg": "long-tail ndcg",
    "longtail_recall": "long-tail recall",
    "popularity_lift": "popularity lift",
    "intra_list_diversity": "ILD",
}


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the root app."""
    app.command("evaluate", help=HELP)(evaluate_command)


def evaluate_command(
    models: Annotated[
        str, typer.Option("--models", "-m", help="Model names, comma-separated (e.g. mf,als,knn).")
    ],
    split: Annotated[
        str,
        typer.Option(
            help="kfold, user-holdout, user-temporal, temporal, cold-users, stratified, "
            "or u1 … u5 (ml-100k's GroupLens folds)."
        ),
    ] = "kfold",
    cv: Annotated[int, typer.Option(help="Folds of kfold (at least 2).")] = 5,
    k: Annotated[int, typer.Option("-k", "--k", help="Ranking cut-off.")] = 10,
    relevance: Annotated[
        str,
        typer.Option(help="Lowest relevant test rating, 'auto' (80% of the scale's top) or 'all'."),
    ] = "auto",
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the split (default 42 for stratified, 0 for the others)."),
    ] = None,
    ratio: Annotated[
        float, typer.Option(help="stratified: share of each user's ratings in training.")
    ] = 0.75,
    fraction: Annotated[
        float,
        typer.Option(
            help="user-holdout: share of each user's "
            "ratings tested; cold-users: share of the users "
            "withheld."
        ),
    ] = 0.2,
    n_test: Annotated[
        int | None,
        typer.Option("--n-test", help="user-holdout and user-temporal: ratings tested per user."),
    ] = None,
    quantile: Annotated[
        float, typer.Option(help="temporal: ratings after this quantile of timestamps are tested.")
    ] = 0.8,
    repeats: Annotated[
        int, typer.Option(help="user-holdout: independent draws (seeds seed, seed+1, …).")
    ] = 1,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="cold-users: profile sizes, "
            "comma-separated (e.g. 1,3,5,10,20): ratings "
            "of each withheld user a model is told, their "
            "earliest; 0: none.",
        ),
    ] = None,
    n_profile: Annotated[
        int | None,
        typer.Option(
            "--n-profile",
            help="cold-users: a single profile size (default 5); --profile is the general form.",
        ),
    ] = None,
    calibrate: Annotated[
        float,
        typer.Option(
            help="λ of Steck's calibrated re-ranking of each model's top 50 and each taste "
            "genre's best few, 0..1; 0: off."
        ),
    ] = 0.0,
    head_share: Annotated[
        float,
        typer.Option(
            "--head-share",
            help="Share of the rated movies forming the short head of the long-tail figures.",
        ),
    ] = 0.1,
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
    if profile is not None and n_profile is not None:
        raise ValueError("give --profile or --n-profile, not both (--profile 5 is --n-profile 5)")
    sizes = parse_profiles(profile) if profile is not None else None
    if sizes is not None and split != "cold-users":
        raise ValueError(f"--profile applies to --split cold-users only, not {split}")
    if n_profile is not None and n_profile < 0:
        raise ValueError(f"--n-profile must be an integer ≥ 0, got {n_profile}")
    if not 0.0 <= calibrate <= 1.0:
        raise ValueError(f"--calibrate must be in [0, 1], got {calibrate:g}")
    if not 0.0 <= head_share < 1.0:
        raise ValueError(f"--head-share must be in [0, 1), got {head_share:g}")
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"--ratio must be in (0, 1), got {ratio:g}")
    data = load_dataset(home_of(home), dataset)
    with progress(f"evaluating {', '.join(names)}", enabled=not quiet) as update:
        result = evaluate(
            data,
            names,
            split=split,
            k=k,
            cv=cv,
            seed=seed,
            relevance=parse_relevance(relevance),
            fraction=fraction,
            n_test=n_test,
            quantile=quantile,
            repeats=repeats,
            n_profile=5 if n_profile is None else n_profile,
            ratio=ratio,
            profiles=sizes,
            calibrate=calibrate,
            head_share=head_share,
            progress=update,
        )
    if as_json:
        emit_json(result.to_json())
        return
    out.print(results_table(result.to_json()))
    skipped_models = {m.name: m.not_applicable for m in result.models if m.not_applicable}
    if skipped_models:
        err.print(
            f"note: not applicable on {result.split}: "
            + "; ".join(f"{name} — {why}" for name, why in skipped_models.items()),
            highlight=False,
        )
    dropped = sum(f["unknown_user"] + f["unknown_movie"] for f in result.folds)
    skipped = sum(f["skipped_users"] for f in result.folds)
    if not quiet and (dropped or skipped):
        err.print(
            f"note: {dropped:,} test rating(s) with a user or movie unseen in training "
            f"were left out of rmse/mae; {skipped:,} user-fold(s) with nothing relevant "
            "were left out of the ranking metrics",
            highlight=False,
        )


def parse_relevance(text: str) -> float | None | Literal["auto"]:
    """'auto' stays, 'all'/'none' mean every test movie is relevant, else a number."""
    word = text.strip().lower()
    if word == "auto":
        return "auto"
    if word in ("all", "none"):
        return None
    try:
        value = float(word)
    except ValueError:
        raise ValueError(
            f"--relevance: expected a rating such as 4.0, 'auto' or 'all', got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"--relevance must be finite, got {text!r}")
    return value


def parse_profiles(text: str) -> list[int]:
    """'1,3,5' → [1, 3, 5]: distinct integers ≥ 0, sorted."""
    parts = [part.strip() for part in text.split(",")]
    expected = "expected profile sizes such as 1,3,5,10,20 (distinct integers ≥ 0)"
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"--profile: {expected}, got {text!r}") from None
    if any(size < 0 for size in sizes) or len(set(sizes)) < len(sizes):
        raise ValueError(f"--profile: {expected}, got {text!r}")
    return sorted(sizes)


def results_table(document: dict[str, Any]) -> Table:
    """Metrics down, models across (one column per model and profile size), ``mean ± std``."""
    settings = document["settings"]
    relevance = settings["relevance"]
    title = (
        f"{escape(document['dataset'])} · {document['split']} · {settings['folds']} "
        f"fold(s) · k={settings['k']} · relevant ≥ "
        f"{'all' if relevance is None else f'{relevance:g}'}"
    )
    if settings.get("calibrate"):
        title += f" · calibrated λ={settings['calibrate']:g}"
    headers = [
        escape(m["model"]) + ("" if m.get("profile") is None else f" · {m['profile']}")
        for m in document["models"]
    ]
    table = Table("metric", *headers, title=title)
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
