"""Content-model benchmark: build time and query latency against the naive dense baseline.

Run by hand (a minute or two): ``.venv/bin/python bench/content.py [--queries 1000]``.

For each real catalog with metadata in ``../shared/data`` (and ml-latest-small enriched with
TMDB-side metadata), it fits :class:`~movierec.models.content.ContentRecommender` and times:

* ``build``: the fit (featurisation, normalisation, inverted index), best of three;
* ``similar``: ``similar_movies(m, k=10)`` for random movies, in process: median and p99;
* ``naive``: the classic ``sklearn cosine_similarity(row, matrix)`` + full ``argsort`` over the
  same feature matrix, itself excluded, which is what the Kaggle notebooks do per query;
* ``recommend``: ``recommend(u, k=10)`` for random users where the dataset has ratings.

Both answers are compared on every query (scores of the top 10 within 1e-6). Results go to
``bench/results/content.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
RESULTS = REPO / "bench" / "results" / "content.json"
K = 10


def load(root: Path, name: str, *extra: str) -> Any:
    from movierec.data.sources import load_path

    return load_path(root / name, extra=[root / e for e in extra])


def enriched_ml_small(root: Path) -> Any:
    from movierec.data.enrich import enrich

    sources = [load(root, n) for n in ("the-movies-dataset", "tmdb-10k", "tmdb-5000")]
    return enrich(load(root, "ml-latest-small"), sources)[0]


# (label, dataset loader, model overrides)
CASES: list[tuple[str, Callable[[Path], Any], dict[str, Any]]] = [
    ("tmdb-10k", lambda r: load(r, "tmdb-10k"), {"features": "soup"}),
    ("tmdb-10k", lambda r: load(r, "tmdb-10k"), {"features": "tfidf"}),
    ("tmdb-5000", lambda r: load(r, "tmdb-5000"), {"features": "tfidf"}),
    (
        "ml-100k-recbole",
        lambda r: load(r, "ml-100k-recbole", "ml-1m/movies.dat"),
        {"features": "kg"},
    ),
    ("the-movies-dataset", lambda r: load(r, "the-movies-dataset"), {"features": "soup"}),
    ("ml-latest-small+tmdb", enriched_ml_small, {"features": "soup", "idf": True}),
    ("ml-latest-small+tmdb", enriched_ml_small, {"features": "tfidf"}),
]


def percentiles(seconds: list[float]) -> dict[str, float]:
    micros = np.asarray(seconds) * 1e6
    return {
        "median_us": round(float(np.median(micros)), 1),
        "p99_us": round(float(np.percentile(micros, 99)), 1),
    }


def bench_case(data: Any, overrides: dict[str, Any], n_queries: int, seed: int) -> dict[str, Any]:
    from sklearn.metrics.pairwise import cosine_similarity

    from movierec.models.content import ContentRecommender

    builds, model = [], None
    for _ in range(3):
        start = time.perf_counter()
        model = ContentRecommender(**overrides).fit(data)
        builds.append(time.perf_counter() - start)
    x = model._x
    rng = np.random.default_rng(seed)
    movies = rng.choice(len(model.movies), size=n_queries).tolist()
    model.similar_movies(int(model.movies.ids[0]))  # compile or load the kernel

    # Separate loops, so the naive pass does not evict the fast path's data between queries.
    fast, answers = [], []
    for movie in movies:
        movie_id = int(model.movies.ids[movie])
        start = time.perf_counter()
        ranking = model.similar_movies(movie_id, k=K)
        fast.append(time.perf_counter() - start)
        answers.append(ranking.scores)
    naive, agree = [], 0
    for movie, answer in zip(movies, answers, strict=True):
        start = time.perf_counter()
        scores = cosine_similarity(x[movie], x).ravel()
        order = np.argsort(-scores, kind="stable")
        order = order[order != movie][:K]
        naive.append(time.perf_counter() - start)
        agree += bool(np.allclose(answer, scores[order], atol=1e-6))

    row: dict[str, Any] = {
        "features": model.features,
        "config": {k: v for k, v in overrides.items()},
        "movies": x.shape[0],
        "tokens": x.shape[1],
        "nnz": int(x.nnz),
        "with_features": int(np.count_nonzero(np.diff(x.indptr))),
        "index_mb": round((x.data.nbytes + x.indices.nbytes + x.indptr.nbytes) * 2 / 2**20, 1),
        "build_s": round(min(builds), 3),
        "queries": n_queries,
        "similar": percentiles(fast),
        "naive": percentiles(naive),
        "agree": agree / n_queries,
    }
    row["speedup"] = round(row["naive"]["median_us"] / row["similar"]["median_us"], 1)
    if len(model.users):
        users = rng.choice(
            model.users.ids, size=min(n_queries, len(model.users)), replace=False
        ).tolist()
        model.recommend(int(users[0]))
        times = []
        for user_id in users:
            start = time.perf_counter()
            model.recommend(int(user_id), k=K)
            times.append(time.perf_counter() - start)
        row["recommend"] = percentiles(times)
    return row


def show(rows: list[dict[str, Any]], info: dict[str, Any], when: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"movierec content benchmark — {info['cpu']}, {info['cores']} cores, {when}"
    )
    for name in (
        "dataset",
        "features",
        "movies",
        "with feat.",
        "tokens",
        "build s",
        "similar µs med / p99",
        "naive µs med / p99",
        "speed-up",
        "agree",
        "recommend µs med / p99",
    ):
        table.add_column(name, justify="left" if name in ("dataset", "features") else "right")
    for row in rows:
        if row.get("status") != "ok":
            table.add_row(row["dataset"], str(row.get("config", "")), row.get("status", ""))
            continue
        rec = row.get("recommend")
        table.add_row(
            row["dataset"],
            row["features"] + (" (idf)" if row["config"].get("idf") else ""),
            f"{row['movies']:,}",
            f"{row['with_features']:,}",
            f"{row['tokens']:,}",
            f"{row['build_s']:.2f}",
            f"{row['similar']['median_us']:,.1f} / {row['similar']['p99_us']:,.1f}",
            f"{row['naive']['median_us']:,.0f} / {row['naive']['p99_us']:,.0f}",
            f"{row['speedup']:,.0f}×",
            f"{row['agree']:.0%}",
            f"{rec['median_us']:,.0f} / {rec['p99_us']:,.0f}" if rec else "—",
        )
    Console(width=180).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=1000, help="random movies (and users)")
    parser.add_argument("--seed", type=int, default=0)
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

    rows, cache = [], {}
    for label, loader, overrides in CASES:
        print(f"{label} {overrides} …", file=sys.stderr, flush=True)
        try:
            if label not in cache:
                start = time.perf_counter()
                cache = {label: (loader(args.data), time.perf_counter() - start)}
            data, load_s = cache[label]
            row = bench_case(data, overrides, args.queries, args.seed)
            rows.append({"dataset": label, "status": "ok", "load_s": round(load_s, 2), **row})
        except Exception as exc:  # a missing or unfinished source must not stop the others
            rows.append(
                {
                    "dataset": label,
                    "status": f"failed: {type(exc).__name__}: {exc}",
                    "config": overrides,
                }
            )
    show(rows, info, when)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"created_at": when, "machine": info, "k": K, "results": rows}, indent=2)
    )
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
