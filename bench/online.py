"""Online fold-in benchmark: how fast one fold-in is, and how close it comes to a retrain.

Run by hand (a few minutes): ``.venv/bin/python bench/online.py [--repeats 3]
[--skip-accuracy] [--skip-store]``.

* Latency: ``fold_in_user`` of an existing user whose history is replaced by 1, 20, 200 or
  2,000 distinct movies, at 64 and 128 factors, for ALS, MF (Surprise's 20 epochs) and the
  tuned MF (120 epochs: its SGD replay costs epochs × ratings × factors). The catalogue is
  ml-latest-small (9.7k movies; the synthetic generator of that shape when the real data is
  absent). Also: a brand-new user (20 ratings, includes the id-map append and array growth),
  a new movie (20 raters) and a known movie re-solved from 200 raters. Each cell is timed
  ``--repeats`` times (other work shares the machine); the table shows the median over passes
  of each pass's p50 and p99.
* Accuracy against a full retrain, on ml-100k and ml-latest-small: each user's last 10% of
  ratings by time are held out; 10% of the users (seeded) are "new": the online model is
  trained without any of their ratings and then folds each of them in from their remaining
  ratings; the full retrain is trained with those ratings included (same seed). Scored on the
  new users' held-out ratings: RMSE, and NDCG@10 of ``recommend`` (relevant: rated ≥ 80% of
  the scale's top). ``cos`` is the mean cosine between a user's folded-in and retrained
  vectors; ``cos aligned`` first rotates the online model's factor space onto the retrain's
  (orthogonal Procrustes on the item factors), because ``P Qᵀ`` is unchanged by a rotation of
  both sides and two trainings are free to differ by one. ``cos same items`` folds each new
  user into the retrained model itself (its own item factors): 1 means the fold-in is the
  very solve training made, and what is left of the gap above is drift of the item side.
* ``store_ingest()``: the durable ingest table of ``bench/store.py`` (SQLite), when present.

Results go to ``bench/results/online.json`` with the machine and the date.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import machine  # noqa: E402  (bench/load.py: the same machine description)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results" / "online.json"
SIZES = (1, 20, 200, 2_000)
FACTORS = (64, 128)
LATENCY_MODELS = ("als", "mf", "mf-tuned")
# (label, registry name, overrides): the last two show why MF folds in by SGD replay
ACCURACY_MODELS = [
    ("als", "als", {}),
    ("mf", "mf", {}),
    ("mf-tuned", "mf-tuned", {}),
    ("mf-bounded", "mf-bounded", {}),
    ("mf ridge", "mf", {"fold_in": "ridge"}),
    ("mf-tuned ridge", "mf-tuned", {"fold_in": "ridge"}),
]
K = 10


def create(name: str, **overrides: Any) -> Any:
    from movierec.models.registry import create as make

    return make(name, **overrides)


def percentiles(seconds: list[float]) -> dict[str, float]:
    micros = np.asarray(seconds) * 1e6
    return {
        "p50_us": round(float(np.median(micros)), 1),
        "p99_us": round(float(np.percentile(micros, 99)), 1),
    }


Call = tuple[Callable[..., None], tuple[Any, ...]]


def timed(calls: list[Call]) -> list[float]:
    """Seconds each ``function(*args)`` took; the arguments were drawn beforehand."""
    out = []
    for function, args in calls:
        started = time.perf_counter()
        function(*args)
        out.append(time.perf_counter() - started)
    return out


# --- latency ------------------------------------------------------------------------------------


def latency_data(root: Path) -> tuple[Any, str]:
    from movierec.data.sources import load_path
    from movierec.data.synthetic import generate

    if (root / "ml-latest-small").is_dir():
        return load_path(root / "ml-latest-small"), "ml-latest-small"
    return generate(610, 9_742, 100_836, seed=0), "synthetic (ml-latest-small's shape)"


def latency_cells(
    model: Any, rng: np.random.Generator, ratings: np.ndarray
) -> dict[str, list[Call]]:
    """Fold-in calls per measured case, each on its own random history."""
    votes = np.asarray(model.movie_votes)
    rated = model.movies.ids[votes > 0]
    users = model.users.ids[:50]

    def draw(pool: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.choice(pool, size, replace=False), rng.choice(ratings, size)

    user, movie = model.fold_in_user, model.fold_in_movie
    cells: dict[str, list[Call]] = {}
    for size in SIZES:
        histories = [draw(rated, size) for _ in range(20)]
        cells[f"user {size}"] = [
            (user, (int(users[i % len(users)]), *histories[i % 20]))
            for i in range(100 if size >= 2_000 else 400)
        ]
    next_user = int(model.users.ids.max()) + 1_000_000
    cells["new user 20"] = [(user, (next_user + i, *draw(rated, 20))) for i in range(400)]
    next_movie = int(model.movies.ids.max()) + 1_000_000
    cells["new movie 20"] = [
        (movie, (next_movie + i, *draw(model.users.ids, 20))) for i in range(200)
    ]
    cells["movie 200"] = [(movie, (int(rated[i]), *draw(model.users.ids, 200))) for i in range(200)]
    return cells


def bench_latency(root: Path, repeats: int, seed: int) -> dict[str, Any]:
    data, label = latency_data(root)
    ratings = data.ratings["rating"].to_numpy()
    rows = []
    for name in LATENCY_MODELS:
        for factors in FACTORS:
            model = create(name, n_factors=factors).fit(data)
            passes: dict[str, list[dict[str, float]]] = {}
            for rep in range(repeats):
                cells = latency_cells(model, np.random.default_rng(seed + rep), ratings)
                for case, calls in cells.items():
                    timed(calls[:5])  # compile, or load from numba's cache
                    passes.setdefault(case, []).append(percentiles(timed(calls[5:])))
            for case, runs in passes.items():
                rows.append(
                    {
                        "model": name,
                        "factors": factors,
                        "case": case,
                        "p50_us": float(np.median([r["p50_us"] for r in runs])),
                        "p99_us": float(np.median([r["p99_us"] for r in runs])),
                        "passes": runs,
                    }
                )
            print(f"latency: {name} at {factors} factors done", file=sys.stderr, flush=True)
    return {
        "dataset": label,
        "ratings": len(data.ratings),
        "movies": len(data.catalog),
        "rows": rows,
    }


# --- accuracy -----------------------------------------------------------------------------------


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation R minimising ‖source·R − target‖ (orthogonal Procrustes)."""
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def ndcg(model: Any, users: np.ndarray, test: Any, threshold: float) -> float:
    from movierec.evaluate import metrics

    lists = [model.recommend(int(u), k=K).movie_ids for u in users]
    recommended, lengths = metrics.stack_rankings(lists, K)
    relevant = metrics.relevant_items(test, threshold)
    return metrics.ranking_scores(users, recommended, lengths, relevant, K).means()["ndcg"]


def bench_accuracy(data: Any, label: str, seed: int) -> list[dict[str, Any]]:
    from movierec.evaluate.metrics import rmse
    from movierec.evaluate.splits import user_temporal

    split = next(user_temporal(data, fraction=0.1))
    train, test = split.train, split.test
    users = np.unique(train.ratings["user_id"].to_numpy())
    new = np.sort(np.random.default_rng(seed).choice(users, len(users) // 10, replace=False))
    is_new = train.ratings["user_id"].isin(new).to_numpy()
    base = dataclasses.replace(train, ratings=train.ratings[~is_new].reset_index(drop=True))
    histories = {
        u: (g["movie_id"].to_numpy(), g["rating"].to_numpy())
        for u, g in train.ratings[is_new].groupby("user_id")
    }
    test = test[test["user_id"].isin(new)]
    truth = test["rating"].to_numpy()
    top = data.scale.high if data.scale else float(data.ratings["rating"].max())
    rows = []
    for name, registered, overrides in ACCURACY_MODELS:
        full = create(registered, **overrides).fit(train)
        online = create(registered, **overrides).fit(base)
        folds = timed([(online.fold_in_user, (int(u), *h)) for u, h in histories.items()])
        unseen = int(
            np.sum(
                np.asarray(online.movie_votes)[online.movies.indices(test["movie_id"].to_numpy())]
                == 0
            )
        )
        rated = np.asarray(online.movie_votes)[: len(full.movies)] > 0
        rotation = procrustes(
            online.item_factors[rated].astype(np.float64),
            full.item_factors[rated].astype(np.float64),
        )
        mine = online.users.indices(new)
        theirs = full.users.indices(new)
        a = online.user_factors[mine].astype(np.float64)
        b = full.user_factors[theirs].astype(np.float64)
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30
        row = {
            "dataset": label,
            "model": name,
            "config": online.config.to_json(),
            "new_users": len(new),
            "test_ratings": len(test),
            "test_on_movies_unrated_before_fold_in": unseen,
            "rmse_full": rmse(truth, full.predict(test["user_id"], test["movie_id"])),
            "rmse_fold_in": rmse(truth, online.predict(test["user_id"], test["movie_id"])),
            "ndcg_full": ndcg(full, new, test, 0.8 * top),
            "ndcg_fold_in": ndcg(online, new, test, 0.8 * top),
            "cos": float(np.mean(np.sum(a * b, axis=1) / norms)),
            "cos_aligned": float(np.mean(np.sum((a @ rotation) * b, axis=1) / norms)),
            "fold_in_p50_us": percentiles(folds)["p50_us"],
        }
        row["rmse_ratio"] = row["rmse_fold_in"] / row["rmse_full"]
        if online.warm_starts:  # the engine's retrains start from the serving model
            warm = create(registered, **overrides).warm_start(online).fit(train)
            w = warm.user_factors[warm.users.indices(new)].astype(np.float64)
            row["cos_warm_retrain"] = float(
                np.mean(
                    np.sum(a * w, axis=1)
                    / (np.linalg.norm(a, axis=1) * np.linalg.norm(w, axis=1) + 1e-30)
                )
            )
            row["rmse_warm_retrain"] = rmse(truth, warm.predict(test["user_id"], test["movie_id"]))
        for user_id, (movie_ids, ratings) in histories.items():  # into the retrain itself
            full.fold_in_user(int(user_id), movie_ids, ratings)
        c = full.user_factors[theirs].astype(np.float64)
        row["cos_same_items"] = float(
            np.mean(
                np.sum(c * b, axis=1)
                / (np.linalg.norm(c, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)
            )
        )
        rows.append(row)
        print(f"accuracy: {label} {name} done", file=sys.stderr, flush=True)
    return rows


# --- the ratings store's ingest (bench/store.py, written separately) --------------------------


def store_ingest(seconds: float) -> dict[str, Any]:
    """HOOK: the durable-ingest table of ``bench/store.py``, when that file exists.

    Runs its SQLite backend only (PostgreSQL needs a server; run ``bench/store.py`` for both)
    and returns its rows, so the write path (store) and the model path (fold-in) can be read
    side by side. Skipped, with a note, when the file or its ``run_backend`` is absent.
    """
    path = Path(__file__).resolve().parent / "store.py"
    if not path.exists():
        return {"status": "skipped: bench/store.py is absent", "rows": []}
    spec = importlib.util.spec_from_file_location("bench_store", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run_backend = getattr(module, "run_backend", None)
    if run_backend is None:
        return {
            "status": "skipped: bench/store.py has no run_backend(); run it by hand",
            "rows": [],
        }
    with tempfile.TemporaryDirectory(prefix="movierec-bench-online-") as folder:
        rows = run_backend("sqlite", str(Path(folder) / "ratings.db"), seconds)
    return {"status": "ok", "seconds": seconds, "rows": rows}


# --- report -------------------------------------------------------------------------------------


def show(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    info, when = result["machine"], result["created_at"]
    latency = result.get("latency")
    if latency:
        table = Table(
            title=f"fold-in latency, µs p50 / p99 — {latency['dataset']}; "
            f"{info['cpu']}, {info['cores']} cores, {when}"
        )
        cases = list(dict.fromkeys(r["case"] for r in latency["rows"]))
        table.add_column("model")
        table.add_column("factors", justify="right")
        for case in cases:
            table.add_column(case, justify="right")
        keys = list(dict.fromkeys((r["model"], r["factors"]) for r in latency["rows"]))
        for model, factors in keys:
            cells = {
                r["case"]: r
                for r in latency["rows"]
                if (r["model"], r["factors"]) == (model, factors)
            }
            table.add_row(
                model,
                str(factors),
                *(f"{cells[c]['p50_us']:,.0f} / {cells[c]['p99_us']:,.0f}" for c in cases),
            )
        console.print(table)
    if result.get("accuracy"):
        table = Table(title="fold-in against a full retrain (new users' held-out last 10%)")
        for name in (
            "dataset",
            "model",
            "users",
            "RMSE full",
            "RMSE fold-in",
            "ratio",
            "NDCG@10 full",
            "NDCG@10 fold-in",
            "cos",
            "cos aligned",
            "cos same items",
            "cos warm retrain",
            "fold-in p50 µs",
        ):
            table.add_column(name, justify="left" if name in ("dataset", "model") else "right")
        for r in result["accuracy"]:
            table.add_row(
                r["dataset"],
                r["model"],
                str(r["new_users"]),
                f"{r['rmse_full']:.4f}",
                f"{r['rmse_fold_in']:.4f}",
                f"{r['rmse_ratio']:.3f}",
                f"{r['ndcg_full']:.4f}",
                f"{r['ndcg_fold_in']:.4f}",
                f"{r['cos']:.3f}",
                f"{r['cos_aligned']:.3f}",
                f"{r['cos_same_items']:.3f}",
                f"{r['cos_warm_retrain']:.3f}" if "cos_warm_retrain" in r else "—",
                f"{r['fold_in_p50_us']:,.0f}",
            )
        console.print(table)
    store = result.get("store_ingest")
    if store is not None:
        console.print(f"store ingest (bench/store.py): {store['status']}")
        for r in store["rows"]:
            console.print(
                f"  {r['backend']:<8} {r['writers']} writer(s) {r['mode']:<10} "
                f"{r['ratings_per_s']:>10,.0f} ratings/s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="latency passes per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="real datasets folder")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--store-seconds", type=float, default=2.0)
    args = parser.parse_args()
    info = {**machine(), "load_average_1m": round(os.getloadavg()[0], 2)}
    when = datetime.now(UTC).isoformat(timespec="seconds")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, load average "
        f"{info['load_average_1m']} (other work skews latencies); {when}",
        flush=True,
    )
    result: dict[str, Any] = {"created_at": when, "machine": info, "k": K}
    if not args.skip_latency:
        result["latency"] = bench_latency(args.data, args.repeats, args.seed)
    if not args.skip_accuracy:
        from movierec.data.sources import load_path

        result["accuracy"] = []
        for name in ("ml-100k-recbole", "ml-latest-small"):
            if (args.data / name).is_dir():
                result["accuracy"] += bench_accuracy(load_path(args.data / name), name, args.seed)
            else:
                print(f"accuracy: {name} skipped, {args.data / name} is absent", file=sys.stderr)
    if not args.skip_store:
        result["store_ingest"] = store_ingest(args.store_seconds)
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    show(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
