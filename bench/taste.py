"""Taste-following: do the picks follow the person? Newcomers and regulars, every ranking model.

Run by hand (about 5 minutes on 2 cores): ``.venv/bin/python bench/taste.py
[--datasets ml-100k-recbole,ml-latest-small] [--models ...] [--profiles 5,20]``.

Plain NDCG on MovieLens rewards popularity (the all-time chart beats most personal models on
it), so each model is scored beside it on what a popularity list cannot game, all from
``movierec evaluate`` (definitions in :mod:`movierec.evaluate.metrics`):

* **Newcomers**: the ``cold-users`` split, 20% of the users withheld from training, each told
  to the model by ``fold_in_user`` from their earliest n ratings (n in ``--profiles``), top-10
  over the whole catalogue, scored on the ratings after their largest profile.
* **Regulars**: the ``user-holdout`` split (per user 20% of ratings held out, seed 0).

Figures: NDCG@10, long-tail NDCG@10 (the 10% most-rated movies are not hits), miscalibration
(Steck 2018, genres), popularity lift (Abdollahpouri et al.), personalization (1 − mean
Jaccard of two users' lists), coverage. Relevant = rated ≥ 4. Results: a table per dataset on
stdout and ``bench/results/taste.json`` (machine, date, versions), with the goals of the
taste-following issue checked for the served default.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import machine, shared_datasets, write_results  # noqa: E402  (bench/load.py: shared helpers)
from movierec.engine.core import DEFAULT_MODEL  # noqa: E402
from movierec.evaluate import evaluate  # noqa: E402
from movierec.models.blend import PERSONALIZATION_SLACK  # noqa: E402
from movierec.models.hybrid import HybridConfig  # noqa: E402

RESULTS = REPO / "bench" / "results" / "taste.json"
MODELS = ("chart", "mf", "als", "knn", "ials", "ease", "twotower-rank", "hybrid")
FIGURES = (
    "ndcg",
    "longtail_ndcg",
    "miscalibration",
    "popularity_lift",
    "personalization",
    "coverage",
)
HYBRID_PARTS = tuple(HybridConfig().parts.split(","))
LABELS = {
    "ndcg": "NDCG",
    "longtail_ndcg": "long-tail",
    "miscalibration": "miscal.",
    "popularity_lift": "pop. lift",
    "personalization": "personal.",
    "coverage": "coverage",
}


def summaries(result: Any) -> dict[str, dict[str, float]]:
    """model → {figure: mean over folds} (empty for a model the split does not apply to)."""
    rows: dict[str, dict[str, float]] = {}
    for model in result.models:
        summary = model.summary()
        rows[model.name] = {name: summary[name]["mean"] for name in FIGURES if name in summary}
    return rows


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'model':<14}" + "".join(f"{LABELS[f]:>11}" for f in FIGURES))
    for model, figures in rows.items():
        cells = "".join(f"{figures[f]:>11.3f}" if f in figures else f"{'—':>11}" for f in FIGURES)
        print(f"  {model:<14}{cells}")


def goals(runs: dict[str, dict[str, dict[str, float]]], served: str) -> dict[str, Any]:
    """The taste-following issue's goals for the served default, checked one by one."""
    checks: dict[str, Any] = {}
    five, twenty, warm = (
        runs.get("newcomers-5", {}),
        runs.get("newcomers-20", {}),
        runs.get("regulars", {}),
    )
    if served in five and "chart" in five:
        s, chart = five[served], five["chart"]
        checks["newcomers-5"] = {
            "ndcg ≥ chart's": (s["ndcg"], chart["ndcg"], s["ndcg"] >= chart["ndcg"]),
            "personalization ≥ 0.85": (s["personalization"], 0.85, s["personalization"] >= 0.85),
            "miscalibration ≤ 1.00": (s["miscalibration"], 1.0, s["miscalibration"] <= 1.0),
            "long-tail NDCG ≥ 0.045": (s["longtail_ndcg"], 0.045, s["longtail_ndcg"] >= 0.045),
        }
    if served in twenty:
        value = twenty[served]["miscalibration"]
        checks["newcomers-20"] = {"miscalibration ≤ 0.70": (value, 0.70, value <= 0.70)}
    if served in warm and "ease" in warm:
        s, ease = warm[served], warm["ease"]
        checks["regulars"] = {
            "ndcg ≥ 0.39": (s["ndcg"], 0.39, s["ndcg"] >= 0.39),
            "personalization ≥ 0.9": (s["personalization"], 0.9, s["personalization"] >= 0.9),
            "miscalibration ≤ ease's": (
                s["miscalibration"],
                ease["miscalibration"],
                s["miscalibration"] <= ease["miscalibration"] + 1e-9,
            ),
        }
    for regime, items in checks.items():
        for name, (value, bound, ok) in items.items():
            print(
                f"  {served} {regime}: {name}: {value:.3f} vs {bound:.3f} "
                f"{'met' if ok else 'NOT met'}"
            )
    return {
        regime: {
            name: {"value": v, "bound": b, "met": bool(ok)} for name, (v, b, ok) in items.items()
        }
        for regime, items in checks.items()
    }


def objective(figures: dict[str, float], floor: float, ceiling: float) -> float:
    """The hybrid's fitting objective: NDCG, within the most personal part's bounds."""
    feasible = (
        figures["personalization"] >= floor - PERSONALIZATION_SLACK
        and figures["miscalibration"] <= ceiling + 1e-9
    )
    return figures["ndcg"] if feasible else float("-inf")


def hybrid_vs_parts(runs: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Does the hybrid beat each of its parts on the objective it is fitted for?

    The bounds are those of the most personal part in the same run; a part outside them (the
    chart: one list for everyone) scores −inf there, whatever its NDCG.
    """
    checks: dict[str, Any] = {}
    for regime, rows in runs.items():
        parts = [p for p in HYBRID_PARTS if p in rows]
        if "hybrid" not in rows or not parts:
            continue
        anchor = max(parts, key=lambda p: rows[p]["personalization"])
        floor, ceiling = rows[anchor]["personalization"], rows[anchor]["miscalibration"]
        mine = objective(rows["hybrid"], floor, ceiling)
        checks[regime] = {
            p: {
                "hybrid": mine,
                "part": objective(rows[p], floor, ceiling),
                "beaten": bool(mine > objective(rows[p], floor, ceiling)),
            }
            for p in parts
        }
        verdict = ", ".join(
            f"{p} {'beaten' if c['beaten'] else 'NOT beaten'}" for p, c in checks[regime].items()
        )
        print(f"  hybrid {regime} (bounds of {anchor}): {verdict}")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--profiles", default="5,20")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    profiles = [int(p) for p in args.profiles.split(",") if p]
    document: dict[str, Any] = {
        "machine": machine(),
        "served_default": DEFAULT_MODEL,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "profiles": profiles,
        "datasets": {},
    }
    for data in shared_datasets(args.datasets):
        runs: dict[str, dict[str, dict[str, float]]] = {}
        started = time.perf_counter()
        cold = evaluate(data, models, split="cold-users", fraction=0.2, profiles=profiles)
        for size, result in cold.by_profile().items():
            runs[f"newcomers-{size}"] = summaries(result)
            print_table(f"{data.name} · newcomers told {size} ratings", runs[f"newcomers-{size}"])
        warm = evaluate(data, models, split="user-holdout")
        runs["regulars"] = summaries(warm)
        print_table(f"{data.name} · regulars (20% holdout)", runs["regulars"])
        print(f"  evaluated in {time.perf_counter() - started:.0f} s")
        document["datasets"][data.name] = {
            "runs": runs,
            "goals": goals(runs, DEFAULT_MODEL),
            "hybrid_vs_parts": hybrid_vs_parts(runs),
        }
    if not document["datasets"]:
        sys.exit("no dataset found: nothing measured, nothing written")
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
