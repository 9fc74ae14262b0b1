"""Absorbing new ratings: store durably, fold in at once, retrain in the background.

A rating is written to the store first (validated, durable when acknowledged), then the user's
whole current history is read back and folded into the serving model (their factors re-solved
with the movie factors fixed), so the very next recommendation reflects it. Vote counts and
means for the charts and the vote-count shrinkage are updated in place.

After ``after_ratings`` new ratings, or ``after_seconds`` since the last full fit with at least
one pending, a full retrain runs in a background thread from the store's ratings. The new model
is validated, published as a new version (atomic rename), and swapped in by replacing one
reference, so readers see the old model or the new one, never half of either. Writes that
arrived during the retrain are folded into the new model before the swap. A failed retrain is
logged and the old model keeps serving.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from movierec.data.dataset import Dataset
from movierec.data.mapped import release_pages
from movierec.engine.answers import RateResult
from movierec.engine.catalog import Catalog
from movierec.engine.hub import ModelHub
from movierec.engine.retrain import RetrainPolicy, training_data, validate, warm_start
from movierec.errors import NoRatingsError, UnknownUserError
from movierec.models import registry
from movierec.models.base import Recommender
from movierec.models.online import OnlineRecommender
from movierec.store import open_store
from movierec.store.base import RatingStore
from movierec.validate import int_at_least

__all__ = ["OnlineUpdater", "RateResult", "RetrainPolicy", "open_online", "validate"]

log = logging.getLogger(__name__)


@dataclass
class _View:
    """What a model other than the serving one has been told of the store: every write up
    to ``seq`` is either in it or names a user in ``stale``, folded in when next asked for."""

    model: Recommender
    seq: int
    stale: set[int] = field(default_factory=set)


class OnlineUpdater:
    """One dataset's live side: its store, the serving model's fold-ins, the retrain policy.

    It reads and writes the catalog's vote counts and the hub's models, nothing else.
    """

    def __init__(
        self,
        catalog: Catalog,
        hub: ModelHub,
        store: RatingStore,
        model_name: str,
        policy: RetrainPolicy | None = None,
    ):
        self.catalog = catalog
        self.hub = hub
        self.store = store
        self.model_name = model_name
        self.policy = policy or RetrainPolicy()
        self._write_lock = threading.Lock()  # fold-ins and swaps, one at a time
        self._retrain_lock = threading.Lock()
        self._rate_lock = threading.Lock()
        self._retrain_thread: threading.Thread | None = None
        self._views: dict[str, _View] = {}  # models asked for by name, other than the serving one
        self._views_lock = threading.Lock()
        self.last_retrain_error: str | None = None
        if not store.is_initialised():
            store.initialise(hub.dataset)
        self._fitted_seq = self._model_seq()
        self._fitted_at = time.monotonic()
        self._synced_seq = self._fitted_seq
        self._swaps = 0  # models swapped in and caught up: with the seq, what answers depend on
        self.catch_up()
        self._synced_seq = max(self._synced_seq, store.last_seq())

    # --- writes -----------------------------------------------------------------------------

    def rate(
        self,
        user_id: int,
        movie_id: int,
        rating: float,
        timestamp: int | None = None,
        *,
        background: bool = True,
    ) -> RateResult:
        """Store one rating durably, fold it in, and start a retrain if one is due."""
        int_at_least(user_id, "user_id", 0)
        self.catalog.row(movie_id)  # a movie the engine can show
        with self._rate_lock:  # read the old rating, store, count: one step for the counts
            before = self._history(int(user_id))
            seq = self.store.add_rating(int(user_id), int(movie_id), float(rating), timestamp)
            self.catalog.count_vote(int(movie_id), float(rating), before.get(int(movie_id)))
            with self._write_lock:
                self._fold_in_movie_if_new(int(movie_id))
            folded, ms = self._fold_in_user(int(user_id))
        return self._finish(
            RateResult(seq, int(user_id), int(movie_id), float(rating), folded, ms), background
        )

    def rate_batch(
        self, user_id: int, rows: list[tuple[int, float]], *, background: bool = True
    ) -> RateResult:
        """Store several ratings of one user (all or none), then fold the user in once."""
        if not rows:
            raise ValueError("ratings: expected at least one (movie_id, rating)")
        with self._rate_lock:
            before = self._history(int(user_id))
            seq = self.store.add_ratings([(int(user_id), int(m), float(r)) for m, r in rows])
            for movie_id, rating in rows:
                self.catalog.count_vote(int(movie_id), float(rating), before.get(int(movie_id)))
                before[int(movie_id)] = float(rating)
            with self._write_lock:
                for movie_id in {int(m) for m, _ in rows}:
                    self._fold_in_movie_if_new(movie_id)
            folded, ms = self._fold_in_user(int(user_id))
        last_movie, last_rating = rows[-1]
        return self._finish(
            RateResult(
                seq, int(user_id), int(last_movie), float(last_rating), folded, ms, count=len(rows)
            ),
            background,
        )

    @property
    def generation(self) -> tuple[int, int]:
        """Moves whenever what this process serves may have changed: the store's sequence
        number synced (every write folded in), and each model swapped in and caught up."""
        return self._synced_seq, self._swaps

    @property
    def retraining(self) -> bool:
        thread = self._retrain_thread
        return thread is not None and thread.is_alive()

    def _finish(self, result: RateResult, background: bool) -> RateResult:
        if not result.folded_in:
            result.notes.append(
                f"{self.model_name} cannot fold in new ratings; they count from the next retrain"
            )
        if self.due():
            result.retrain = "started" if background else "ran"
            self.retrain(block=not background)
        return result

    def catch_up(self) -> int:
        """Fold in every user whose ratings changed since the serving model was fitted."""
        changed = self.store.changed_since(self._fitted_seq)
        users: list[int] = np.unique(changed["user_id"].to_numpy()).tolist() if len(changed) else []
        for user_id in users:
            self._fold_in_user(int(user_id))
        if len(users):
            log.info("folded in %d user(s) changed since seq %d", len(users), self._fitted_seq)
        return len(users)

    def sync(self) -> int:
        """Fold in what other processes (another service worker, the CLI) stored since we last
        looked: one cheap query when nothing changed. Returns the users folded in."""
        last = self.store.last_seq()
        if last <= self._synced_seq:
            return 0
        changed = self.store.changed_since(self._synced_seq)
        users = np.unique(changed["user_id"].to_numpy())
        with self._write_lock:
            for movie_id in np.unique(changed["movie_id"].to_numpy()).tolist():
                self._fold_in_movie_if_new(int(movie_id))
        for user_id in users.tolist():
            self._fold_in_user(int(user_id))
        self._synced_seq = max(last, int(changed["seq"].max()) if len(changed) else last)
        return len(users)

    def refresh_user(self, name: str, user_id: int) -> bool:
        """Bring model ``name``'s view of one user up to the store, folding in their stored
        ratings if it never saw them or they changed since; True if a fold-in ran.

        The serving model is kept current on every write; any other model asked for learns a
        user only here, on first use, so one question costs one fold-in, not a sweep of every
        stored user. A model that cannot fold in is left as it is.
        """
        if name == self.model_name:
            return False
        model = self.hub.model(name)
        if not isinstance(model, OnlineRecommender):
            return False
        with self._views_lock:
            view = self._views.get(name)
            if view is None or view.model is not model:  # first use, or refitted since
                view = self._views[name] = _View(model, self._model_seq(name))
            last = self.store.last_seq()
            if last > view.seq:
                changed = self.store.changed_since(view.seq)
                view.stale.update(np.unique(changed["user_id"].to_numpy()).tolist())
                view.seq = last
            if user_id not in view.stale and user_id in model.users:
                return False
            scanned = view.seq
        try:
            movies, ratings = self.store.user_ratings(user_id)  # read after the seq: nothing lost
        except UnknownUserError:
            return False  # the model's own error says it better
        if not len(movies) and user_id not in model.users:
            return False  # no ratings yet: the engine answers with the chart
        known = model.movies.indices(movies, missing="mask") >= 0
        with self._write_lock:
            model.fold_in_user(user_id, movies[known], ratings[known])
        with self._views_lock:
            if view.seq == scanned:  # else a newer scan may have flagged a write we did not read
                view.stale.discard(user_id)
        return True

    def _history(self, user_id: int) -> dict[int, float]:
        try:
            movies, ratings = self.store.user_ratings(user_id)
        except UnknownUserError:
            return {}  # a new user: their first rating registers them
        return dict(zip(movies.tolist(), ratings.tolist(), strict=True))

    def _fold_in_movie_if_new(self, movie_id: int) -> None:
        """A movie the model has no factors for (new, or unrated in training) gets them from its
        raters, before a user's fold-in relies on them."""
        model = self.hub.model(self.model_name)
        if not isinstance(model, OnlineRecommender):
            return
        known = movie_id in model.movies
        if (
            known
            and model.movie_votes is not None
            and model.movie_votes[model.movies.index(movie_id)] > 0
        ):
            return
        users, ratings = self.store.movie_ratings(movie_id)
        mask = model.users.indices(users, missing="mask") >= 0
        if mask.any() or not known:
            model.fold_in_movie(movie_id, users[mask], ratings[mask])

    def _fold_in_user(self, user_id: int) -> tuple[bool, float]:
        model = self.hub.model(self.model_name)
        if not isinstance(model, OnlineRecommender):
            return False, 0.0
        movies, ratings = self.store.user_ratings(user_id)
        known = model.movies.indices(movies, missing="mask") >= 0
        started = time.perf_counter()
        with self._write_lock:
            model.fold_in_user(user_id, movies[known], ratings[known])
        return True, (time.perf_counter() - started) * 1e3

    # --- retraining -------------------------------------------------------------------------

    def pending(self) -> int:
        return self.store.changes_since(self._fitted_seq)

    def due(self) -> bool:
        pending = self.pending()
        if pending >= self.policy.after_ratings:
            return True
        waited = time.monotonic() - self._fitted_at
        return bool(
            pending
            and self.policy.after_seconds is not None
            and waited >= self.policy.after_seconds
        )

    def retrain(self, *, block: bool = False) -> None:
        """Start a full retrain (unless one is running); ``block`` waits for it."""
        with self._retrain_lock:
            running = self._retrain_thread is not None and self._retrain_thread.is_alive()
            if not running:
                self._retrain_thread = threading.Thread(
                    target=self._retrain, daemon=True, name=f"retrain-{self.model_name}"
                )
                self._retrain_thread.start()
            thread = self._retrain_thread
        if block and thread is not None:
            thread.join()

    def _retrain(self) -> None:  # one process at a time: another worker may be fitting it
        versions = self.hub.versions(self.model_name)
        with versions.turn() if versions is not None else contextlib.nullcontext():
            if not self._adopt_newer():
                self._fit_and_swap()

    def _adopt_newer(self) -> bool:
        """Serve the version another process (a worker, `movierec train`) published from more
        of the store than ours, folding in what came after; True if so: no fit needed."""
        stored_seq = self._model_seq()
        model = self.hub.stored_model(self.model_name) if stored_seq > self._fitted_seq else None
        if model is None:  # none newer, or unreadable (logged): fit our own
            return False
        with self._write_lock:
            self.hub.swap(self.model_name, model)
            self._fitted_seq, self._fitted_at = stored_seq, time.monotonic()
        self.catch_up()
        self._swaps += 1  # after the catch-up: an answer from the half-told model is not reused
        self.last_retrain_error = None
        log.info("adopted the %s version fitted at seq %d", self.model_name, stored_seq)
        return True

    def _fit_and_swap(self) -> None:
        try:
            seq = self.store.last_seq()
            data = self.training_data()
            model_class, config = registry.resolve(self.model_name)
            model = warm_start(model_class(config), self.hub.model(self.model_name))
            started = time.perf_counter()
            model = model.fit(data)
            seconds = time.perf_counter() - started
            validation = validate(model, data)
            versions = self.hub.versions(self.model_name)
            metrics = {
                "base_fingerprint": self.hub.fingerprint,
                "trained_from": "store",
                "store_seq": seq,
                "fit_seconds": round(seconds, 3),
                "ratings": len(data.ratings),
                "validation": validation,
            }
            number = versions.publish(model, metrics) if versions is not None else 0
            with self._write_lock:
                self.hub.swap(self.model_name, model)
                self._fitted_seq, self._fitted_at = seq, time.monotonic()
            self.catch_up()  # writes that arrived while fitting
            self._swaps += 1
            self.last_retrain_error = None
            release_pages(self.hub.dataset.ratings)  # read for the fit; mapped: let go again
            log.info(
                "retrained %s from %d ratings in %.2f s → v%04d (%s)",
                self.model_name,
                len(data.ratings),
                seconds,
                number,
                validation,
            )
        except Exception as exc:  # the old model keeps serving; say why
            self.last_retrain_error = f"{type(exc).__name__}: {exc}"
            log.error(
                "retrain of %s failed, the previous model keeps serving: %s",
                self.model_name,
                self.last_retrain_error,
            )

    def training_data(self) -> Dataset:
        """The base catalog plus movies added since, and every rating in the store."""
        return training_data(self.hub.dataset, self.store)

    def _model_seq(self, name: str | None = None) -> int:
        """The store seq a model's current version was fitted at (0: from the dataset)."""
        return self.hub.stored_seq(name or self.model_name)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running retrain (tests and shutdown)."""
        thread = self._retrain_thread
        if thread is not None:
            thread.join(timeout)


def open_online(
    catalog: Catalog,
    hub: ModelHub,
    location: str | Path,
    *,
    create: bool = True,
    explicit: bool = False,
    policy: RetrainPolicy | None = None,
) -> OnlineUpdater | None:
    """The live side over the store at ``location``, folding into the hub's serving model.

    Args:
        create: open (and initialise) the store if needed; False only attaches to a store
            that already holds this dataset (None otherwise), so read-only commands never
            create one.
        explicit: ``location`` was given (a ``--db``), not the home folder's default; it is
            opened even when no file is there yet (a URL has none).
    """
    if not len(hub.dataset.ratings):  # a catalog alone: nothing to store, fold in or retrain
        if not create:
            return None
        raise NoRatingsError(hub.dataset.name)
    if not create and not explicit and not Path(location).exists():
        return None
    store = open_store(location, hub.dataset.name)
    if not create and not store.is_initialised():
        store.close()
        return None
    return OnlineUpdater(catalog, hub, store, hub.serving_model(), policy)
