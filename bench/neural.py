"""Two-tower and hybrid against the other families, on warm and on cold-start users.

Run by hand (about 10 minutes on 2 cores): ``.venv/bin/python bench/neural.py
[--datasets ml-100k-recbole,ml-latest-small] [--models ...]``.

* **Training time**: each two-tower variant fitted on the whole dataset; seconds per epoch
  (mean over the epochs run), epochs run before early stopping, total fit seconds (features,
  SVD of the content tokens and training included).
* **Warm users**: ``user-holdout`` split (per user 20% of ratings, seed 0); NDCG@10 and
  recall@10, relevant = rated ≥ 4 (80% of the scale's top), the whole catalogue as candidates,
  seen movies excluded. RMSE for models that predict ratings.
* **Cold-start users**: ``cold-users`` split (20% of users withheld from training entirely;
  each is told to the model through ``fold_in_user`` from their 5 earliest ratings, then
  tested on the rest). Models that cannot absorb a user are reported not applicable.
* **Hybrid gain**: the hybrid's NDCG@10 over each of its parts' on the same split, as a ratio.

Everything goes through :func:`movierec.evaluate.evaluate`, so the metrics and candidate sets
are those of ``movierec evaluate``. Results: a table on stdout and ``bench/results/neural.json``
(machine, date, versions).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import shared_datasets, write_results  # noqa: E402  (bench/load.py: shared helpers)
from movierec.evaluate import evaluate  # noqa: E402
from movierec.models import registry  # noqa: E402

RESULTS = REPO / "bench" / "results" / "neural.json"
MODELS = ("chart", "content", "mf", "als", "ease", "twotower", "twotower-rank", "hybrid")
SPLITS = {
    "warm": {"split": "user-holdout"},
    "cold": {"split": "cold-users", "fraction": 0.2, "n_profile": 5},
}


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def training_times(data: Any) -> dict[str, dict[str, float]]:
    times = {}
    for name in ("twotower", "twotower-rank"):
        started = time.perf_counter()
        model = registry.create(name).fit(data)
        total = time.perf_counter() - started
        log = model.epoch_log
        times[name] = {
            "epochs": int(len(log)),
            "seconds_per_epoch": float(log[:, 2].mean()),
            "fit_seconds": total,
            "best_validation_mse": float(log[:, 1].min()),
        }
        print(f"  {name}: {len(log)} epochs, {log[:, 2].mean():.2f} s/epoch, fit {total:.1f} s")
    return times


def figures(result: Any) -> dict[str, dict[str, Any]]:
    rows = {}
    for model in result.models:
        summary = model.summary()
        rows[model.name] = {
            "not_applicable": getattr(model, "not_applicable", None),
            **{
                metric: summary[metric]["mean"]
                for metric in ("ndcg", "recall", "rmse", "fit_seconds")
                if metric in summary
            },
        }
    return rows


def table(name: str, runs: dict[str, dict[str, dict[str, Any]]]) -> None:
    print(f"\n{name}: NDCG@10 / recall@10 (RMSE) — warm users | cold-start users")
    for model in runs["warm"]:
        cells = []
        for regime in ("warm", "cold"):
            row = runs[regime].get(model, {})
            if "ndcg" not in row:
                cells.append(f"{'n/a':>24}")
                continue
            rmse = f" ({row['rmse']:.4f})" if "rmse" in row else ""
            cells.append(f"{row['ndcg']:.4f} / {row['recall']:.4f}{rmse:>9}")
        print(f"  {model:<14}" + " | ".join(cells))


def gains(runs: dict[str, dict[str, dict[str, Any]]], parts: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for regime, rows in runs.items():
        hybrid = rows.get("hybrid", {}).get("ndcg")
        if hybrid is None:
            continue
        out[regime] = {
            part: hybrid / rows[part]["ndcg"] for part in parts if rows.get(part, {}).get("ndcg")
        }
        shown = ", ".join(f"{part} ×{ratio:.3f}" for part, ratio in out[regime].items())
        print(f"  hybrid gain ({regime}): {shown}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    parts = registry.create("hybrid").config.names
    document: dict[str, Any] = {
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "hybrid_parts": parts,
        "datasets": {},
    }
    for data in shared_datasets(args.datasets):
        entry: dict[str, Any] = {"training": training_times(data), "runs": {}}
        for regime, settings in SPLITS.items():
            started = time.perf_counter()
            result = evaluate(data, models, **settings)
            entry["runs"][regime] = figures(result)
            print(f"  {regime}: evaluated in {time.perf_counter() - started:.0f} s")
        table(data.name, entry["runs"])
        entry["hybrid_gain"] = gains(entry["runs"], parts)
        document["datasets"][data.name] = entry
    if not document["datasets"]:
        sys.exit("no dataset found: nothing measured, nothing written")
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
