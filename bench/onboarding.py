"""Getting to know a newcomer: which films to ask about, simulated on withheld users.

Run by hand (minutes per dataset on 2 cores): ``.venv/bin/python bench/onboarding.py
[--datasets ml-100k-recbole,ml-latest-small] [--model hybrid] [--strategies ...]``.

Protocol (the elicitation issue's): 20% of the users are withheld from training (the
``cold-users`` split, seed 0) and the served model is fitted on the rest. Each withheld user
is a simulated newcomer: a strategy shows one film at a time (:mod:`movierec.engine.onboarding`);
the newcomer "rates" it with their real rating when their withheld ratings hold it, and
otherwise answers "haven't seen it"; they stop at 5 ratings or 30 films shown. The ratings are
folded into the served model (``fold_in_user``), whose top-10 over the whole catalogue (rated
films excluded) is scored on the rest of their ratings with the taste-following figures of
``movierec evaluate`` (relevant = rated ≥ 4). Miscalibration is measured against the genres
of the films they like among the rest of their ratings, not of the films they were asked
about: a strategy that asks only about the chart would otherwise be "calibrated" to the chart.

``groups`` first lets the newcomer choose 2 of the 10 film groups (those whose centre is nearest
the mean of their liked films in the item space, as a person picks the groups that look like
their taste); the chosen films are folded in as 4★ (what the web page stores) and removed from
the test ratings; the adaptive strategy then asks for the 5 ratings.

Also timed: choosing the next films (p50/p99 ms over every step of the simulation).
Results: a table per dataset and ``bench/results/onboarding.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import machine, shared_datasets, write_results  # noqa: E402  (bench/load.py: shared helpers)
from movierec.engine.core import DEFAULT_MODEL  # noqa: E402
from movierec.engine.film_groups import FilmGroups  # noqa: E402
from movierec.engine.onboarding import (  # noqa: E402
    STRATEGIES,
    Answers,
    ElicitationPool,
    elicitor,
)
from movierec.evaluate import beyond, metrics  # noqa: E402
from movierec.evaluate.splits import cold_users  # noqa: E402
from movierec.models import calibration, registry  # noqa: E402

RESULTS = REPO / "bench" / "results" / "onboarding.json"
RATINGS_WANTED, MOST_SHOWN, K, RELEVANT = 5, 30, 10, 4.0
GROUPS_CHOSEN, GROUP_STARS = 2, 4.0
FIGURES = ("ndcg", "longtail_ndcg", "miscalibration", "personalization", "shown_per_rating")


def simulate(
    strategy: Any, truth: dict[int, float], start: Answers
) -> tuple[Answers, int, int, list[float]]:
    """One newcomer answering films one at a time after ``start``.

    Returns the answers, the films shown, the films rated, and each step's seconds.
    """
    rated, skipped = dict(start.rated), list(start.skipped)
    shown, answered, times = 0, 0, []
    while answered < RATINGS_WANTED and shown < MOST_SHOWN:
        began = time.perf_counter()
        films = strategy.next_films(Answers(rated, skipped), 1)
        times.append(time.perf_counter() - began)
        if not len(films):
            break
        film = int(films[0])
        shown += 1
        if film in truth:
            rated[film] = truth[film]
            answered += 1
        else:
            skipped.append(film)
    return Answers(rated, skipped), shown, answered, times


def chosen_groups(groups: FilmGroups, pool: ElicitationPool, truth: dict[int, float]) -> list:
    """The groups a person whose liked films are ``truth`` ≥ 4 would pick."""
    liked = pool.positions(np.array([m for m, r in truth.items() if r >= RELEVANT], np.int64))
    liked = liked[liked >= 0]
    if not len(liked):
        return []
    taste = pool.vectors[liked].mean(axis=0)
    closeness = [float(g.centroid @ taste) for g in groups.groups]
    return [groups.groups[i].group_id for i in np.argsort(closeness)[::-1][:GROUPS_CHOSEN]]


def run_strategy(
    name: str,
    model: Any,
    pool: ElicitationPool,
    users: np.ndarray,
    withheld: pd.DataFrame,
    genres: calibration.GenreMatrix,
    head: np.ndarray,
) -> dict[str, float]:
    strategy = elicitor("adaptive" if name == "groups" else name, pool)
    groups = FilmGroups.build(pool) if name == "groups" else None
    lists, tests = [], []
    shown_total, rated_total, step_times = 0, 0, []
    by_user = {u: g for u, g in withheld.groupby("user_id")}
    for user in users.tolist():
        mine = by_user[user]
        truth = dict(zip(mine["movie_id"].tolist(), mine["rating"].tolist(), strict=True))
        start = Answers()
        if groups is not None:
            films = groups.films_of(chosen_groups(groups, pool, truth))
            start = Answers({int(m): GROUP_STARS for m in films})
        answers, shown, answered, times = simulate(strategy, truth, start)
        step_times += times
        told = dict(answers.rated)
        shown_total += shown
        rated_total += answered
        movies = np.array(list(told), np.int64)
        known = model.movies.indices(movies, missing="mask") >= 0
        model.fold_in_user(user, movies[known], np.array(list(told.values()))[known])
        lists.append(model.recommend(user, K, exclude_seen=True).movie_ids)
        tests.append(mine[~mine["movie_id"].isin(told)])
    test = pd.concat(tests)
    relevant = metrics.relevant_items(test, RELEVANT)
    recommended, lengths = metrics.stack_rankings(lists, K)
    taste = calibration.taste_distributions(  # the person's taste: the rest of their ratings
        genres.rows,
        pd.Index(users).get_indexer(test["user_id"].to_numpy()),
        genres.index(test["movie_id"].to_numpy()),
        test["rating"].to_numpy(np.float64),
        len(users),
        RELEVANT,
    )
    ranking = metrics.ranking_scores(users, recommended, lengths, relevant, K)
    longtail = beyond.longtail_scores(users, recommended, lengths, relevant, K, head)
    step_ms = np.array(step_times) * 1000
    return {
        "ndcg": ranking.means()["ndcg"],
        "longtail_ndcg": longtail.means()["longtail_ndcg"],
        "miscalibration": beyond.miscalibration(recommended, lengths, taste, genres),
        "personalization": calibration.personalization(recommended, lengths),
        "shown_per_rating": shown_total / max(rated_total, 1),
        "ratings_per_user": rated_total / len(users),
        "next_films_p50_ms": float(np.percentile(step_ms, 50)) if len(step_ms) else 0.0,
        "next_films_p99_ms": float(np.percentile(step_ms, 99)) if len(step_ms) else 0.0,
    }


def goals(rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The issue's goals: adaptive or groups vs chart-first."""
    chart = rows.get("chart")
    checks: dict[str, Any] = {}
    for name in ("adaptive", "groups"):
        if chart is None or name not in rows:
            continue
        s = rows[name]
        checks[name] = {
            "ndcg ≥ 1.15× chart's": s["ndcg"] >= 1.15 * chart["ndcg"],
            "miscalibration ≤ 0.85× chart's": s["miscalibration"] <= 0.85 * chart["miscalibration"],
            "personalization ≥ chart's": s["personalization"] >= chart["personalization"],
            "shown per rating ≤ 1.5× chart's": s["shown_per_rating"]
            <= 1.5 * chart["shown_per_rating"],
        }
        verdict = ", ".join(f"{k}: {'met' if ok else 'NOT met'}" for k, ok in checks[name].items())
        print(f"  {name}: {verdict}")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--strategies", default=",".join([*STRATEGIES, "groups"]))
    args = parser.parse_args()
    document: dict[str, Any] = {
        "machine": machine(),
        "model": args.model,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "datasets": {},
    }
    for data in shared_datasets(args.datasets):
        (split,) = cold_users(data, 0.2, n_profile=0, min_ratings=RATINGS_WANTED + 5)
        train, withheld = split.train, split.test
        users = np.unique(withheld["user_id"].to_numpy())
        started = time.perf_counter()
        model = registry.create(args.model).fit(train)
        fitted = time.perf_counter() - started
        vectors = model.movie_vectors() if model.embeds_movies else None
        pool = ElicitationPool.build(train, vectors)
        genres = calibration.GenreMatrix.from_catalog(train.catalog)
        head = beyond.short_head(beyond.TrainingPopularity.from_ratings(train.ratings))
        print(f"  {args.model} fitted in {fitted:.0f} s; {len(users)} newcomers")
        rows = {}
        for name in args.strategies.split(","):
            rows[name] = run_strategy(name, model, pool, users, withheld, genres, head)
        print(f"\n{data.name} · newcomers after {RATINGS_WANTED} answers ({args.model})")
        print(f"  {'strategy':<12}" + "".join(f"{f[:14]:>16}" for f in FIGURES) + f"{'p99 ms':>9}")
        for name, figures in rows.items():
            cells = "".join(f"{figures[f]:>16.3f}" for f in FIGURES)
            print(f"  {name:<12}{cells}{figures['next_films_p99_ms']:>9.2f}")
        document["datasets"][data.name] = {"strategies": rows, "goals": goals(rows)}
    if not document["datasets"]:
        sys.exit("no dataset found: nothing measured, nothing written")
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
