"""The one behaviour suite every ratings-store backend passes.

A backend's test module subclasses :class:`RatingStoreContract` and provides the ``location``
fixture (a fresh, empty database) and the :meth:`~RatingStoreContract.raw` and
:meth:`~RatingStoreContract.hold_write_lock` hooks, as gorse's storage backends embed one test
suite. Everything else, durability and concurrency included, is written once here.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, HALF_STARS, Dataset
from movierec.errors import (
    IdTakenError,
    InvalidRatingError,
    InvalidValueError,
    SchemaVersionError,
    StoreError,
    StoreUnavailableError,
    UnknownMovieError,
    UnknownUserError,
)
from movierec.store import RatingStore, open_store
from movierec.store.schema import SCHEMA_VERSION
from tests.store import writer
from tests.store.sample import FIRST_NEW_USER, N_MOVIES, N_USERS, sample_dataset

WRITER = Path(writer.__file__)
NAME = "tiny"


class RatingStoreContract:
    """Shared tests; subclasses supply ``location`` and the two hooks."""

    #: Seconds a writer waits for a lock in the lock test: short, so the test is fast.
    lock_timeout = 0.3

    @pytest.fixture
    def location(self) -> str:
        raise NotImplementedError

    def raw(self, location: str, sql: str) -> list[tuple[Any, ...]]:
        """Run SQL on the database directly (committed), returning its rows."""
        raise NotImplementedError

    def hold_write_lock(self, location: str) -> AbstractContextManager[None]:
        """Another connection holding the lock every writer needs, until the block ends."""
        raise NotImplementedError

    def check_integrity(self, location: str) -> None:
        """Backend-specific consistency check after a crash (SQLite: integrity_check)."""

    @pytest.fixture
    def data(self) -> Dataset:
        return sample_dataset(NAME)

    @pytest.fixture
    def store(self, location: str, data: Dataset) -> Iterator[RatingStore]:
        with open_store(location, NAME) as store:
            store.initialise(data)
            yield store

    # --- set-up and round trips ----------------------------------------------------------------

    def test_fresh_store_needs_initialise(self, location: str) -> None:
        with open_store(location, NAME) as store:
            assert not store.is_initialised()
            for call in (store.scale, store.last_seq, lambda: store.add_rating(1, 1, 3.0)):
                with pytest.raises(StoreError, match="not initialised"):
                    call()

    def test_initialise_round_trip(self, location: str, data: Dataset) -> None:
        with open_store(location, NAME) as store:
            assert store.initialise(data) == len(data.ratings)
            assert store.is_initialised()
            assert store.scale() == HALF_STARS
            assert store.last_seq() == 0
            back = store.all_ratings()
            assert list(back.columns) == list(data.ratings.columns)
            assert back.dtypes.to_dict() == data.ratings.dtypes.to_dict()
            expected = data.ratings.sort_values(["user_id", "movie_id"]).reset_index(drop=True)
            pd.testing.assert_frame_equal(back, expected)
            assert store.has_movie(N_MOVIES) and not store.has_movie(N_MOVIES + 1)
            assert store.has_user(N_USERS) and not store.has_user(N_USERS + 1)
            assert store.user_demographics(2) == {"age": int(data.users["age"][1]), "gender": "F"}
            movies, values = store.user_ratings(1)
            mine = expected[expected.user_id == 1]
            np.testing.assert_array_equal(movies, mine.movie_id.to_numpy())
            np.testing.assert_array_equal(values, mine.rating.to_numpy())
            assert movies.dtype == np.int32 and values.dtype == np.float32
            users, _ = store.movie_ratings(1)
            np.testing.assert_array_equal(users, np.sort(expected[expected.movie_id == 1].user_id))
            assert store.new_movies().empty

    def test_initialise_is_idempotent(self, location: str, data: Dataset) -> None:
        with open_store(location, NAME) as store:
            store.initialise(data)
            assert store.initialise(data) == 0
        with open_store(location, NAME) as store:
            assert store.initialise(data) == 0
            assert len(store.all_ratings()) == len(data.ratings)

    def test_initialise_keeps_newest_duplicate_and_checks_scale(self, location: str) -> None:
        data = sample_dataset(NAME)
        newer = data.ratings.iloc[[0]].assign(
            rating=np.float32(0.5), timestamp=data.ratings.timestamp.max() + 1
        )
        dup = Dataset(NAME, data.catalog, pd.concat([newer, data.ratings]), scale=HALF_STARS)
        with open_store(location, NAME) as store:
            with pytest.raises(InvalidRatingError, match=r"row \d+: rating"):
                store.initialise(dup, scale=FIVE_STARS)  # 0.5 is off a five-star scale
            assert not store.is_initialised()
            assert store.initialise(dup) == len(data.ratings)
            user, movie = int(newer.user_id.iloc[0]), int(newer.movie_id.iloc[0])
            movies, values = store.user_ratings(user)
            assert values[list(movies).index(movie)] == 0.5

    def test_initialise_100k_ratings(self, location: str) -> None:
        data = sample_dataset("big", n_users=2_000, n_movies=1_500, n_ratings=100_000)
        with open_store(location, "big") as store:
            assert store.initialise(data) == 100_000
            assert len(store.all_ratings()) == 100_000

    @pytest.mark.bench
    def test_bench_initialise_100k_ratings_within_5s(self, location: str) -> None:
        data = sample_dataset("big", n_users=2_000, n_movies=1_500, n_ratings=100_000)
        with open_store(location, "big") as store:
            started = time.perf_counter()
            assert store.initialise(data) == 100_000
            assert time.perf_counter() - started < 5.0

    def test_datasets_share_one_database(self, store: RatingStore, location: str) -> None:
        other = sample_dataset("other", n_users=5, n_movies=5, n_ratings=10, seed=1)
        with open_store(location, "other") as second:
            assert second.initialise(other) == 10
            rated_before = 5 in second.user_ratings(1)[0] if second.has_user(1) else False
            assert second.add_rating(1, 5, 5.0) == 1
            assert store.add_rating(1, 5, 1.0) == 1  # own sequence per dataset
            assert len(second.all_ratings()) == 10 + (not rated_before)
            assert not second.has_movie(N_MOVIES)
            assert store.has_movie(N_MOVIES)
            assert dict(zip(*second.user_ratings(1), strict=True))[5] == 5.0
            assert dict(zip(*store.user_ratings(1), strict=True))[5] == 1.0

    # --- writes --------------------------------------------------------------------------------

    def test_add_rating_sequence_and_reads(self, store: RatingStore, data: Dataset) -> None:
        user = FIRST_NEW_USER
        assert not store.has_user(user)
        seqs = [store.add_rating(user, m, 4.5, timestamp=100 + m) for m in (3, 1, 2)]
        assert seqs == [1, 2, 3] and store.last_seq() == 3
        assert store.has_user(user)  # registered by its first rating
        movies, values = store.user_ratings(user)
        assert movies.tolist() == [1, 2, 3] and values.tolist() == [4.5, 4.5, 4.5]
        assert user in store.movie_ratings(3)[0]
        assert store.changes_since(1) == 2 and store.changes_since(3) == 0
        assert len(store.all_ratings()) == len(data.ratings) + 3
        before = time.time()
        store.add_rating(user, 4, 3.0)  # no timestamp: now
        stamp = store.all_ratings().query(f"user_id == {user} and movie_id == 4").timestamp
        assert before - 1 <= stamp.iloc[0] <= time.time() + 1

    def test_changed_since_lists_the_pairs_written_after_a_seq(self, store: RatingStore) -> None:
        user = FIRST_NEW_USER
        for movie in (3, 1, 2):
            store.add_rating(user, movie, 4.0)
        store.add_rating(user, 3, 2.0)  # a re-rating moves the pair to the newest seq
        changed = store.changed_since(1)
        assert changed[["movie_id", "seq"]].values.tolist() == [[1, 2], [2, 3], [3, 4]]
        assert set(changed["user_id"]) == {user}
        assert len(store.changed_since(0)) == 3 and len(store.changed_since(4)) == 0

    def test_upsert_keeps_newer_timestamp(self, store: RatingStore) -> None:
        user = FIRST_NEW_USER

        def current() -> float:
            return dict(zip(*store.user_ratings(user), strict=True))[7]

        assert store.add_rating(user, 7, 4.0, timestamp=200) == 1
        assert store.add_rating(user, 7, 2.0, timestamp=100) == 2  # older: acknowledged, ignored
        assert current() == 4.0
        store.add_rating(user, 7, 1.0, timestamp=300)
        assert current() == 1.0
        store.add_rating(user, 7, 5.0, timestamp=300)  # same second: the later write wins
        assert current() == 5.0
        assert store.changes_since(0) == 4
        assert len(store.user_ratings(user)[0]) == 1

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            ((1, 1, 3.7), "rating"),
            ((1, 1, math.nan), "rating"),
            ((1, 1, math.inf), "rating"),
            ((1, 1, 0.0), "rating"),
            ((1, 1, 5.5), "rating"),
            ((1, 1, "4"), "rating"),
            ((1, 1, True), "rating"),
            ((1, 1, None), "rating"),
            ((-1, 1, 3.0), "user_id"),
            ((2**31, 1, 3.0), "user_id"),
            ((1.5, 1, 3.0), "user_id"),
            ((1, "x", 3.0), "movie_id"),
            ((1, 1, 3.0, -5), "timestamp"),
            ((1, 1, 3.0, 1.5), "timestamp"),
        ],
    )
    def test_invalid_rating_writes_nothing(
        self, store: RatingStore, args: tuple[Any, ...], field: str
    ) -> None:
        before = store.all_ratings()
        with pytest.raises(InvalidRatingError) as caught:
            store.add_rating(*args)
        assert isinstance(caught.value, ValueError)
        assert caught.value.field == field and caught.value.row is None
        assert str(caught.value).startswith(field)
        if field == "rating":
            assert "0.5–5 in steps of 0.5" in str(caught.value)
        assert store.last_seq() == 0
        pd.testing.assert_frame_equal(store.all_ratings(), before)

    def test_unknown_movie_writes_nothing(self, store: RatingStore) -> None:
        with pytest.raises(UnknownMovieError, match="unknown movie 999"):
            store.add_rating(FIRST_NEW_USER, 999, 3.0)
        assert store.last_seq() == 0 and not store.has_user(FIRST_NEW_USER)

    def test_batch_is_all_or_nothing(self, store: RatingStore, data: Dataset) -> None:
        user = FIRST_NEW_USER
        good = [(user, 1, 3.0), (user, 2, 3.5, 50)]
        for bad, error, pattern in [
            ((user, 3, 3.7), InvalidRatingError, "row 2: rating 3.7"),
            ((user, 999, 3.0), UnknownMovieError, "row 2: unknown movie"),
            ((user, 3), InvalidRatingError, "row 2: rating"),
        ]:
            with pytest.raises(error, match=pattern):
                store.add_ratings([*good, bad, (user + 1, 4, 4.0)])
            assert store.last_seq() == 0 and not store.has_user(user)
            assert len(store.all_ratings()) == len(data.ratings)
        assert store.add_ratings(good) == 2
        frame = pd.DataFrame(
            {
                "user_id": [user, user],
                "movie_id": [5, 5],
                "rating": [1.0, 2.0],
                "timestamp": [10, 10],
            }
        )
        assert store.add_ratings(frame) == 4  # rows in order: the later one wins
        assert dict(zip(*store.user_ratings(user), strict=True)) == {1: 3.0, 2: 3.5, 5: 2.0}
        assert store.add_ratings([]) == 4

    def test_add_user_ids(self, store: RatingStore) -> None:
        assert store.add_user() == N_USERS + 1
        assert store.add_user(500, age=30, gender="F", occupation=None) == 500
        assert store.user_demographics(500) == {"age": 30, "gender": "F", "occupation": None}
        assert store.user_demographics(N_USERS + 1) == {}
        store.add_rating(9_000, 1, 3.0)  # a user seen only through a rating
        assert store.add_user() == 9_001
        with pytest.raises(IdTakenError, match="user_id 500 already exists"):
            store.add_user(500)
        for bad in ({"user_id": -3}, {"user_id": "7"}, {"age": [1, 2]}, {"age": math.nan}):
            with pytest.raises(InvalidValueError):
                store.add_user(**bad)
        with pytest.raises(UnknownUserError):
            store.user_demographics(12_345)

    def test_add_movie_then_rate_it(self, store: RatingStore) -> None:
        movie = store.add_movie(None, "Arrival", 2016, ["Sci-Fi", "Drama"])
        assert movie == N_MOVIES + 1 and store.has_movie(movie)
        assert store.add_movie(777, "Untitled") == 777
        store.add_rating(1, movie, 5.0)
        assert store.movie_ratings(movie)[0].tolist() == [1]
        new = store.new_movies()
        assert new.movie_id.tolist() == [movie, 777]
        assert new.title.tolist() == ["Arrival", "Untitled"]
        assert new.year.dtype == "Int16" and new.year.iloc[0] == 2016 and pd.isna(new.year.iloc[1])
        assert new.genres.tolist() == [["Sci-Fi", "Drama"], []]
        with pytest.raises(IdTakenError, match="movie_id 777 already exists"):
            store.add_movie(777, "Again")
        for args in (
            (None, ""),
            (None, "X", 1500),
            (None, "X", 2000, ["A|B"]),
            (None, "X", 2000, "Drama"),
        ):
            with pytest.raises(InvalidValueError):
                store.add_movie(*args)
        assert store.last_seq() == 1  # adding movies is not a rating write

    def test_token_hashes(self, store: RatingStore) -> None:
        assert store.user_token_hash(1) is None
        store.set_user_token_hash(1, "sha256$abc123")
        store.set_user_token_hash(1, "sha256$def456")
        assert store.user_token_hash(1) == "sha256$def456"
        assert store.user_token_hash(12_345) is None
        with pytest.raises(UnknownUserError):
            store.set_user_token_hash(12_345, "sha256$x")
        for bad in ("", "two words", None):
            with pytest.raises(InvalidValueError, match="token_hash"):
                store.set_user_token_hash(1, bad)  # type: ignore[arg-type]

    def test_unknown_ids_on_read(self, store: RatingStore) -> None:
        with pytest.raises(UnknownUserError):
            store.user_ratings(12_345)
        with pytest.raises(UnknownMovieError):
            store.movie_ratings(12_345)
        user = store.add_user()
        movies, values = store.user_ratings(user)
        assert len(movies) == 0 and movies.dtype == np.int32 and values.dtype == np.float32
        assert len(store.movie_ratings(store.add_movie(None, "Nobody saw it"))[0]) == 0

    # --- schema, life cycle, locks -------------------------------------------------------------

    def test_newer_schema_is_refused(self, location: str, data: Dataset) -> None:
        with open_store(location, NAME) as store:
            store.initialise(data)
        self.raw(location, "INSERT INTO schema_version VALUES (99, 0)")
        with pytest.raises(SchemaVersionError, match=f"version 99.*up to version {SCHEMA_VERSION}"):
            open_store(location, NAME)
        assert self.raw(location, "SELECT count(*) FROM ratings")[0][0] == len(data.ratings)
        assert self.raw(location, "SELECT max(version) FROM schema_version")[0][0] == 99

    def test_closed_store_refuses_and_reopens(self, location: str, data: Dataset) -> None:
        store = open_store(location, NAME)
        store.initialise(data)
        store.add_rating(1, 1, 5.0)
        store.close()
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.last_seq()
        with open_store(location, NAME) as again:
            assert again.last_seq() == 1

    @contextmanager
    def impatient_while_locked(self, location: str) -> Iterator[RatingStore]:
        """A store with the short lock timeout, while another connection holds the lock."""
        with (
            open_store(location, NAME, timeout=self.lock_timeout) as impatient,
            self.hold_write_lock(location),
        ):
            yield impatient

    def test_locked_database_gives_up_after_timeout(
        self, store: RatingStore, location: str
    ) -> None:
        with self.impatient_while_locked(location) as impatient:
            with pytest.raises(StoreUnavailableError, match="lock"):
                impatient.add_rating(1, 1, 3.0)
            assert len(impatient.user_ratings(1)[0]) > 0  # reads do not wait for the writer
        assert store.add_rating(1, 1, 3.0) == 1  # the lock is gone: writes go through again

    @pytest.mark.bench
    def test_bench_locked_write_gives_up_soon_after_timeout(
        self, store: RatingStore, location: str
    ) -> None:
        with self.impatient_while_locked(location) as impatient:
            started = time.perf_counter()
            with pytest.raises(StoreUnavailableError, match="lock"):
                impatient.add_rating(1, 1, 3.0)
            assert time.perf_counter() - started < self.lock_timeout + 3

    # --- concurrency and durability ------------------------------------------------------------

    def test_threads_share_one_store(self, store: RatingStore) -> None:
        errors: list[BaseException] = []
        per_thread, threads = 25, 4

        def write(worker: int) -> None:
            try:
                for j in range(per_thread):
                    store.add_rating(FIRST_NEW_USER + worker, j + 1, 3.0, 100)
                    store.add_rating(
                        FIRST_NEW_USER + 99, j + 1, 0.5 * (worker + 1), 1_000 + 10 * j + worker
                    )
            except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
                errors.append(exc)

        pool = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert not errors
        assert store.last_seq() == 2 * per_thread * threads
        for worker in range(threads):
            assert len(store.user_ratings(FIRST_NEW_USER + worker)[0]) == per_thread
        assert set(store.user_ratings(FIRST_NEW_USER + 99)[1].tolist()) == {0.5 * threads}

    def test_forked_child_uses_its_own_connections(self, store: RatingStore) -> None:
        assert store.last_seq() == 0  # the parent has a connection before the fork
        child = multiprocessing.get_context("fork").Process(target=_rate_and_close, args=(store,))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0
        assert store.last_seq() == 1  # the parent's connection still works
        assert store.add_rating(2, 2, 2.0) == 2

    def test_writer_processes_lose_nothing(self, location: str) -> None:
        workers, n = 4, 20
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(WRITER),
                    "concurrent",
                    location,
                    NAME,
                    str(w),
                    str(workers),
                    str(n),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(workers)
        ]
        outputs = [proc.communicate(timeout=120) for proc in procs]
        for proc, (_out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-2000:]
        inits = [int(out.split()[1]) for out, _ in outputs]
        data = sample_dataset(NAME)
        assert sorted(inits) == [0] * (workers - 1) + [len(data.ratings)]
        with open_store(location, NAME) as store:
            assert store.last_seq() == workers * (2 * n + writer.BATCH)
            expected: dict[tuple[int, int], tuple[int, float]] = {}
            for w in range(workers):
                for j in range(n):
                    user, movie, rating, stamp = writer.overlap_rating(w, workers, j)
                    if stamp > expected.get((user, movie), (-1, 0.0))[0]:
                        expected[(user, movie)] = (stamp, rating)
                    assert (
                        dict(zip(*store.user_ratings(writer.worker_user(w)), strict=True)).get(
                            j % N_MOVIES + 1
                        )
                        is not None
                    )
                assert len(store.user_ratings(writer.batch_user(w))[0]) == min(
                    writer.BATCH, N_MOVIES
                )
            got = dict(zip(*store.user_ratings(writer.OVERLAP_USER), strict=True))
            assert got == {movie: rating for (_, movie), (_, rating) in expected.items()}

    def stream_then(self, location: str, acks_wanted: int, crash: Any) -> list[list[str]]:
        """Run a streaming writer, call ``crash(proc)`` after enough acks, return the acks."""
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), "stream", location, NAME],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        acks = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                acks.append(line.split())
                if len(acks) >= acks_wanted:
                    crash(proc)
                    break
            else:
                pytest.fail(f"writer ended early: {proc.stderr.read()[-2000:]}")  # type: ignore
            acks.extend(line.split() for line in proc.stdout)  # printed before the crash
        finally:
            proc.kill()
            proc.wait(timeout=30)
        return [a for a in acks if len(a) == 4]  # a torn last line is not an ack

    def check_acks(self, location: str, acks: list[list[str]], data: Dataset) -> None:
        self.check_integrity(location)
        with open_store(location, NAME) as store:
            last = store.last_seq()
            assert last >= max(int(a[0]) for a in acks)
            ratings = store.all_ratings().set_index(["user_id", "movie_id"])["rating"]
            for _, user, movie, rating in acks:
                assert ratings[(int(user), int(movie))] == float(rating)
            # every write is a new pair, so rows and the sequence agree: nothing half-written
            assert len(ratings) == len(data.ratings) + last
            assert store.add_rating(1, 1, 3.0) == last + 1  # and the store still writes

    def test_sigkill_keeps_every_acknowledged_rating(
        self, store: RatingStore, location: str, data: Dataset
    ) -> None:
        acks = self.stream_then(location, 60, lambda proc: os.kill(proc.pid, signal.SIGKILL))
        assert len(acks) >= 60
        self.check_acks(location, acks, data)


def _rate_and_close(store: RatingStore) -> None:
    store.add_rating(1, 1, 3.0)
    store.close()
