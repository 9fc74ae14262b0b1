"""Newcomers of one taste: does a model list films of the genre they rated?

Run by hand (about 2 minutes on 2 cores, nearly all of it the hybrid's fit):
``.venv/bin/python bench/personas.py [--dataset ml-100k-recbole] [--models hybrid,ease,...]``.

The way a person tries a recommender: rate five films of one taste 5★, look at the list. Each
model is fitted on the whole dataset; each persona is folded into a copy of it
(``fold_in_user``) and its top-10 is read. Counted: the picks that have the persona's genre
(Western for the western fan, …). Nine personas, from genres of hundreds of films (Sci-Fi,
Romance) down to 24 (Film-Noir); the genre share of MovieLens 100k's catalogue is printed
beside each. A table on stdout (the served default's lists after it) and
``bench/results/personas.json``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from load import machine, shared_datasets, write_results  # noqa: E402  (bench/load.py: shared helpers)
from movierec.engine.core import DEFAULT_MODEL  # noqa: E402
from movierec.models import registry  # noqa: E402

RESULTS = REPO / "bench" / "results" / "personas.json"
MODELS = ("hybrid", "ease", "twotower-rank", "chart")
K = 10
FIRST_USER = 99_000_001  # above every MovieLens user id
#: persona: (its genre, five MovieLens 100k movie ids it rates 5★)
PERSONAS: dict[str, tuple[str, list[int]]] = {
    "horror fan": ("Horror", [288, 200, 185, 219, 447]),  # Scream, The Shining, Psycho, …
    "children's films": ("Children's", [1, 71, 95, 588, 465]),  # Toy Story, The Lion King, …
    "romance fan": ("Romance", [88, 739, 66, 70, 216]),  # Sleepless in Seattle, Pretty Woman, …
    "western fan": ("Western", [203, 97, 470, 589, 435]),  # Unforgiven, Dances with Wolves, …
    "musical fan": ("Musical", [143, 132, 705, 419, 485]),  # The Sound of Music, Wizard of Oz, …
    "sci-fi fan": ("Sci-Fi", [50, 183, 89, 135, 195]),  # Star Wars, Alien, Blade Runner, …
    "film-noir fan": ("Film-Noir", [484, 654, 302, 525, 479]),  # The Maltese Falcon, Chinatown, …
    "war films": ("War", [157, 188, 180, 515, 651]),  # Platoon, Full Metal Jacket, …
    "documentaries": ("Documentary", [48, 32, 1142, 954, 634]),  # Hoop Dreams, Crumb, …
}


def persona_lists(model: Any, catalog: Any) -> dict[str, dict[str, Any]]:
    """Each persona's top-``K`` from a copy of the fitted ``model``, and how many have its
    genre."""
    genres = catalog.set_index("movie_id")["genres"]
    titles = catalog.set_index("movie_id")["title"]
    out = {}
    for n, (name, (genre, movie_ids)) in enumerate(PERSONAS.items()):
        told = copy.deepcopy(model)
        user = FIRST_USER + n
        told.fold_in_user(user, np.array(movie_ids), np.full(len(movie_ids), 5.0))
        listed = [int(m) for m in told.recommend(user, K).movie_ids]
        out[name] = {
            "genre": genre,
            "rated": [str(titles[m]) for m in movie_ids],
            "listed": [str(titles[m]) for m in listed],
            "of_genre": int(sum(genre in genres[m] for m in listed)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="ml-100k-recbole")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    data = next(iter(shared_datasets(args.dataset)), None)
    if data is None:
        sys.exit("no dataset found: nothing measured, nothing written")
    catalog = data.catalog
    share = {
        genre: float(catalog["genres"].apply(lambda g, genre=genre: genre in g).mean())
        for genre, _ in PERSONAS.values()
    }
    runs: dict[str, dict[str, Any]] = {}
    for name in models:
        started = time.perf_counter()
        model = registry.create(name).fit(data)
        runs[name] = persona_lists(model, catalog)
        print(f"{name}: fitted and asked in {time.perf_counter() - started:.0f} s")
    print(f"\n{data.name} · picks of the persona's genre in the top {K} (five films rated 5★)")
    print(f"  {'persona':18} {'genre':12} {'catalogue':>9}" + "".join(f"{m:>15}" for m in models))
    for persona, (genre, _) in PERSONAS.items():
        counts = "".join(f"{runs[m][persona]['of_genre']:>15}" for m in models)
        print(f"  {persona:18} {genre:12} {share[genre]:>9.1%}{counts}")
    totals = "".join(f"{sum(r['of_genre'] for r in runs[m].values()):>15}" for m in models)
    print(f"  {'all':18} {'':12} {'':>9}{totals}   (of {K * len(PERSONAS)})")
    if DEFAULT_MODEL in runs:
        print(f"\n{DEFAULT_MODEL}'s lists:")
        for persona, row in runs[DEFAULT_MODEL].items():
            print(f"  {persona}: {'; '.join(row['listed'])}")
    write_results(
        RESULTS,
        {
            "machine": machine(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "dataset": data.name,
            "served_default": DEFAULT_MODEL,
            "k": K,
            "catalogue_share": share,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
