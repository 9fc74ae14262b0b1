"""Exact top-k against an approximate index for a served answer at full catalogue size.

Run by hand (a few minutes): ``.venv/bin/python bench/ann.py --home HOME --dataset NAME
[--model als] [--users 1000]``, on a home with a trained factor model, e.g. the 33.8M
synthetic set of ``bench/scale.py`` (86,455 movies). Needs ``faiss-cpu`` (the ``bench`` extra).

The full-scale issue asks for an approximate index only if the exact one misses the latency
goal, with its recall@10 against exact. Both answer the same question, the served ranking of a
factor model with ``rank_by=taste``: ``quality_i + α_u·(q_i·p_u)``
(:meth:`~movierec.models.factors.FactorModel.taste_scores`), an inner product of the item
vector ``[q_i, quality_i]`` with the query ``[α_u·p_u, 1]``, seen movies left out.

* **exact**: ``model.recommend(user, 10)``, what the service runs (a BLAS product over every
  movie and the numba top-k);
* **HNSW**: faiss ``IndexHNSWFlat`` (inner product, M = 32, efConstruction 80) over the same
  item vectors; a query asks for 10 + the user's seen movies and drops the seen ones. One
  thread per query, as a service request thread runs; efSearch swept.

For ``--users`` random users of the model: per-answer time (median, p99), recall@10 against
exact, the index's build time and size. Results: a table on stdout and
``bench/results/ann.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import machine, write_results  # noqa: E402  (bench/load.py)
from movierec.data.charts import weighted_rating  # noqa: E402
from movierec.engine.core import Engine  # noqa: E402
from movierec.home import Home  # noqa: E402
from movierec.models.factors import FactorModel, row_lengths  # noqa: E402

RESULTS = REPO / "bench" / "results" / "ann.json"
K = 10
EF_SEARCH = (16, 32, 64, 128, 256)


def item_vectors(model: FactorModel) -> tuple[np.ndarray, float]:
    """``[q_i, quality_i]`` per movie, and ``w·σ_q/mean‖q‖`` (α_u times ‖p_u‖)."""
    factors = np.asarray(model.item_factors)
    n = len(factors)
    votes = np.asarray(model.movie_votes, dtype=np.float64)[:n]
    quality = weighted_rating(
        votes, np.asarray(model.item_bias, dtype=np.float64), float(model.config.prior_votes), 0.0
    )
    rated = votes > 0
    spread = float(quality[rated].std())
    scale = float(row_lengths(factors)[rated].mean(dtype=np.float64))
    vectors = np.hstack([factors, quality[:, None]]).astype(np.float32)
    return np.ascontiguousarray(vectors), float(model.config.taste_weight) * spread / scale


def timed(function: Any, users: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    answers, seconds = [], []
    for user in users.tolist():
        started = time.perf_counter()
        answers.append(function(user))
        seconds.append(time.perf_counter() - started)
    return answers, np.array(seconds) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", default="als", help="a factor model trained in the home")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    try:
        import faiss
    except ImportError:
        sys.exit("bench/ann.py needs faiss-cpu: .venv/bin/pip install -e '.[bench]'")

    engine = Engine.open(Home(args.home), args.dataset, mapped=True)
    model = engine.hub.model(args.model)
    if not isinstance(model, FactorModel) or model.config.rank_by != "taste":
        sys.exit(f"{args.model} is not a factor model ranking by taste")
    vectors, alpha_norm = item_vectors(model)
    rng = np.random.default_rng(args.seed)
    users = rng.choice(np.asarray(model.users.ids), size=args.users, replace=False)
    rows = model.users.indices(users)
    factors = np.asarray(model.user_factors, dtype=np.float32)
    seen = [model.history(int(u))[0] for u in users.tolist()]

    def exact(user: int) -> np.ndarray:
        return model.recommend(user, K).movie_ids

    def query(row: int) -> np.ndarray:
        """``[α_u·p_u, 1]``: its inner product with an item vector is the served score."""
        p = factors[row]
        norm = float(np.linalg.norm(p))
        return np.append(p * (alpha_norm / norm if norm > 0 else 0.0), 1.0).astype(np.float32)

    exact(int(users[0]))  # compiled and warm
    truth, exact_ms = timed(exact, users)
    row_of = dict(zip(users.tolist(), range(len(users)), strict=True))
    u = int(rows[0])  # the item vectors give the served scores
    np.testing.assert_allclose(vectors @ query(u), model.taste_scores(u), rtol=1e-4, atol=1e-4)

    faiss.omp_set_num_threads(2)
    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(vectors)
    build_s = time.perf_counter() - started
    size_mb = faiss.serialize_index(index).nbytes / 2**20
    faiss.omp_set_num_threads(1)  # one request thread per query
    ids = np.asarray(model.movies.ids)

    def approximate(user: int) -> np.ndarray:
        i = row_of[user]
        _, found = index.search(query(int(rows[i]))[None, :], K + len(seen[i]))
        found = found[0][found[0] >= 0]
        return ids[found[~np.isin(found, seen[i])][:K]]

    def summary(method: str, ef: int | None, ms: np.ndarray, recall: float) -> dict[str, Any]:
        return {
            "method": method,
            "ef_search": ef,
            "median_ms": round(float(np.median(ms)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "recall_at_10": round(recall, 4),
        }

    rows_out = [summary("exact", None, exact_ms, 1.0)]
    for ef in EF_SEARCH:
        index.hnsw.efSearch = ef
        approximate(int(users[0]))
        answers, ms = timed(approximate, users)
        recall = np.mean(
            [
                len(set(a.tolist()) & set(t.tolist())) / max(len(t), 1)
                for a, t in zip(answers, truth, strict=True)
            ]
        )
        rows_out.append(summary("hnsw", ef, ms, float(recall)))

    print(
        f"\n{args.dataset}, {args.model}: {len(ids):,} movies, {len(users)} users; "
        f"HNSW built in {build_s:.1f} s (2 threads), {size_mb:.0f} MB"
    )
    print(f"{'method':8} {'efSearch':>8} {'median ms':>10} {'p99 ms':>8} {'recall@10':>10}")
    for r in rows_out:
        ef = "—" if r["ef_search"] is None else str(r["ef_search"])
        print(
            f"{r['method']:8} {ef:>8} {r['median_ms']:>10.3f} {r['p99_ms']:>8.3f} "
            f"{r['recall_at_10']:>10.4f}"
        )
    write_results(
        args.output,
        {
            "machine": machine(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": args.dataset,
            "model": args.model,
            "movies": len(ids),
            "users": len(users),
            "build_seconds": round(build_s, 2),
            "index_mb": round(size_mb, 1),
            "rows": rows_out,
        },
    )


if __name__ == "__main__":
    main()
