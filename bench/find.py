"""Search-by-description benchmark: index build time and query latency, both backends.

Run by hand (several minutes on 2 cores): ``.venv/bin/python bench/find.py [--queries 200]``.

For each real catalog in ``../shared/data`` (the-movies-dataset: 45,853 movies, the largest; and
tmdb-10k, the largest whose copy here has overviews) and each backend (the all-MiniLM-L6-v2
sentence model; the TF-IDF fallback), it times:

* ``build``: :meth:`DescriptionIndex.build` over the whole catalog, once (the sentence model's
  load is timed apart);
* ``query``: :meth:`Engine.find` for ~200 varied descriptions, query embedding included,
  unfiltered: median, p95 and p99;
* ``filtered``: the same with a genre + years filter (:meth:`Engine.candidates` + the index
  query); a catalog without genres or years gets a random fifth of its movies instead.

Results go to ``bench/results/find.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import machine  # noqa: E402  (bench/load.py: the same machine description)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results" / "find.json"
K = 10
DATASETS = ("the-movies-dataset", "tmdb-10k")
FILTER = {"genres": "Drama,Comedy", "years": "1990-2009"}

SEEDS = [
    "a '50s comedy",
    "stunning nature documentary",
    "heist film with a twist",
    "space battles",
    "a love story in Paris",
    "a haunted house",
    "gangsters in New York",
    "a road trip with friends",
    "a courtroom drama",
    "superheroes save the world",
    "a boxer's comeback",
    "zombies in a small town",
    "a musical about dancers",
    "a spy thriller in the cold war",
    "a coming-of-age story",
    "a cowboy western",
    "a dog and his boy",
    "time travel paradox",
    "a serial killer detective story",
    "a war film about soldiers",
]
ADJECTIVES = [
    "funny",
    "dark",
    "heartwarming",
    "violent",
    "slow",
    "animated",
    "true-story",
    "scary",
    "romantic",
    "epic",
]
SUBJECTS = [
    "film about a family",
    "movie set at sea",
    "story of revenge",
    "film about robots",
    "movie about high school",
    "tale of a kingdom",
    "film about the mafia",
    "story about a scientist",
    "movie about a band",
    "film set in space",
]


def queries(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    made = list(SEEDS)
    while len(made) < n:
        made.append(f"a {rng.choice(ADJECTIVES)} {rng.choice(SUBJECTS)}")
    return made[:n]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "median_ms": round(float(np.median(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def bench_case(
    data: Any, backend: str, texts: list[str], seed: int, threads: int | None
) -> dict[str, Any]:
    from movierec.data.description import DescriptionConfig, DescriptionIndex, load_encoder
    from movierec.engine.core import Engine
    from movierec.engine.describe import descriptions_of

    encoder, load_s = None, 0.0
    if backend == "sentence":
        start = time.perf_counter()
        encoder, _ = load_encoder("sentence", threads)
        load_s = time.perf_counter() - start
    start = time.perf_counter()
    index = DescriptionIndex.build(
        data.catalog, DescriptionConfig(backend=backend), encoder=encoder
    )
    build_s = time.perf_counter() - start
    engine = Engine(data)
    descriptions_of(engine)._indexes[backend] = index  # the index just timed, not a second one
    engine.find(texts[0], k=K, backend=backend)  # warm: vote statistics, first-call costs

    plain = []
    for text in texts:
        start = time.perf_counter()
        engine.find(text, k=K, backend=backend)
        plain.append(time.perf_counter() - start)

    has_filters = engine.genres.names and data.catalog["year"].notna().any()
    if has_filters:
        subset, filter_label = None, f"genre {FILTER['genres']}, years {FILTER['years']}"
    else:
        ids = data.catalog["movie_id"].to_numpy()
        subset = np.random.default_rng(seed).choice(ids, size=len(ids) // 5, replace=False)
        filter_label = "a random fifth of the ids (no genres or years in this copy)"
    filtered, passing = [], 0
    for text in texts:
        start = time.perf_counter()
        candidates = engine.candidates(**FILTER) if has_filters else subset
        ranking = index.query(text, K, candidates=candidates)
        filtered.append(time.perf_counter() - start)
        passing = len(candidates)
    size = (
        index.vectors.nbytes
        if backend == "sentence"
        else (
            index.vectors.data.nbytes + index.vectors.indices.nbytes + index.vectors.indptr.nbytes
        )
    )
    return {
        "backend": backend,
        "model": index.model_name,
        "movies": len(index.movie_ids),
        "with_text": int(index.has_text.sum()),
        "dimension": index.dimension,
        "index_mb": round(size / 2**20, 1),
        "model_load_s": round(load_s, 2),
        "build_s": round(build_s, 2),
        "torch_threads": threads,
        "texts_per_s": round(int(index.has_text.sum()) / build_s, 1),
        "queries": len(texts),
        "query": percentiles(plain),
        "filter": filter_label,
        "filter_passing": int(passing),
        "filtered": percentiles(filtered),
        "last_top": len(ranking),
    }


def show(rows: list[dict[str, Any]], info: dict[str, Any], when: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"movierec find benchmark — {info['cpu']}, {info['cores']} cores, {when}")
    for name in (
        "dataset",
        "backend",
        "movies",
        "with text",
        "dim",
        "index MB",
        "build s",
        "texts/s",
        "query ms med / p95 / p99",
        "filtered ms med / p95 / p99",
    ):
        table.add_column(name, justify="left" if name in ("dataset", "backend") else "right")
    for row in rows:
        if row.get("status") != "ok":
            table.add_row(row["dataset"], row.get("backend", ""), row.get("status", ""))
            continue
        q, f = row["query"], row["filtered"]
        table.add_row(
            row["dataset"],
            row["backend"],
            f"{row['movies']:,}",
            f"{row['with_text']:,}",
            f"{row['dimension']:,}",
            f"{row['index_mb']}",
            f"{row['build_s']:.1f}",
            f"{row['texts_per_s']:,.0f}",
            f"{q['median_ms']:.1f} / {q['p95_ms']:.1f} / {q['p99_ms']:.1f}",
            f"{f['median_ms']:.1f} / {f['p95_ms']:.1f} / {f['p99_ms']:.1f}",
        )
    Console(width=180).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="descriptions per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a shared 2-core box, 2 threads spin and a "
        "query takes ~10x longer)",
    )
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="real datasets folder")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args()
    info = {**machine(), "load_average_1m": round(os.getloadavg()[0], 2)}
    when = datetime.now(UTC).isoformat(timespec="seconds")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GiB, load "
        f"average {info['load_average_1m']} (other work skews latencies); {when}",
        flush=True,
    )
    if not args.data.is_dir():
        sys.exit(f"real data not available: {args.data} is absent")
    from movierec.data.sources import load_path

    texts = queries(args.queries, args.seed)
    rows = []
    for name in args.datasets.split(","):
        data = load_path(args.data / name, name)
        for backend in ("sentence", "tfidf"):
            print(f"{name} {backend} …", file=sys.stderr, flush=True)
            try:
                rows.append(
                    {
                        "dataset": name,
                        "status": "ok",
                        **bench_case(data, backend, texts, args.seed, args.threads),
                    }
                )
            except Exception as exc:  # a missing package must not stop the other cases
                rows.append(
                    {
                        "dataset": name,
                        "backend": backend,
                        "status": f"failed: {type(exc).__name__}: {exc}",
                    }
                )
    show(rows, info, when)
    info["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"created_at": when, "machine": info, "k": K, "results": rows}, indent=2)
    )
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
