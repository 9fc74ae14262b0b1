"""Newcomers of one taste: does a model list films of the genre they rated?

Run by hand (about 5 minutes on 2 cores, nearly all of it the hybrid's fits):
``.venv/bin/python bench/personas.py [--datasets ml-100k-recbole,ml-latest-small]
[--models hybrid,ease,...]``.

The way a person tries a recommender: rate five films of one taste 5★, look at the list. Each
model is fitted on the whole dataset; each persona is folded into a copy of it
(``fold_in_user``) and its top-10 is read. Counted: the picks that have the persona's genre
(Western for the western fan, …). Nine personas, from a genre of a sixth of the catalogue
(Romance) down to one of a hundredth (Film-Noir); the genre's share is printed beside each. The
films are named by title and year, found in either dataset. A table per dataset on stdout (the
served default's lists after it) and ``bench/results/personas.json``.
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
from movierec.engine.catalog import Catalog  # noqa: E402
from movierec.engine.core import DEFAULT_MODEL  # noqa: E402
from movierec.models import registry  # noqa: E402

RESULTS = REPO / "bench" / "results" / "personas.json"
MODELS = ("hybrid", "ease", "twotower-rank", "chart")
K = 10
FIRST_USER = 99_000_001  # above every MovieLens user id
#: persona: (its genre, five MovieLens 100k movie ids it rates 5★)
#: persona: (its genre's names, MovieLens 100k's then the newer files', five films it rates 5★)
PERSONAS: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "horror fan": (
        ("Horror",),
        ["Scream (1996)", "The Shining (1980)", "Psycho (1960)",
         "A Nightmare on Elm Street (1984)", "Carrie (1976)"],
    ),
    "children's films": (
        ("Children's", "Children"),
        ["Toy Story (1995)", "The Lion King (1994)", "Aladdin (1992)",
         "Beauty and the Beast (1991)", "The Jungle Book (1967)"],
    ),
    "romance fan": (
        ("Romance",),
        ["Sleepless in Seattle (1993)", "Pretty Woman (1990)", "While You Were Sleeping (1995)",
         "Four Weddings and a Funeral (1994)", "When Harry Met Sally... (1989)"],
    ),
    "western fan": (
        ("Western",),
        ["Unforgiven (1992)", "Dances with Wolves (1990)", "Tombstone (1993)",
         "The Wild Bunch (1969)", "Butch Cassidy and the Sundance Kid (1969)"],
    ),
    "musical fan": (
        ("Musical",),
        ["The Sound of Music (1965)", "The Wizard of Oz (1939)", "Singin' in the Rain (1952)",
         "Mary Poppins (1964)", "My Fair Lady (1964)"],
    ),
    "sci-fi fan": (
        ("Sci-Fi",),
        ["Star Wars (1977)", "Alien (1979)", "Blade Runner (1982)",
         "2001: A Space Odyssey (1968)", "The Terminator (1984)"],
    ),
    "film-noir fan": (
        ("Film-Noir",),
        ["The Maltese Falcon (1941)", "Chinatown (1974)", "L.A. Confidential (1997)",
         "The Big Sleep (1946)", "Vertigo (1958)"],
    ),
    "war films": (
        ("War",),
        ["Platoon (1986)", "Full Metal Jacket (1987)", "Apocalypse Now (1979)",
         "Das Boot (1981)", "Glory (1989)"],
    ),
    "documentaries": (
        ("Documentary",),
        ["Hoop Dreams (1994)", "Crumb (1994)", "When We Were Kings (1996)", "Unzipped (1995)",
         "Microcosmos (1996)"],
    ),
}  # fmt: skip


def resolved(data: Any) -> dict[str, tuple[str, list[int]]]:
    """Each persona's genre as this dataset names it, and its films' ids here."""
    catalog = Catalog(data)
    names = {g for genres in data.catalog["genres"] for g in genres}
    out = {}
    for persona, (genres, titles) in PERSONAS.items():
        genre = next(g for g in genres if g in names)
        out[persona] = (genre, [catalog.resolve(title) for title in titles])
    return out


def persona_lists(
    model: Any, catalog: Any, personas: dict[str, tuple[str, list[int]]]
) -> dict[str, dict[str, Any]]:
    """Each persona's top-``K`` from a copy of the fitted ``model``, and how many have its
    genre."""
    genres = catalog.set_index("movie_id")["genres"]
    titles = catalog.set_index("movie_id")["title"]
    out = {}
    for n, (name, (genre, movie_ids)) in enumerate(personas.items()):
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


def measure(data: Any, models: list[str]) -> dict[str, Any]:
    """Every model's persona lists on one dataset, printed as a table."""
    personas = resolved(data)
    catalog = data.catalog
    share = {
        genre: float(catalog["genres"].apply(lambda g, genre=genre: genre in g).mean())
        for genre, _ in personas.values()
    }
    runs: dict[str, dict[str, Any]] = {}
    for name in models:
        started = time.perf_counter()
        model = registry.create(name).fit(data)
        runs[name] = persona_lists(model, catalog, personas)
        print(f"  {name}: fitted and asked in {time.perf_counter() - started:.0f} s")
    print(f"\n{data.name} · picks of the persona's genre in the top {K} (five films rated 5★)")
    print(f"  {'persona':18} {'genre':12} {'catalogue':>9}" + "".join(f"{m:>15}" for m in models))
    for persona, (genre, _) in personas.items():
        counts = "".join(f"{runs[m][persona]['of_genre']:>15}" for m in models)
        print(f"  {persona:18} {genre:12} {share[genre]:>9.1%}{counts}")
    totals = "".join(f"{sum(r['of_genre'] for r in runs[m].values()):>15}" for m in models)
    print(f"  {'all':18} {'':12} {'':>9}{totals}   (of {K * len(personas)})")
    if DEFAULT_MODEL in runs:
        print(f"\n{DEFAULT_MODEL}'s lists:")
        for persona, row in runs[DEFAULT_MODEL].items():
            print(f"  {persona}: {'; '.join(row['listed'])}")
    print()
    return {"catalogue_share": share, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ml-100k-recbole,ml-latest-small")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    document: dict[str, Any] = {
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "served_default": DEFAULT_MODEL,
        "k": K,
        "datasets": {},
    }
    for data in shared_datasets(args.datasets):
        document["datasets"][data.name] = measure(data, models)
    if not document["datasets"]:
        sys.exit("no dataset found: nothing measured, nothing written")
    write_results(RESULTS, document)


if __name__ == "__main__":
    main()
