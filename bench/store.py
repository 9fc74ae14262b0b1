"""Ratings-store benchmark: durable ingest throughput of SQLite and PostgreSQL.

Run by hand (a minute or two): ``.venv/bin/python bench/store.py [--seconds 4]
[--postgres URL]``. Without ``--postgres`` a throw-away server is started on loopback
(``tests/store/pgserver.py``; needs Debian's ``postgresql`` package), with ``fsync`` on: the
point is what a *durable* write costs.

For each backend it measures:

* ``initialise``: the bulk load of a base dataset of 100,000 ratings (executemany / COPY);
* ingest with 1 and 4 writer processes, each either committing every rating on its own
  (``add_rating``: one fsync per rating) or in batches of 1,000 (``add_ratings``), for a fixed
  time. Every write is a new (user, movie) pair, and writers use disjoint users.

Throughput is ratings acknowledged / wall time from the common start to the last writer's end.
Results go to ``bench/results/store.json`` with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))
from load import machine  # noqa: E402  (bench/load.py: the same machine description)

RESULTS = REPO / "bench" / "results" / "store.json"
DATASET = "bench"
N_USERS, N_MOVIES, N_RATINGS = 943, 1_682, 100_000  # ml-100k's shape
BATCH = 1_000
WRITER_USERS = 1_000_000  # each writer of each run has its own block of user ids: new pairs


def base_dataset() -> Any:
    from movierec.data.dataset import HALF_STARS, Dataset

    rng = np.random.default_rng(0)
    pairs = rng.choice(N_USERS * N_MOVIES, N_RATINGS, replace=False)
    ratings = pd.DataFrame(
        {
            "user_id": pairs // N_MOVIES + 1,
            "movie_id": pairs % N_MOVIES + 1,
            "rating": rng.integers(1, 11, N_RATINGS) / 2,
            "timestamp": rng.integers(880_000_000, 890_000_000, N_RATINGS),
        }
    )
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(1, N_MOVIES + 1),
            "title": [f"Movie {i}" for i in range(1, N_MOVIES + 1)],
            "year": 1995,
            "genres": [["Drama"]] * N_MOVIES,
        }
    )
    return Dataset(DATASET, catalog, ratings, scale=HALF_STARS)


# --- worker side: one writer process -------------------------------------------------------------


def worker(location: str, first_user: int, mode: str, start_at: float, seconds: float) -> None:
    """Write from ``start_at`` for ``seconds``; print a JSON line of what was acknowledged."""
    from movierec.store import open_store

    with open_store(location, DATASET, timeout=60) as store:
        store.scale()  # connect and cache before the clock starts
        i = written = 0
        while time.time() < start_at:
            time.sleep(0.001)
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            if mode == "single":
                store.add_rating(first_user + i // N_MOVIES, i % N_MOVIES + 1, 3.5, 1_000)
                i += 1
                written += 1
            else:
                index = np.arange(i, i + BATCH)
                frame = pd.DataFrame(
                    {
                        "user_id": first_user + index // N_MOVIES,
                        "movie_id": index % N_MOVIES + 1,
                        "rating": 3.5,
                        "timestamp": 1_000,
                    }
                )
                store.add_ratings(frame)
                i += BATCH
                written += BATCH
        elapsed = time.perf_counter() - started
    print(json.dumps({"written": written, "seconds": elapsed}), flush=True)


# --- parent side ----------------------------------------------------------------------------------


def ingest(location: str, run: int, writers: int, mode: str, seconds: float) -> dict[str, Any]:
    start_at = time.time() + 2.0  # time for every process to import and connect
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                location,
                str((run * 4 + w + 1) * WRITER_USERS),
                mode,
                str(start_at),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    outputs = [proc.communicate(timeout=seconds + 120) for proc in procs]
    reports = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"writer failed: {err[-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    written = sum(r["written"] for r in reports)
    wall = max(r["seconds"] for r in reports)
    return {
        "writers": writers,
        "mode": mode,
        "ratings": written,
        "seconds": round(wall, 2),
        "ratings_per_s": round(written / wall, 1),
    }


def run_backend(name: str, location: str, seconds: float) -> list[dict[str, Any]]:
    from movierec.store import open_store

    rows = []
    with open_store(location, DATASET) as store:
        started = time.perf_counter()
        loaded = store.initialise(base_dataset())
        took = time.perf_counter() - started
    rows.append(
        {
            "backend": name,
            "writers": 1,
            "mode": "initialise",
            "ratings": loaded,
            "seconds": round(took, 2),
            "ratings_per_s": round(loaded / took, 1),
        }
    )
    print(f"{name}: initialise {loaded} ratings in {took:.2f} s", file=sys.stderr)
    runs = [(writers, mode) for writers in (1, 4) for mode in ("single", "batch")]
    for run, (writers, mode) in enumerate(runs):
        result = {"backend": name, **ingest(location, run, writers, mode, seconds)}
        print(
            f"{name}: {writers} writer(s), {mode}: {result['ratings_per_s']:,.0f}/s",
            file=sys.stderr,
        )
        rows.append(result)
    with open_store(location, DATASET) as store:
        written = sum(r["ratings"] for r in rows if r["mode"] != "initialise")
        assert store.last_seq() == written, "sequence and acknowledged writes disagree"
        assert len(store.all_ratings()) == N_RATINGS + written, "acknowledged ratings missing"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per ingest measurement")
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: a throw-away server)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="movierec-bench-store-") as folder:
        rows += run_backend("sqlite", str(Path(folder) / "ratings.db"), args.seconds)
    server = None
    if not args.skip_postgres:
        url = args.postgres
        if url is None:
            from tests.store.pgserver import PostgresUnavailable, ThrowawayPostgres

            try:
                server = ThrowawayPostgres(fsync=True).init()
                url = server.create_database("bench")
            except PostgresUnavailable as exc:
                print(f"postgres skipped: {exc}", file=sys.stderr)
        try:
            if url:
                rows += run_backend("postgres", url, args.seconds)
        finally:
            if server is not None:
                server.destroy()

    print(
        f"\n{'backend':<9} {'writers':>7} {'mode':<11} {'ratings':>9} {'seconds':>8} "
        f"{'ratings/s':>11}"
    )
    for r in rows:
        print(
            f"{r['backend']:<9} {r['writers']:>7} {r['mode']:<11} {r['ratings']:>9} "
            f"{r['seconds']:>8.2f} {r['ratings_per_s']:>11,.0f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "settings": {
                    "seconds": args.seconds,
                    "batch": BATCH,
                    "base_ratings": N_RATINGS,
                    "sqlite": "WAL, synchronous=FULL",
                    "postgres": "fsync=on, synchronous_commit=on",
                },
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten to {RESULTS.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        location, first_user, mode, start_at, seconds = sys.argv[2:7]
        worker(location, int(first_user), mode, float(start_at), float(seconds))
    else:
        main()
