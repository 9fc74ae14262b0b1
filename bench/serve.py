"""HTTP service benchmark: throughput and latency of a real uvicorn server on loopback.

Run by hand (a few minutes): ``.venv/bin/python bench/serve.py [--seconds 4]
[--configs plain,fast,fast-2w] [--concurrency 1,8,32]``.

ml-100k (``../shared/data/ml-100k-recbole``) is stored in a temporary home and ALS is trained
once, so every server start loads the same model. For each server configuration

* ``plain``: ``uvicorn`` with its default asyncio loop and h11 parser, one worker;
* ``fast``: ``--loop uvloop --http httptools`` (when installed), one worker;
* ``fast-2w``: the same with ``--workers 2`` (each worker holds its own model: a rating folds in
  at once only in the worker that took it);
* ``default``: `movierec serve` exactly as `make run` starts it; ``default-nocache`` the same with
  ``MOVIEREC_ANSWER_CACHE=0``, every answer computed afresh (the figure for users asking for the
  first time; ``default`` answers a repeated question from the answers each worker keeps);
  ``nocache-1t``/``-2t``/``-4t`` and ``default-1t``/``-2t``/``-4t`` with that many request
  threads per worker;

a server is started as a subprocess on a free loopback port, and a separate load-generating
process (asyncio, raw HTTP/1.1 keep-alive connections: a client far cheaper than the server,
so the figures are the server's) drives it with ``C`` concurrent connections, each sending its
next request when the last answer arrived (closed loop), for at most ``--seconds`` or
``--max-requests`` per cell, after an unmeasured warm-up. Scenarios:

* ``recommend``: ``GET /users/{u}/recommendations?k=10``, random ml-100k users, with reasons;
* ``recommend-lite``: the same with ``reasons=false`` (no "because you rated …");
* ``similar``: ``GET /movies/{m}/similar?by=collab&k=10``, random movies;
* ``search``: ``GET /movies/search?q=…&k=5``, typed titles (some with a year, some misspelt);
* ``rate``: ``POST /users/{u}/ratings`` with the admin key: stored durably (SQLite WAL,
  ``synchronous=FULL``) and folded in before the answer;
* ``genres``: ``GET /genres``, next to no work: the framework's own ceiling on this machine.

Each server runs its handlers in a pool of ``MOVIEREC_REQUEST_THREADS`` threads (default 4:
the engine's work holds the GIL, and 40 threads fighting for it doubled p99 here); ``--threads``
caps the BLAS/OpenMP/numba pools per server process. Server and load generator share the
machine's cores, as they would on one small host. The
background retrain is pushed out of the measurement (``MOVIEREC_RETRAIN_AFTER_RATINGS``, default
1,000,000) so every cell measures serving, not a concurrent fit. Results go to
``bench/results/serve.json`` with the machine and the date.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import machine  # noqa: E402  (bench/load.py: the same machine description)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results" / "serve.json"
ADMIN_KEY = "bench-admin-key"
SCENARIOS = ("recommend", "recommend-lite", "similar", "search", "rate", "genres")
QUERIES = [
    "star wars",
    "toy story 1995",
    "godfather",
    "alien",
    "casablanca",
    "pulp fiction",
    "the shawshank redemption",
    "fargo",
    "titanic 1997",
    "jurassic park",
    "terminator",
    "raiders of the lost ark",
    "braveheart",
    "twelve monkeys",
    "schindlers list",
    "silence of the lambs",
    "forest gump",
    "aladin",
    "lion king",
    "the usual suspects",
    "return of the jedi",
    "independence day",
    "mission impossible",
    "scream",
    "contact",
]


# --- the load generator (runs in its own process) ------------------------------------------------


def request_bytes(scenario: str, rng: random.Random, users: int = 943, movies: int = 1682) -> bytes:
    """One HTTP/1.1 keep-alive request of a scenario, random but valid (ids 1..users and
    1..movies: ml-100k's, or a synthetic dataset's)."""
    if scenario == "recommend":
        target, body = f"/users/{rng.randint(1, users)}/recommendations?k=10", b""
    elif scenario == "recommend-lite":
        target, body = f"/users/{rng.randint(1, users)}/recommendations?k=10&reasons=false", b""
    elif scenario == "genres":
        target, body = "/genres", b""
    elif scenario == "similar":
        target, body = f"/movies/{rng.randint(1, movies)}/similar?by=collab&k=10", b""
    elif scenario == "search":
        query = rng.choice(QUERIES).replace(" ", "+")
        target, body = f"/movies/search?q={query}&k=5", b""
    else:
        target = f"/users/{rng.randint(1, users)}/ratings"
        body = json.dumps(
            {"movie_id": rng.randint(1, movies), "rating": rng.randint(1, 5)}
        ).encode()
    if not body:
        return f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    return (
        f"POST {target} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"X-Admin-Key: {ADMIN_KEY}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _connection(
    port: int,
    scenario: str,
    ids: tuple[int, int],
    seed: int,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    failures: list[int],
) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            payload = request_bytes(scenario, rng, *ids)
            started = time.perf_counter()
            writer.write(payload)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.split(b" ")[1].startswith(b"2"):
                failures.append(int(status_line.split(b" ")[1]))
    finally:
        writer.close()


async def _drive(
    port: int,
    scenario: str,
    ids: tuple[int, int],
    concurrency: int,
    seconds: float,
    max_requests: int,
    seed: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[int] = []
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(port, scenario, ids, seed * 1000 + i, deadline, budget, latencies, failures)
            for i in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1e3
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 2) if len(ms) else None,
        "errors": len(failures),
        "error_statuses": sorted(set(failures)),
    }


def loadgen(args: argparse.Namespace) -> None:
    """Entry point of the load-generating process: one JSON line on stdout."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    ids = (args.users, args.movies)
    if args.warmup:
        asyncio.run(_drive(args.port, args.scenario, ids, 1, args.warmup, 200, args.seed + 99))
    result = asyncio.run(
        _drive(
            args.port,
            args.scenario,
            ids,
            args.concurrency,
            args.seconds,
            args.max_requests,
            args.seed,
        )
    )
    sys.stdout.write(json.dumps(result) + "\n")


# --- the driver ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The home and dataset the servers load, and the id ranges requests draw from."""

    home: Path
    dataset: str
    users: int
    movies: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(root: Path, model: str) -> Target:
    """A home with ml-100k stored and ``model`` trained once (servers load it, never fit it)."""
    from movierec.data.sources import load_path
    from movierec.data.storage import save_dataset
    from movierec.engine.core import Engine
    from movierec.home import Home

    folder = SHARED_DATA / "ml-100k-recbole"
    if not folder.is_dir():
        sys.exit(f"needs {folder} (the real MovieLens 100k); it is absent")
    home = Home(root / "home")
    save_dataset(load_path(folder, "ml-100k"), home)
    engine = Engine.open(home, "ml-100k")
    engine.train(model)
    engine.online()  # initialise the store once, before any worker races to
    engine.online().store.close()
    return Target(home.root, "ml-100k", 943, 1682)


def existing(home: Path, dataset: str) -> Target:
    """A home prepared by hand (``movierec data synth`` + ``movierec train``): its id ranges."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = home / "datasets" / dataset
    if not (folder / "ratings.parquet").exists():
        sys.exit(f"no dataset {dataset!r} stored in {home}")
    users = pq.read_table(folder / "ratings.parquet", columns=["user_id"])["user_id"]
    movies = pq.read_table(folder / "catalog.parquet", columns=["movie_id"])["movie_id"]
    return Target(home, dataset, int(pc.max(users).as_py()), int(pc.max(movies).as_py()))


def start_server(
    target: Target,
    port: int,
    command: list[str],
    retrain_after: int,
    threads: int | None = None,
    timeout: float = 300.0,
) -> tuple[subprocess.Popen, float]:
    """Start a server; returns it and the seconds until it answered /healthz (warm: the
    service loads and warms everything before it answers) within ``timeout`` s."""
    pools = (
        {}
        if threads is None
        else {
            name: str(threads)
            for name in (
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS",
            )
        }
    )
    env = {
        **os.environ,
        **pools,
        "MOVIEREC_HOME": str(target.home),
        "MOVIEREC_DATASET": target.dataset,
        "MOVIEREC_ADMIN_KEY": ADMIN_KEY,
        "MOVIEREC_RETRAIN_AFTER_RATINGS": str(retrain_after),
        "MOVIEREC_NO_PROGRESS": "1",
    }
    command = [*command, "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, cwd=REPO)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}: {' '.join(command)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit(f"the server did not answer /healthz within {timeout:.0f} s")


def process_tree(pid: int) -> list[Any]:
    """A process and all its descendants (psutil processes; empty once it is gone)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def tree_memory(pid: int) -> dict[str, float]:
    """Resident memory of a server and its workers, GB: RSS summed, and PSS summed (pages
    shared between workers, such as memory-mapped model arrays, counted once)."""
    import psutil

    rss = pss = 0
    for process in process_tree(pid):
        with contextlib.suppress(psutil.Error):
            info = process.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return {"rss_gb": round(rss / 1e9, 3), "pss_gb": round(pss / 1e9, 3)}


def configs(names: list[str], target: Target) -> list[tuple[str, list[str]]]:
    """The server command of each configuration; ``default`` is `movierec serve` as `make run`
    starts it, with every option left at its default."""
    fast_ok = all(importlib.util.find_spec(m) for m in ("uvloop", "httptools"))
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "movierec.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    fast = ["--loop", "uvloop", "--http", "httptools"]
    default = [
        str(Path(sys.executable).with_name("movierec")),
        "serve",
        "--home",
        str(target.home),
        "--dataset",
        target.dataset,
        "--log-level",
        "warning",
    ]
    table = {
        "default": default,
        "plain": [*uvicorn, "--loop", "asyncio", "--http", "h11"],
        # `make run`'s server computing every answer afresh (no answers kept between ratings)
        "default-nocache": ["env", "MOVIEREC_ANSWER_CACHE=0", *default],
        "nocache-1t": ["env", "MOVIEREC_ANSWER_CACHE=0", "MOVIEREC_REQUEST_THREADS=1", *default],
        "nocache-2t": ["env", "MOVIEREC_ANSWER_CACHE=0", "MOVIEREC_REQUEST_THREADS=2", *default],
        "nocache-4t": ["env", "MOVIEREC_ANSWER_CACHE=0", "MOVIEREC_REQUEST_THREADS=4", *default],
        "default-1t": ["env", "MOVIEREC_REQUEST_THREADS=1", *default],
        "default-2t": ["env", "MOVIEREC_REQUEST_THREADS=2", *default],
        "default-4t": ["env", "MOVIEREC_REQUEST_THREADS=4", *default],
        "fast": [*uvicorn, *fast],
        "fast-2w": [*uvicorn, *fast, "--workers", "2"],
        "plain-2w": [*uvicorn, "--loop", "asyncio", "--http", "h11", "--workers", "2"],
    }
    chosen = []
    for name in names:
        if name.startswith("fast") and not fast_ok:
            print(f"skipping {name}: uvloop/httptools are not installed", file=sys.stderr)
            continue
        chosen.append((name, table[name]))
    return chosen


def run_cell(
    port: int, scenario: str, concurrency: int, target: Target, args: argparse.Namespace
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--loadgen",
        "--port",
        str(port),
        "--scenario",
        scenario,
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(args.seconds),
        "--max-requests",
        str(args.max_requests),
        "--warmup",
        str(args.warmup),
        "--seed",
        str(args.seed),
        "--users",
        str(target.users),
        "--movies",
        str(target.movies),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=args.seconds + args.warmup + 60
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(target: Target, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every configuration × scenario × concurrency cell against ``target``."""
    levels = [int(c) for c in args.concurrency.split(",")]
    rows = []
    for name, command in configs(args.configs.split(","), target):
        port = free_port()
        server, start_s = start_server(target, port, command, args.retrain_after, args.threads)
        print(f"{name:8} started in {start_s:.1f} s", file=sys.stderr, flush=True)
        try:
            for scenario in args.scenarios.split(","):
                for concurrency in levels:
                    cell = run_cell(port, scenario, concurrency, target, args)
                    memory = tree_memory(server.pid)
                    rows.append(
                        {
                            "server": name,
                            "scenario": scenario,
                            "concurrency": concurrency,
                            "start_s": round(start_s, 2),
                            **cell,
                            **memory,
                        }
                    )
                    print(
                        f"{name:8} {scenario:14} c={concurrency:<3} {cell['rps']:>8.1f} "
                        f"req/s  p50 {cell['p50_ms']:>7} ms  p99 {cell['p99_ms']:>7} ms"
                        f"  errors {cell['errors']}  RSS {memory['rss_gb']} GB",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per cell")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--configs", default="default,default-nocache,plain,fast,fast-2w")
    parser.add_argument(
        "--model", default="hybrid", help="model trained for ml-100k (`make run` trains hybrid)"
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="serve a home prepared by hand instead of ml-100k (its DEFAULT model)",
    )
    parser.add_argument("--dataset", default="synthetic", help="the dataset of --home")
    parser.add_argument("--retrain-after", type=int, default=1_000_000)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP/numba threads per server process (default: theirs)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=943, help=argparse.SUPPRESS)
    parser.add_argument("--movies", type=int, default=1682, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        args.concurrency = int(args.concurrency)
        loadgen(args)
        return
    if args.home is not None:
        target = existing(args.home.resolve(), args.dataset)
        rows = measure(target, args)
    else:
        with tempfile.TemporaryDirectory(prefix="movierec-serve-bench-") as tmp:
            target = prepare(Path(tmp), args.model)
            rows = measure(target, args)
    print(
        f"\n{'server':8} {'scenario':14} {'conc':>4} {'req/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'start s':>7} {'RSS GB':>6} {'PSS GB':>6}"
    )
    for r in rows:
        print(
            f"{r['server']:8} {r['scenario']:14} {r['concurrency']:>4} {r['rps']:>9.1f} "
            f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6} {r['start_s']:>7} "
            f"{r['rss_gb']:>6} {r['pss_gb']:>6}"
        )
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("loadgen", "port", "scenario", "users", "movies")
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "benchmark": "serve",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "dataset": target.dataset,
                "settings": settings,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
