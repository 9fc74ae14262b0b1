"""Similar films: does a film's list hold what its fans go on to like?

Run by hand (about a minute on 2 cores): ``.venv/bin/python bench/neighbours.py
[--datasets ml-100k-recbole,ml-latest-small] [--supports 0,5,10,20]
[--enrich tmdb-10k,tmdb-5000,imdb-5000]``.

An item-to-item check of the "Liked by the same people" list (``similar --by collab``) and of
the "Similar content" one. The
ratings are split per user (the ``user-holdout`` split: 20% held out, seed 0) and the served
collaborative model (ALS) is fitted on the rest. Each user's favourite training film (their
highest rating, the most-voted among ties) is the seed; its 10 neighbours, among films with
enough votes that the user has not rated, are scored against the films they rated ≥ 4 in the
held-out part: NDCG@10 and hit rate, long-tail NDCG@10 (the 10% most-rated films are not hits),
the neighbours' mean vote count, and distinctness (1 − mean Jaccard of two seeds' lists: 1 when
no two lists share a film).

The lists compared: the model's plain factor cosine (support 0) and the engine's list, the
cosine shrunk by support, ``cos × n / (n + s)`` with n the people who rated both films, for each
s in ``--supports`` (:data:`movierec.engine.similar.COLLAB_SUPPORT` is what is served); and the
"Similar content" list as the content model orders it (equally near films by catalog row) and
as served (equally near films best rated first). ``--enrich`` adds, for each dataset, a copy
enriched from those ../shared/data sources (`movierec data enrich`: links, else titles and
years), so the content list by cast, director and keywords is measured beside the genres.
Results: a table per dataset and ``bench/results/neighbours.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import (  # noqa: E402  (bench/load.py: shared helpers)
    SHARED_DATA,
    machine,
    shared_datasets,
    write_results,
)
from movierec.data.sources import load_path  # noqa: E402
from movierec.engine import similar as similar_module  # noqa: E402
from movierec.engine.core import Engine  # noqa: E402
from movierec.engine.reasons import Explainer  # noqa: E402
from movierec.engine.similar import SimilarMovies  # noqa: E402
from movierec.evaluate.splits import user_holdout  # noqa: E402
from movierec.home import Home  # noqa: E402

RESULTS = REPO / "bench" / "results" / "neighbours.json"
K = 10
LIKED = 4.0
HEAD_SHARE = 0.1  # as the taste bench's long-tail NDCG
PAIRS = 4000  # random pairs of seeds for distinctness


def _dcg(hits: np.ndarray) -> float:
    return float((hits / np.log2(np.arange(2, len(hits) + 2))).sum())


def run(data: Any, supports: list[float]) -> dict[str, dict[str, float]]:
    split = next(user_holdout(data, 0.2, seed=0))
    train, test = split.train, split.test
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(train, Home(Path(folder)))
        lists = SimilarMovies(engine.catalog, engine.hub, Explainer(engine.catalog))
        model = engine.hub.model(engine.hub.collab_name())
        content = engine.hub.model("content")
        votes = engine.catalog.votes[0]
        ids = engine.catalog.table["movie_id"].to_numpy()
        head = set(ids[np.argsort(-votes, kind="stable")[: int(len(ids) * HEAD_SHARE)]].tolist())
        voted = engine.catalog.voted(None)
        ratings = train.ratings
        liked_later = test[test["rating"] >= LIKED].groupby("user_id")["movie_id"].apply(set)
        by_user = ratings.groupby("user_id")
        rows: dict[str, list[tuple[float, float, float, float, frozenset[int]]]] = {}
        for user, liked in liked_later.items():
            if user not in by_user.groups:
                continue
            mine = by_user.get_group(user)
            best = mine[mine["rating"] == mine["rating"].max()]
            best_ids = best["movie_id"].tolist()
            seed = int(best_ids[np.argmax([votes[engine.catalog.row(m)] for m in best_ids])])
            candidates = np.setdiff1d(voted, mine["movie_id"].to_numpy())
            ideal = _dcg(np.ones(min(K, len(liked))))
            rankings = []
            for support in supports:
                if support == 0:
                    rankings.append(
                        (_label(support), model.similar_movies(seed, K, candidates=candidates))
                    )
                else:
                    similar_module.COLLAB_SUPPORT = support
                    rankings.append((_label(support), lists.collab_neighbours(seed, K, candidates)))
            rankings += [
                ("content, model", content.similar_movies(seed, K, candidates=candidates)),
                ("content, served", lists.content_neighbours(content, seed, K, candidates)),
            ]
            for label, ranking in rankings:
                picks = ranking.movie_ids.tolist()
                hits = np.array([m in liked for m in picks], float)
                tail = np.array([m in liked and m not in head for m in picks], float)
                mean_votes = float(np.mean([votes[engine.catalog.row(m)] for m in picks]))
                rows.setdefault(label, []).append(
                    (_dcg(hits) / ideal, float(hits.any()), _dcg(tail) / ideal, mean_votes,
                     frozenset(picks))
                )  # fmt: skip
    figures = {}
    pairs = np.random.default_rng(1).integers(0, len(next(iter(rows.values()))), (PAIRS, 2))
    for label, results in rows.items():
        sets = [r[4] for r in results]
        overlap = [len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in pairs if a != b]
        figures[label] = {
            "ndcg": float(np.mean([r[0] for r in results])),
            "hit_rate": float(np.mean([r[1] for r in results])),
            "longtail_ndcg": float(np.mean([r[2] for r in results])),
            "mean_votes": float(np.mean([r[3] for r in results])),
            "distinctness": 1.0 - float(np.mean(overlap)),
            "users": len(results),
        }
    return figures


def _with_enriched(datasets: Iterator[Any], sources: str) -> Iterator[Any]:
    """Each dataset, then (with ``sources``) its copy enriched from them, named NAME+tmdb."""
    from movierec.data.enrich import enrich

    loaded = [load_path(SHARED_DATA / name) for name in sources.split(",") if name]
    for data in datasets:
        yield data
        if loaded:
            enriched, coverage = enrich(data, loaded)
            enriched.name = f"{data.name}+tmdb"
            matched = coverage["movies"] - coverage["matched"]["unmatched"]
            print(f"{enriched.name}: {matched:,} of {coverage['movies']:,} movies enriched")
            yield enriched


def _label(support: float) -> str:
    return "cosine" if support == 0 else f"support {support:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--supports", default="0,5,10,20")
    parser.add_argument("--enrich", default="", help="TMDB-side sources to enrich copies with")
    args = parser.parse_args()
    supports = [float(s) for s in args.supports.split(",") if s]
    served = similar_module.COLLAB_SUPPORT
    document: dict[str, Any] = {
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "served_support": served,
        "datasets": {},
    }
    for data in _with_enriched(shared_datasets(args.datasets), args.enrich):
        started = time.perf_counter()
        figures = run(data, supports)
        similar_module.COLLAB_SUPPORT = served
        print(f"\n{data.name}: {next(iter(figures.values()))['users']} seeds")
        print(f"  {'list':<16}{'NDCG':>8}{'hits':>8}{'long-tail':>11}{'votes':>8}{'distinct':>10}")
        for label, f in figures.items():
            mark = " (served)" if label == _label(served) else ""
            print(
                f"  {label:<16}{f['ndcg']:>8.4f}{f['hit_rate']:>8.3f}{f['longtail_ndcg']:>11.4f}"
                f"{f['mean_votes']:>8.0f}{f['distinctness']:>10.3f}{mark}"
            )
        print(f"  in {time.perf_counter() - started:.0f} s")
        document["datasets"][data.name] = figures
    if not document["datasets"]:
        sys.exit("no dataset found: nothing measured, nothing written")
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
