"""EASE's quality without its movies × movies matrix: ``ease-lowrank`` beside ``ease``.

Run by hand (about 10 minutes on 2 cores; ``--skip-full`` leaves out the 33.8M fit, 5 of them):
``.venv/bin/python bench/lowrank.py [--datasets ml-100k-recbole,ml-latest-small]
[--synthetic 10M] [--skip-full]``.

* **Where EASE fits**, the same split for both: ml-100k and ml-latest-small through ``movierec
  evaluate`` (per-user 20% holdout, seed 0, top-10 over the whole catalogue, relevant = rated
  ≥ 4); a synthetic set (``--synthetic``, MovieLens-latest-shaped, seed 0) with a per-user 20%
  holdout (seed 0), NDCG@10 over 2,000 sampled users with a liked held-out movie (scoring all
  of them one by one would take longer than both fits). EASE there models its default
  ``max_items`` (15,000) most-rated movies.
* **At full size**: the 33.8M-rating synthetic set (330,660 users, 86,455 movies, where EASE's
  dense Gram matrix alone would take ~30 GB) is generated into a temporary home and
  ``movierec train --model ease-lowrank`` runs in a child process: its wall time and peak RSS
  (the child's own, from ``getrusage``), loading included.

Results: a table on stdout and ``bench/results/lowrank.json`` (machine, date, versions).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import machine, shared_datasets, write_results  # noqa: E402  (bench/load.py)
from movierec.cli.data import parse_count  # noqa: E402
from movierec.data import synthetic  # noqa: E402
from movierec.data.dataset import Dataset  # noqa: E402
from movierec.evaluate import evaluate  # noqa: E402
from movierec.models import registry  # noqa: E402

RESULTS = REPO / "bench" / "results" / "lowrank.json"
MODELS = ("ease", "ease-lowrank")
SAMPLED_USERS = 2000
K = 10


def real(data: Dataset) -> dict[str, Any]:
    """Both models through ``movierec evaluate`` on a per-user 20% holdout."""
    result = evaluate(data, list(MODELS), split="user-holdout")
    return {
        m.name: {key: m.folds[0][key] for key in ("ndcg", "recall", "personalization")}
        | {"fit_seconds": m.folds[0]["fit_seconds"]}
        for m in result.models
    }


def sampled(data: Dataset) -> dict[str, Any]:
    """Both models on one per-user 20% holdout, NDCG@10 over sampled users (module notes)."""
    rng = np.random.default_rng(0)
    ratings = data.ratings
    held = rng.random(len(ratings)) < 0.2
    train = dataclasses.replace(data, ratings=ratings[~held])
    test = ratings[held & (ratings["rating"].to_numpy() >= 4)]
    known = np.intersect1d(test["user_id"].unique(), train.ratings["user_id"].unique())
    users = rng.choice(known, min(SAMPLED_USERS, len(known)), replace=False)
    test = test[test["user_id"].isin(users)]
    liked = test.groupby("user_id")["movie_id"].apply(lambda s: set(s.tolist()))
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    rows: dict[str, Any] = {}
    for name in MODELS:
        started = time.perf_counter()
        model = registry.create(name).fit(train)
        fitted = time.perf_counter() - started
        total = 0.0
        for user, relevant in liked.items():
            picks = model.recommend(int(user), K).movie_ids
            hits = np.array([int(m) in relevant for m in picks], dtype=float)
            total += float(hits @ discounts[: len(hits)]) / discounts[: min(K, len(relevant))].sum()
        rows[name] = {"ndcg": total / len(liked), "fit_seconds": fitted, "users": len(liked)}
        print(f"  {name} … {fitted:.1f} s", flush=True)
    return rows


def synthetic_set(ratings: int) -> Dataset:
    scale = ratings / synthetic.DEFAULT_RATINGS
    users = max(2, round(synthetic.DEFAULT_USERS * scale))
    movies = max(2, round(synthetic.DEFAULT_MOVIES * scale))
    return synthetic.generate(users, movies, ratings, seed=0)


def full_size() -> dict[str, Any]:
    """``movierec train --model ease-lowrank`` on the 33.8M synthetic set, in a child."""
    cli = str(REPO / ".venv" / "bin" / "movierec")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MOVIEREC_HOME": home}
        subprocess.run([cli, "data", "synth", "--ratings", "33.8M", "-q"], env=env, check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        command = [cli, "train", "--model", "ease-lowrank", "-d", "synthetic", "--no-default"]
        subprocess.run([*command, "-q"], env=env, check=True)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "peak_rss_gb": max(peak, before) / 1e6,  # kB; the largest child so far
        "note": "wall time of `movierec train`, loading the stored dataset included",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--synthetic", default="10M")
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    document: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "datasets": {},
    }
    for data in shared_datasets(args.datasets):
        document["datasets"][data.name] = real(data)
    if args.synthetic:
        n = parse_count(args.synthetic, "--synthetic")
        print(f"synthetic {args.synthetic}: generating …", flush=True)
        document["datasets"][f"synthetic-{args.synthetic}"] = sampled(synthetic_set(n))
    if not args.skip_full:
        print("synthetic 33.8M: generating and training ease-lowrank in a child …", flush=True)
        document["full_size"] = full_size()

    print("\nNDCG@10 (ease-lowrank ÷ ease), fit seconds")
    print(f"  {'dataset':<24}{'ease':>10}{'ease-lowrank':>14}{'ratio':>8}{'fit s':>16}")
    for name, rows in document["datasets"].items():
        ease, low = rows["ease"], rows["ease-lowrank"]
        ratio = low["ndcg"] / ease["ndcg"]
        fits = f"{ease['fit_seconds']:.1f} / {low['fit_seconds']:.1f}"
        print(f"  {name:<24}{ease['ndcg']:>10.4f}{low['ndcg']:>14.4f}{ratio:>8.3f}{fits:>16}")
    if "full_size" in document:
        full = document["full_size"]
        print(
            f"  synthetic 33.8M, 86k movies: train {full['seconds']:.0f} s, "
            f"peak RSS {full['peak_rss_gb']:.2f} GB (EASE: ~30 GB for its Gram matrix alone)"
        )
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
