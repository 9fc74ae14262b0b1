"""Our models against the reference libraries on MovieLens 100k, on the very same folds.

Run by hand (several minutes): ``.venv/bin/python bench/vs_peers.py [--skip SVDpp,KNNBaseline]``.
The peers are not runtime dependencies: install them with ``pip install -e ".[bench]"``
(``scikit-surprise==1.1.5``, ``implicit==0.7.3``); a peer that is not installed is reported as
missing and its rows are left out.

* **Rating prediction**, 5-fold over ratings with seed 0: Surprise's ``SVD()`` with its
  defaults vs our ``mf`` (the same defaults: 100 factors, 20 epochs, lr 0.005, reg 0.02),
  Surprise's ``SVDpp`` vs our ``svdpp`` (its defaults and updates) and ``svdpp-tuned``,
  item-based ``KNNBaseline`` (``pearson_baseline``) vs our ``knn``, and our ``mf-bounded``,
  ``als``, ``bmf`` (Bayesian MF by Gibbs sampling), ``bsvdpp`` (Bayesian SVD++ flipped, the
  same sampler) and ``rating-blend`` (its weights fitted on ratings held out of each training
  fold, never on the test fold). Our folds are checked to
  be Surprise's own ``KFold(5, random_state=0)`` folds before anything is timed.
* **Ranking**, one per-user 20% holdout (seed 0): ``implicit``'s ``AlternatingLeastSquares``
  vs our ``ials`` (the same factors, regularisation, confidence and iterations: see
  :class:`ImplicitALS`) and our ``ease``.

Every model, ours or a peer's, goes through :func:`movierec.evaluate.evaluate`: a peer is
wrapped in a small adapter that fits the library's own algorithm and exposes its scores, so
the metrics, the candidate set (the whole catalogue, seen movies excluded) and the relevance
threshold (4.0) are the same code for everyone. RMSE/MAE use Surprise's own ``predict`` (so
its clipping); rankings use each library's unclipped estimate, computed in bulk from its
fitted parameters and checked against the library's per-pair estimate on a sample. Fit time
includes turning the fold into the library's structure (Surprise's ``Trainset``, implicit's
CSR), as ours includes building its id maps and CSR. Numba kernels are compiled on a small
sample before anything is timed. Surprise runs on one core; implicit and our numba kernels
use every core.

Results: a table on stdout and ``bench/results/vs_peers.json`` (machine, date, versions).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from movierec.data.dataset import Dataset  # noqa: E402
from movierec.data.sources import load_path  # noqa: E402
from movierec.evaluate import evaluate, kfold  # noqa: E402
from movierec.models import registry  # noqa: E402
from movierec.models.base import RatingPredictor, Recommender  # noqa: E402

SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results" / "vs_peers.json"
SEED, FOLDS, K = 0, 5, 10
OURS_RATING = (
    "mf",
    "mf-bounded",
    "mf-tuned",
    "svdpp",
    "svdpp-tuned",
    "bmf",
    "bsvdpp",
    "rating-blend",
    "als",
    "knn",
)
OURS_RANKING = ("ials", "ease")
# (ours, peer) pairs whose ratio is reported
PAIRS_RATING = (
    ("mf", "SVD"),
    ("mf-bounded", "SVD"),
    ("mf-tuned", "SVD"),
    ("mf-tuned", "SVDpp"),
    ("svdpp", "SVDpp"),
    ("svdpp-tuned", "SVDpp"),
    ("bmf", "SVDpp"),
    ("bsvdpp", "SVDpp"),
    ("rating-blend", "SVDpp"),
    ("als", "SVD"),
    ("knn", "KNNBaseline"),
)
PAIRS_RANKING = (("ials", "implicit-als"), ("ease", "implicit-als"))


# --- Surprise behind our protocol ----------------------------------------------------------------


class SurpriseModel(RatingPredictor):
    """A Surprise algorithm fitted on our training dataset, scored by our evaluation code."""

    kind = "surprise"

    def __init__(self, make: Callable[[], Any]):
        super().__init__()
        self._make = make

    def fit(self, data: Dataset) -> Self:
        import surprise

        self._index_dataset(data)
        scale = data.scale
        reader = surprise.Reader(rating_scale=(scale.low, scale.high))
        frame = data.ratings[["user_id", "movie_id", "rating"]]
        self.trainset = surprise.Dataset.load_from_df(frame, reader).build_full_trainset()
        self.algo = self._make().fit(self.trainset)
        inner = self.trainset._raw2inner_id_items
        self._inner_items = np.array([inner.get(int(m), -1) for m in self.movies.ids])
        self._known = self._inner_items >= 0
        self._checked = False
        return self

    def _predict(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        uids, iids = self.users.ids[users].tolist(), self.movies.ids[movies].tolist()
        return np.array([self.algo.predict(u, i).est for u, i in zip(uids, iids, strict=True)])

    def _user_scores(self, user: int) -> np.ndarray:
        inner_user = self.trainset.to_inner_uid(int(self.users.ids[user]))
        scores = np.full(len(self.movies), self.trainset.global_mean + self.algo.bu[inner_user])
        items = self._inner_items[self._known]
        scores[self._known] += self._known_item_part(inner_user, items)
        if not self._checked:  # the bulk formula must be the library's estimate
            self._check(user, scores)
        return scores

    def _known_item_part(self, u: int, items: np.ndarray) -> np.ndarray:
        algo = self.algo
        name = type(algo).__name__
        if name == "SVD":
            return algo.bi[items] + algo.qi[items] @ algo.pu[u]
        if name == "SVDpp":
            rated = np.array([j for j, _ in self.trainset.ur[u]])
            implicit = algo.yj[rated].sum(axis=0) / np.sqrt(len(rated))
            return algo.bi[items] + algo.qi[items] @ (algo.pu[u] + implicit)
        if name == "KNNBaseline":
            rated = np.array([j for j, _ in self.trainset.ur[u]])
            ratings = np.array([r for _, r in self.trainset.ur[u]])
            residual = ratings - (self.trainset.global_mean + algo.bi[rated] + algo.bu[u])
            sims = algo.sim[np.ix_(items, rated)]
            if len(rated) > algo.k:
                top = np.argpartition(-sims, algo.k - 1, axis=1)[:, : algo.k]
                sims, residual = np.take_along_axis(sims, top, 1), residual[top]
            else:
                residual = np.broadcast_to(residual, sims.shape)
            positive = sims > 0
            weight = np.where(positive, sims, 0.0).sum(axis=1)
            total = np.where(positive, sims * residual, 0.0).sum(axis=1)
            enough = (positive.sum(axis=1) >= algo.min_k) & (weight > 0)
            return algo.bi[items] + np.where(enough, total / np.where(enough, weight, 1), 0.0)
        raise ValueError(f"no bulk scores for Surprise's {name}")

    def _check(self, user: int, scores: np.ndarray) -> None:
        rng = np.random.default_rng(0)
        sample = rng.choice(len(self.movies), min(200, len(self.movies)), replace=False)
        uid = int(self.users.ids[user])
        theirs = np.array(
            [self.algo.predict(uid, int(self.movies.ids[m]), clip=False).est for m in sample]
        )
        gap = float(np.abs(theirs - scores[sample]).max())
        if gap > 1e-6:
            raise AssertionError(
                f"bulk {type(self.algo).__name__} scores differ from Surprise's estimate by {gap:g}"
            )
        self._checked = True

    def _similar_scores(self, movie: int) -> np.ndarray:
        raise NotImplementedError("not needed by the benchmark")

    def _state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError("not needed by the benchmark")

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError("not needed by the benchmark")


class ImplicitALS(Recommender):
    """implicit's ``AlternatingLeastSquares`` fitted on our training dataset.

    implicit takes the matrix values as the confidence ``c_ui`` (times its ``alpha``); ours
    uses ``c_ui = 1 + α·v_ui``. Handing implicit ``1 + α·v`` with its alpha at 1 makes both
    minimise the same objective.
    """

    kind = "implicit-als"

    def __init__(
        self,
        factors: int,
        regularization: float,
        iterations: int,
        alpha: float,
        weighting: str = "binary",
        like_threshold: float = 4.0,
    ):
        super().__init__()
        self._params = {
            "factors": factors,
            "regularization": regularization,
            "iterations": iterations,
        }
        self._alpha, self._weighting, self._like = alpha, weighting, like_threshold

    def fit(self, data: Dataset) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        matrix = self._index_dataset(data).astype(np.float32)
        if self._weighting == "binary":
            matrix.data[:] = 1.0
        elif self._weighting == "liked":
            matrix.data = (matrix.data >= self._like).astype(np.float32)
            matrix.eliminate_zeros()
        matrix.data = 1.0 + self._alpha * matrix.data
        with threadpool_limits(1, "blas"):  # what implicit asks for: BLAS threads fight its own
            model = AlternatingLeastSquares(**self._params, alpha=1.0, random_state=SEED)
            model.fit(matrix, show_progress=False)
        self._users, self._items = model.user_factors, model.item_factors
        return self

    def _user_scores(self, user: int) -> np.ndarray:
        return self._items @ self._users[user]

    def _similar_scores(self, movie: int) -> np.ndarray:
        return self._items @ self._items[movie]

    def _state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError("not needed by the benchmark")

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError("not needed by the benchmark")


def surprise_peers() -> dict[str, Callable[[], Recommender]]:
    import surprise

    knn_options = {"name": "pearson_baseline", "user_based": False}
    return {
        "SVD": lambda: SurpriseModel(lambda: surprise.SVD(random_state=SEED)),
        "SVDpp": lambda: SurpriseModel(lambda: surprise.SVDpp(random_state=SEED)),
        "KNNBaseline": lambda: SurpriseModel(
            lambda: surprise.KNNBaseline(sim_options=knn_options, verbose=False)
        ),
    }


def implicit_params() -> dict[str, Any]:
    """implicit's settings taken from our ``ials`` config, so both fit the same model."""
    params = {
        "factors": 64,
        "regularization": 0.01,
        "iterations": 15,
        "alpha": 10.0,
        "weighting": "binary",
        "like_threshold": 4.0,
    }
    if "ials" in registry.names():
        config = registry.resolve("ials")[1].to_json()
        params.update({name: config[name] for name in params if name in config})
    return params


# --- the runs ---------------------------------------------------------------------------------


def check_same_folds(data: Dataset) -> bool:
    """Our k-fold test sets are Surprise's ``KFold(5, random_state=0)`` test sets."""
    import surprise

    reader = surprise.Reader(rating_scale=(data.scale.low, data.scale.high))
    theirs = surprise.Dataset.load_from_df(data.ratings[["user_id", "movie_id", "rating"]], reader)
    folds = surprise.model_selection.KFold(n_splits=FOLDS, random_state=SEED).split(theirs)
    for (_, their_test), ours in zip(folds, kfold(data, FOLDS, seed=SEED), strict=True):
        mine = set(zip(ours.test["user_id"].tolist(), ours.test["movie_id"].tolist(), strict=True))
        if {(int(u), int(m)) for u, m, _ in their_test} != mine:
            return False
    return True


def warm_up(data: Dataset, names: list[str]) -> None:
    """Fit each of our models once on a sample, so numba's compilation is not timed."""
    sample = data.ratings.sample(n=min(3000, len(data.ratings)), random_state=SEED)
    small = Dataset(data.name, data.catalog, sample, None, data.scale)
    for name in names:
        model = registry.create(name).fit(small)
        model.recommend(int(sample["user_id"].iloc[0]), K)
        if isinstance(model, RatingPredictor):
            model.predict(sample["user_id"].to_numpy()[:5], sample["movie_id"].to_numpy()[:5])


def run(
    data: Dataset, names: list[str], peers: dict[str, Callable[[], Recommender]], **settings: Any
) -> dict[str, Any]:
    def factory(name: str) -> Recommender:
        return peers[name]() if name in peers else registry.create(name)

    rows: dict[str, Any] = {}
    for name in names:  # one model at a time, so a failure costs only its row
        started = time.perf_counter()
        print(f"  {name} …", end="", flush=True)
        try:
            result = evaluate(data, [name], factory=factory, seed=SEED, k=K, **settings)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
            print(f" failed: {exc}")
            rows[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        print(f" {time.perf_counter() - started:.1f} s")
        rows[name] = {
            **result.models[0].to_json(),
            "settings": result.settings,
            "folds_info": result.folds,
        }
    return rows


def ratios(
    rows: dict[str, Any], pairs: tuple[tuple[str, str], ...], metrics: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    found = {}
    for ours, peer in pairs:
        if "summary" not in rows.get(ours, {}) or "summary" not in rows.get(peer, {}):
            continue
        a, b = rows[ours]["summary"], rows[peer]["summary"]
        found[f"{ours}/{peer}"] = {
            m: a[m]["mean"] / b[m]["mean"] for m in metrics if m in a and m in b and b[m]["mean"]
        }
    return found


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for module in ("numpy", "scipy", "pandas", "numba", "surprise", "implicit"):
        try:
            versions[module] = importlib.import_module(module).__version__
        except ImportError:
            versions[module] = None
    import numba

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numba_threads": numba.get_num_threads(),
        "platform": platform.platform(),
        **versions,
    }


# --- output -----------------------------------------------------------------------------------


def cell(row: dict[str, Any], metric: str, digits: int = 4) -> str:
    figure = row.get("summary", {}).get(metric)
    if figure is None:
        return "—"
    return f"{figure['mean']:.{digits}f} ± {figure['std']:.{digits}f}"


def print_table(title: str, rows: dict[str, Any], columns: list[tuple[str, str, int]]) -> None:
    print(f"\n{title}")
    header = f"{'model':<14}" + "".join(f"{label:>20}" for label, _, _ in columns)
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<14}  {row['error']}")
            continue
        print(f"{name:<14}" + "".join(f"{cell(row, m, d):>20}" for _, m, d in columns))


def print_ratios(found: dict[str, dict[str, float]]) -> None:
    for pair, values in found.items():
        shown = ", ".join(f"{m} ×{v:.3f}" for m, v in values.items())
        print(f"  {pair}: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "ml-100k-recbole")
    parser.add_argument("--skip", default="", help="models to leave out, comma-separated")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    data = load_path(args.data, "ml-100k")
    print(
        f"{data.name}: {len(data.ratings):,} ratings, "
        f"{data.ratings['user_id'].nunique():,} users, {len(data.catalog):,} movies"
    )
    ours_rating = [n for n in OURS_RATING if n in registry.names() and n not in skip]
    ours_ranking = [n for n in OURS_RANKING if n in registry.names() and n not in skip]
    missing = [n for n in (*OURS_RATING, *OURS_RANKING) if n not in registry.names()]
    peers: dict[str, Callable[[], Recommender]] = {}
    notes = []
    try:
        peers.update(surprise_peers())
    except ImportError:
        notes.append('scikit-surprise is not installed: pip install -e ".[bench]"')
    params = implicit_params()
    try:
        importlib.import_module("implicit")
        peers["implicit-als"] = lambda: ImplicitALS(**params)
    except ImportError:
        notes.append('implicit is not installed: pip install -e ".[bench]"')
    if missing:
        notes.append(f"not registered yet, left out: {', '.join(missing)}")
    for note in notes:
        print(f"note: {note}")

    same_folds = check_same_folds(data) if "SVD" in peers else None
    print(f"our folds are Surprise's KFold({FOLDS}, random_state={SEED}) folds: {same_folds}")
    if same_folds is False:
        raise SystemExit("folds differ from Surprise's: the comparison would not be fair")
    warm_up(data, ours_rating + ours_ranking)

    rating_names = [n for n in ("SVD", "SVDpp", "KNNBaseline") if n in peers and n not in skip]
    print(f"\nrating prediction, {FOLDS}-fold (seed {SEED}):")
    rating_rows = run(
        data, [*rating_names[:1], *ours_rating, *rating_names[1:]], peers, split="kfold", cv=FOLDS
    )
    ranking_names = [n for n in ("implicit-als",) if n in peers and n not in skip]
    print("\nranking, per-user 20% holdout (seed 0):")
    ranking_rows = run(
        data, [*ranking_names, *ours_ranking], peers, split="user-holdout", fraction=0.2
    )

    rating_ratios = ratios(rating_rows, PAIRS_RATING, ("rmse", "mae", "ndcg", "fit_seconds"))
    ranking_ratios = ratios(ranking_rows, PAIRS_RANKING, ("ndcg", "recall", "fit_seconds"))
    print_table(
        f"rating prediction · ml-100k · {FOLDS}-fold · mean ± std over folds",
        rating_rows,
        [
            ("RMSE", "rmse", 4),
            ("MAE", "mae", 4),
            ("NDCG@10", "ndcg", 4),
            ("fit s", "fit_seconds", 2),
            ("predict s", "predict_seconds", 2),
            ("recommend s", "recommend_seconds", 2),
        ],
    )
    print_ratios(rating_ratios)
    print_table(
        "ranking · ml-100k · per-user 20% holdout",
        ranking_rows,
        [
            ("NDCG@10", "ndcg", 4),
            ("recall@10", "recall", 4),
            ("precision@10", "precision", 4),
            ("fit s", "fit_seconds", 2),
            ("recommend s", "recommend_seconds", 2),
        ],
    )
    print_ratios(ranking_ratios)
    print(f"\nimplicit ALS settings: {params}")

    document = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "dataset": {"name": data.name, "path": str(args.data), "ratings": len(data.ratings)},
        "same_folds_as_surprise": same_folds,
        "notes": notes,
        "rating_kfold": rating_rows,
        "ranking_holdout": {"implicit_als_params": params, "models": ranking_rows},
        "ratios": {"rating": rating_ratios, "ranking": ranking_ratios},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
