"""A writer process for the durability and concurrency tests (run as a script).

``writer.py stream LOCATION DATASET``: add ratings one by one, printing ``seq user movie rating``
only after ``add_rating`` returned, until killed or the store becomes unavailable.

``writer.py concurrent LOCATION DATASET WORKER WORKERS N``: initialise the sample dataset (all
workers race to, only one loads it), then write ``N`` disjoint single ratings, ``N`` ratings
of pairs every worker also writes (timestamps decide the winner, see :func:`overlap_rating`)
and one disjoint batch of ``BATCH`` rows; prints ``init K`` first and ``done LAST_SEQ`` last.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from movierec.errors import StoreUnavailableError  # noqa: E402
from movierec.store import open_store  # noqa: E402
from tests.store.sample import FIRST_NEW_USER, N_MOVIES, sample_dataset  # noqa: E402

BATCH = 50
OVERLAP_USER = FIRST_NEW_USER + 5_000


def stream_pair(i: int) -> tuple[int, int, float]:
    """The i-th streamed rating: a pair never written before, so rows = writes."""
    return FIRST_NEW_USER + i // N_MOVIES, i % N_MOVIES + 1, 0.5 + (i % 10) / 2


def worker_user(worker: int) -> int:
    return FIRST_NEW_USER + 1_000 + worker


def batch_user(worker: int) -> int:
    return FIRST_NEW_USER + 2_000 + worker


def overlap_rating(worker: int, workers: int, j: int) -> tuple[int, int, float, int]:
    """(user, movie, rating, timestamp) of the j-th shared pair as ``worker`` writes it.

    The winner (newest timestamp) of pair j is the worker with the largest
    ``(worker + j) % workers``; its rating is ``0.5 * (worker + 1)``, which names it.
    """
    return (
        OVERLAP_USER,
        j % N_MOVIES + 1,
        0.5 * (worker + 1),
        10_000 + 10 * j + (worker + j) % workers,
    )


def stream(location: str, dataset: str) -> None:
    with open_store(location, dataset, timeout=30) as store:
        for i in range(1_000_000):
            user, movie, rating = stream_pair(i)
            try:
                seq = store.add_rating(user, movie, rating, timestamp=1_700_000_000)
            except StoreUnavailableError:
                return  # the server was crashed under us: everything printed is acknowledged
            print(seq, user, movie, rating, flush=True)


def concurrent(location: str, dataset: str, worker: int, workers: int, n: int) -> None:
    with open_store(location, dataset, timeout=30) as store:
        print("init", store.initialise(sample_dataset(dataset)), flush=True)
        for j in range(n):
            store.add_rating(worker_user(worker), j % N_MOVIES + 1, 0.5 + (j % 10) / 2, 1_000 + j)
            store.add_rating(*overlap_rating(worker, workers, j))
        store.add_ratings(
            [(batch_user(worker), j % N_MOVIES + 1, 3.0, 5_000 + j) for j in range(BATCH)]
        )
        print("done", store.last_seq(), flush=True)


if __name__ == "__main__":
    mode, location, name, *rest = sys.argv[1:]
    if mode == "stream":
        stream(location, name)
    else:
        concurrent(location, name, *(int(v) for v in rest))
