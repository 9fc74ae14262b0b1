"""The full MovieLens scale on one machine: load, train, evaluate and serve at 1M, 10M and 33.8M.

Run by hand (about an hour on 2 cores with every size; ``--sizes 1M,10M`` for a quicker look):
``.venv/bin pip install -e ".[bench,spark,serve]"`` then ``.venv/bin/python bench/scale.py
[--sizes 1M,10M,33.8M] [--peers implicit,surprise] [--spark-sizes 1M,10M]
[--evaluate-sizes 1M,10M] [--home PATH]``.

Each size is a seeded synthetic set shaped like MovieLens latest (``movierec data synth``: power-law
activity and popularity, 330,975 users and 86,537 movies at 33.8M ratings). Every step runs as a
child process, so its figures are its own: wall seconds, and the peak of the resident memory of
its whole process tree (the child, its workers and Spark's JVM), sampled every 50 ms with psutil.

* **load**: ``movierec data synth`` (generate and store as Parquet), then ``movierec data info``
  (read the stored set back).
* **train**: ``movierec train --model mf`` (100 factors, 20 epochs) and ``--model als`` (50
  factors, 15 iterations), loading included; "fit s" is the fit alone (the version's manifest),
  "per iteration" the fit over its epochs/iterations.
* **peers, same data, same run**: implicit's ``AlternatingLeastSquares`` at als's factor count and
  iterations (its CSR build timed apart), and Surprise's ``SVD`` at mf's factors and epochs (its
  ``build_full_trainset`` timed apart). implicit fits implicit feedback, a different objective
  from our explicit ALS: the per-iteration time compares the machinery, not the models.
* **Spark** (``--spark-sizes``): ``movierec train --engine spark --master local[2] --model als``,
  the JVM's memory included.
* **evaluate** (``--evaluate-sizes``): ``movierec evaluate --split temporal --models als`` (one
  fold: the last 20% of ratings by time), RMSE and NDCG@10 over every test user.
* **serve**: ``movierec serve`` on the als model, with its default workers (one per core) and
  with one (``--serve-workers``): seconds until it answers (warm), then ``GET /users/{u}/
  recommendations?k=10`` (and ``&reasons=false``) for random users from 8 connections for
  ``--seconds`` each (bench/serve.py's load generator), and the server tree's resident memory
  after (RSS summed, and PSS: pages shared between workers, such as the memory-mapped model,
  counted once). The first start also copies the ratings into the store (``ratings.db``); that
  start is timed apart.

Results: tables on stdout and ``bench/results/scale.json`` (machine, date, versions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from load import machine, write_results  # noqa: E402  (bench/load.py)
from serve import (  # noqa: E402
    Target,
    free_port,
    process_tree,
    run_cell,
    start_server,
    tree_memory,
)

RESULTS = REPO / "bench" / "results" / "scale.json"
MOVIEREC = str(Path(sys.executable).with_name("movierec"))
MF = {"factors": 100, "epochs": 20}  # the registry's mf
ALS = {"factors": 50, "iterations": 15}  # the registry's als


def tree_peak(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command``; its wall seconds, exit code, stdout, and the peak resident memory of
    its process tree in GB (sampled every 50 ms)."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        total = 0
        for member in process_tree(process.pid):
            with contextlib.suppress(psutil.Error):
                total += member.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.05)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        print(f"failed: {' '.join(command)}\n{err[-3000:]}", file=sys.stderr)
    return {
        "seconds": round(seconds, 2),
        "peak_gb": round(peak / 1e9, 3),
        "ok": process.returncode == 0,
        "stdout": out,
    }


def movierec(home: Path, *arguments: str) -> dict[str, Any]:
    result = tree_peak([MOVIEREC, *arguments, "--home", str(home)], {"MOVIEREC_NO_PROGRESS": "1"})
    print(
        f"  movierec {' '.join(arguments)}: {result['seconds']} s, {result['peak_gb']} GB"
        + ("" if result["ok"] else "  FAILED"),
        file=sys.stderr,
        flush=True,
    )
    return result


def fit_seconds(home: Path, dataset: str, model: str) -> float | None:
    """The fit time the current version's manifest records (loading not included)."""
    root = home / "models" / dataset / model
    marker = root / "CURRENT"
    if not marker.exists():
        return None
    manifest = json.loads((root / marker.read_text().strip() / "manifest.json").read_text())
    return manifest.get("metrics", {}).get("fit_seconds")


# --- the peers, each in a child process (--peer) ----------------------------------------------


def peer_implicit(parquet: Path) -> dict[str, Any]:
    import implicit
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    import scipy.sparse as sp

    ratings = pq.read_table(parquet, columns=["user_id", "movie_id", "rating"]).to_pandas()
    started = time.perf_counter()
    users, _ = pd.factorize(ratings["user_id"])
    movies, _ = pd.factorize(ratings["movie_id"])
    matrix = sp.csr_matrix(
        (ratings["rating"].to_numpy(np.float32), (users, movies)),
        shape=(users.max() + 1, movies.max() + 1),
    )
    setup = time.perf_counter() - started
    model = implicit.cpu.als.AlternatingLeastSquares(
        factors=ALS["factors"],
        iterations=ALS["iterations"],
        regularization=0.1,
        random_state=0,
        calculate_training_loss=False,
    )
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit = time.perf_counter() - started
    return {"setup_s": round(setup, 2), "fit_s": round(fit, 2)}


def peer_surprise(parquet: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from surprise import SVD, Dataset, Reader

    ratings = pq.read_table(parquet, columns=["user_id", "movie_id", "rating"]).to_pandas()
    started = time.perf_counter()
    data = Dataset.load_from_df(ratings, Reader(rating_scale=(0.5, 5.0)))
    trainset = data.build_full_trainset()
    setup = time.perf_counter() - started
    started = time.perf_counter()
    SVD(n_factors=MF["factors"], n_epochs=MF["epochs"], random_state=0).fit(trainset)
    fit = time.perf_counter() - started
    return {"setup_s": round(setup, 2), "fit_s": round(fit, 2)}


def peer(name: str, parquet: Path) -> dict[str, Any]:
    result = tree_peak([sys.executable, __file__, "--peer", name, "--parquet", str(parquet)])
    figures = json.loads(result["stdout"].strip().splitlines()[-1]) if result["ok"] else {}
    print(
        f"  {name}: {result['seconds']} s, {result['peak_gb']} GB {figures}",
        file=sys.stderr,
        flush=True,
    )
    return {"seconds": result["seconds"], "peak_gb": result["peak_gb"], "ok": result["ok"]} | (
        figures
    )


# --- one size ---------------------------------------------------------------------------------


def serve(home: Path, dataset: str, seconds: float, workers: str) -> dict[str, Any]:
    """`movierec serve` (``workers``: "auto", its default, or a count): first start (the store
    initialised if it is new), second start, recommendations at c=8, the tree's memory."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = home / "datasets" / dataset
    users = pq.read_table(folder / "ratings.parquet", columns=["user_id"])["user_id"]
    movies = pq.read_table(folder / "catalog.parquet", columns=["movie_id"])["movie_id"]
    target = Target(home, dataset, int(pc.max(users).as_py()), int(pc.max(movies).as_py()))
    command = [MOVIEREC, "serve", "--home", str(home), "--dataset", dataset]
    command += ["--log-level", "warning"] + ([] if workers == "auto" else ["--workers", workers])
    starts = []
    cell: dict[str, Any] = {}
    memory: dict[str, float] = {}
    for attempt in range(2):
        port = free_port()
        # the first start copies the ratings into the store: minutes at 33.8M
        server, start_s = start_server(
            target, port, command, retrain_after=1_000_000, timeout=1800.0
        )
        starts.append(round(start_s, 2))
        try:
            if attempt == 1:
                load = argparse.Namespace(
                    seconds=seconds, max_requests=1_000_000, warmup=2.0, seed=0
                )
                cell = run_cell(port, "recommend", 8, target, load)
                lite = run_cell(port, "recommend-lite", 8, target, load)
                cell |= {f"lite_{key}": lite[key] for key in ("rps", "p50_ms", "p99_ms")}
                memory = tree_memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"  serve ({workers}): starts {starts} s, {cell}, {memory}", file=sys.stderr, flush=True)
    return {"workers": workers, "first_start_s": starts[0], "start_s": starts[1], **cell, **memory}


def one_size(size: str, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    name = f"synth-{size}"
    print(f"{size}:", file=sys.stderr, flush=True)
    row: dict[str, Any] = {
        "size": size,
        "dataset": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    row["synth"] = movierec(home, "data", "synth", "--ratings", size, "--name", name, "-q")
    row["info"] = movierec(home, "data", "info", "--dataset", name, "--json")
    info = json.loads(row["info"].pop("stdout") or "{}")
    row["synth"].pop("stdout")
    row["ratings"] = info.get("ratings")
    row["users"] = info.get("users")
    row["movies"] = info.get("movies")
    parquet = home / "datasets" / name / "ratings.parquet"
    if size in args.spark_sizes:  # first: our als, trained next, is then the version served
        result = movierec(
            home, "train", "--model", "als", "--engine", "spark", "--no-default", "--dataset", name
        )
        result.pop("stdout")
        row["spark"] = result | {"fit_s": fit_seconds(home, name, "als")}
    for model, steps in (("mf", MF["epochs"]), ("als", ALS["iterations"])):
        # als last, and the default: the model the service serves
        result = movierec(home, "train", "--model", model, "--dataset", name, "-q")
        result.pop("stdout")
        fit = fit_seconds(home, name, model)
        row[model] = result | {
            "fit_s": fit,
            "per_iteration_s": round(fit / steps, 3) if fit else None,
        }
    for peer_name in args.peers:
        row[peer_name] = peer(peer_name, parquet)
    if size in args.evaluate_sizes:
        result = movierec(
            home, "evaluate", "--dataset", name, "--models", "als", "--split", "temporal", "--json"
        )
        document = json.loads(result.pop("stdout") or "{}") if result["ok"] else {}
        scores = {}
        for model in document.get("models", []):
            summary = model.get("summary", {})
            scores = {key: summary.get(key, {}).get("mean") for key in ("rmse", "ndcg")}
        row["evaluate"] = result | scores
    row["serve"] = [serve(home, name, args.seconds, workers) for workers in args.serve_workers]
    return row


def _round(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def show(rows: list[dict[str, Any]]) -> None:
    def cell(part: dict[str, Any] | None, key: str = "seconds") -> str:
        if not part or not part.get("ok", True):
            return "—"
        return f"{part.get(key)}"

    print("\nsize   ratings     step              seconds   peak GB   notes")
    for row in rows:
        lines = [
            ("synth + store", row["synth"], ""),
            ("load (data info)", row["info"], ""),
            ("train mf", row["mf"], f"fit {row['mf'].get('fit_s')} s"),
            ("train als", row["als"], f"{row['als'].get('per_iteration_s')} s/iteration"),
        ]
        if "implicit" in row:
            part = row["implicit"]
            per = round(part["fit_s"] / ALS["iterations"], 3) if part.get("fit_s") else None
            lines.append(("implicit ALS", part, f"{per} s/iteration"))
        if "surprise" in row:
            lines.append(("Surprise SVD", row["surprise"], f"fit {row['surprise'].get('fit_s')} s"))
        if "spark" in row:
            lines.append(("Spark ALS local[2]", row["spark"], f"fit {row['spark'].get('fit_s')} s"))
        if "evaluate" in row:
            part = row["evaluate"]
            lines.append(
                (
                    "evaluate als",
                    part,
                    f"RMSE {_round(part.get('rmse'))}, NDCG@10 {_round(part.get('ndcg'))}",
                )
            )
        for step, part, note in lines:
            print(
                f"{row['size']:6} {row['ratings'] or 0:>11,} {step:18} {cell(part):>8} "
                f"{cell(part, 'peak_gb'):>8}   {note}"
            )
        for s in row["serve"]:
            print(
                f"{row['size']:6} {row['ratings'] or 0:>11,} {'serve, ' + s['workers']:18} "
                f"{s.get('start_s'):>8} {s.get('rss_gb'):>8}   first start "
                f"{s.get('first_start_s')} s; c=8: {s.get('rps')} req/s, p50 {s.get('p50_ms')} / "
                f"p99 {s.get('p99_ms')} ms (no reasons: {s.get('lite_rps')} req/s, p99 "
                f"{s.get('lite_p99_ms')} ms); PSS {s.get('pss_gb')} GB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,10M,33.8M")
    parser.add_argument("--peers", default="implicit,surprise", help="'' for none")
    parser.add_argument("--spark-sizes", default="1M,10M")
    parser.add_argument("--evaluate-sizes", default="1M,10M")
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per serve cell")
    parser.add_argument(
        "--serve-workers", default="auto,1", help="server worker counts (auto: its default)"
    )
    parser.add_argument("--home", type=Path, default=None, help="keep the sets here (a temp dir)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the sizes already in --output that this run does not measure",
    )
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        figures = {"implicit": peer_implicit, "surprise": peer_surprise}[args.peer](args.parquet)
        sys.stdout.write(json.dumps(figures) + "\n")
        return
    args.peers = [p for p in args.peers.split(",") if p]
    args.serve_workers = args.serve_workers.split(",")
    args.spark_sizes = args.spark_sizes.split(",")
    args.evaluate_sizes = args.evaluate_sizes.split(",")
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    if args.append and args.output.exists():
        sizes = args.sizes.split(",")
        kept = [r for r in json.loads(args.output.read_text())["results"] if r["size"] not in sizes]
    with tempfile.TemporaryDirectory(prefix="movierec-scale-") as tmp:
        home = args.home or Path(tmp)
        for size in args.sizes.split(","):
            rows.append(one_size(size, home, args))
            write_results(
                args.output,
                {
                    "benchmark": "scale",
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": machine(),
                    "settings": {"mf": MF, "als": ALS, "sizes": args.sizes},
                    "results": kept + rows,
                },
            )
    show(kept + rows)


if __name__ == "__main__":
    main()
