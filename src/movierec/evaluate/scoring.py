"""Scoring fitted models on one fold: what the fold knows is computed once, then each model is
asked the same questions.

:class:`FoldScorer` holds what every model of a fold shares (the known test pairs, the relevant
sets, training popularity, the short head and the users' profiles); :meth:`FoldScorer.score`
times one model's predictions and lists and turns them into the figures of
:mod:`movierec.evaluate.metrics` and :mod:`movierec.evaluate.beyond`. The rules (which test
ratings count, how cold users are told their profile) are in :mod:`movierec.evaluate.runner`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.evaluate import beyond, metrics
from movierec.evaluate.splits import Split
from movierec.models import calibration
from movierec.models.base import Ranking, RatingPredictor, Recommender
from movierec.models.online import OnlineRecommender


@dataclass(frozen=True)
class Profiles:
    """What the model knew of each evaluated user (rows aligned with ``FoldScorer.users``)."""

    rows: np.ndarray
    movies: np.ndarray
    ratings: np.ndarray
    taste: np.ndarray  # users × genres: the liked-genre distribution p
    #: per user row, films they rated that are neither told nor tested (a cold user's ratings
    #: between a smaller profile and the largest); left out of their lists, as the told are
    unscored: tuple[np.ndarray, ...] = ()

    @classmethod
    def of(
        cls,
        users: np.ndarray,
        ratings: pd.DataFrame,
        genres: calibration.GenreMatrix,
        threshold: float | None,
    ) -> Profiles:
        rows = pd.Index(users).get_indexer(ratings["user_id"].to_numpy())
        inside = rows >= 0
        rows = rows[inside]
        movies = ratings["movie_id"].to_numpy()[inside]
        values = ratings["rating"].to_numpy(np.float64)[inside]
        taste = calibration.taste_distributions(
            genres.rows, rows, genres.index(movies), values, len(users), threshold
        )
        return cls(rows, movies, values, taste)

    def leaving_out(self, users: np.ndarray, untold: pd.DataFrame) -> Profiles:
        """These profiles, with each user's ``untold`` films set aside as unscored."""
        rows = pd.Index(users).get_indexer(untold["user_id"].to_numpy())
        inside = rows >= 0
        rows, movies = rows[inside], untold["movie_id"].to_numpy()[inside]
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(len(users) + 1))
        unscored = tuple(movies[order[a:b]] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
        return dataclasses.replace(self, unscored=unscored)


class FoldScorer:
    """What is computed once per fold and shared by every model: known pairs, relevant sets,
    training popularity, the short head and the users' profiles."""

    def __init__(
        self,
        part: Split,
        threshold: float | None,
        genres: calibration.GenreMatrix,
        head_share: float,
    ):
        self.part, self.threshold, self.genres = part, threshold, genres
        train, test = part.train.ratings, part.test
        train_movies = np.unique(train["movie_id"].to_numpy())
        self.cold = part.profile is not None
        if self.cold:  # every test user is cold and is folded in before any question
            known_users = np.unique(test["user_id"].to_numpy())
        else:
            known_users = np.unique(train["user_id"].to_numpy())
        user_known = np.isin(test["user_id"].to_numpy(), known_users)
        known = user_known & np.isin(test["movie_id"].to_numpy(), train_movies)
        self.rated = test[known]
        self.relevant = metrics.relevant_items(test[user_known], threshold)
        self.users = np.unique(test["user_id"].to_numpy()[user_known])
        has_relevant = np.isin(self.users, self.relevant["user_id"].to_numpy())
        self.skipped = int((~has_relevant).sum())
        self.popularity = beyond.TrainingPopularity.from_ratings(train)
        self.head = beyond.short_head(self.popularity, head_share)
        self._profiles: dict[int | None, Profiles] = {}

    def cold_counts(self) -> dict[str, int]:
        profile = self.part.profile
        if profile is None:
            return {}
        return {"cold_users": len(self.users), "profile_ratings": len(profile)}

    def profiles(self, size: int | None) -> Profiles:
        """The users' profiles: their training ratings, or the ``size`` earliest told.

        A cold user's ratings after the ``size`` earliest and within the largest profile are
        neither told nor tested: they are left out of the user's list (:meth:`recommend`), or a
        model that finds films the user did rate would be charged for them as misses.
        """
        if size not in self._profiles:
            if self.cold:
                ratings = self.part.profile_prefix(size or 0)
            else:
                train = self.part.train.ratings
                ratings = train[np.isin(train["user_id"].to_numpy(), self.users)]
            profiles = Profiles.of(self.users, ratings, self.genres, self.threshold)
            if self.cold:
                profiles = profiles.leaving_out(self.users, self.part.profile_after(size or 0))
            self._profiles[size] = profiles
        return self._profiles[size]

    def fold_in(self, model: OnlineRecommender, profiles: Profiles) -> float:
        """Tell an online model every cold user's profile; returns the seconds it took."""
        index = model.movies  # NotFittedError before fit
        started = time.perf_counter()
        order = np.argsort(profiles.rows, kind="stable")
        bounds = np.searchsorted(profiles.rows[order], np.arange(len(self.users) + 1))
        for row, user in enumerate(self.users.tolist()):
            mine = order[bounds[row] : bounds[row + 1]]
            movies, ratings = profiles.movies[mine], profiles.ratings[mine]
            known = index.indices(movies, missing="mask") >= 0
            model.fold_in_user(user, movies[known], ratings[known])
        return time.perf_counter() - started

    def score(
        self, model: Recommender, k: int, size: int | None = None, calibrate: float = 0.0
    ) -> dict[str, float]:
        figures: dict[str, float] = {}
        profiles = self.profiles(size)
        if self.cold:  # the runner gives cold folds to online models only
            if not isinstance(model, OnlineRecommender):
                raise TypeError(f"{type(model).__name__} cannot absorb the cold users")
            figures["fold_in_seconds"] = self.fold_in(model, profiles)
        if isinstance(model, RatingPredictor):
            started = time.perf_counter()
            predicted = model.predict(
                self.rated["user_id"].to_numpy(),
                self.rated["movie_id"].to_numpy(),
            )
            figures["predict_seconds"] = time.perf_counter() - started
            truth = self.rated["rating"].to_numpy()
            figures["rmse"] = metrics.rmse(truth, predicted)
            figures["mae"] = metrics.mae(truth, predicted)
        started = time.perf_counter()
        lists = self.recommend(model, k, profiles, calibrate)
        figures["recommend_seconds"] = time.perf_counter() - started
        recommended, lengths = metrics.stack_rankings(lists, k)
        ranking = metrics.ranking_scores(self.users, recommended, lengths, self.relevant, k)
        figures.update(ranking.means())
        longtail = beyond.longtail_scores(
            self.users, recommended, lengths, self.relevant, k, self.head
        )
        figures.update(longtail.means())
        train = self.part.train
        figures.update(
            coverage=metrics.coverage(recommended, lengths, len(train.catalog)),
            popularity=metrics.mean_popularity(recommended, lengths, train.ratings),
            novelty=beyond.novelty(recommended, lengths, self.popularity),
            popularity_lift=beyond.popularity_lift(
                recommended, lengths, profiles.rows, profiles.movies, self.popularity
            ),
            personalization=calibration.personalization(recommended, lengths),
            miscalibration=beyond.miscalibration(recommended, lengths, profiles.taste, self.genres),
            intra_list_diversity=beyond.intra_list_diversity(recommended, lengths, self.genres),
            n_ranked_users=float(len(ranking.users)),
            n_longtail_users=float(len(longtail.users)),
        )
        return figures

    def recommend(
        self, model: Recommender, k: int, profiles: Profiles, calibrate: float
    ) -> list[np.ndarray]:
        """Each user's top ``k``, seen and unscored excluded; re-ranked toward their taste when
        λ > 0."""
        lists = []
        pool_size = k if calibrate <= 0 else max(k, calibration.RERANK_POOL)
        for row, user in enumerate(self.users.tolist()):
            unscored = profiles.unscored[row] if profiles.unscored else None
            if unscored is None or not len(unscored):
                pool = model.recommend(user, pool_size, exclude_seen=True)
            else:
                pool = model.recommend(user, pool_size + len(unscored), exclude_seen=True)
                keep = np.flatnonzero(~np.isin(pool.movie_ids, unscored))[:pool_size]
                pool = dataclasses.replace(
                    pool, movie_ids=pool.movie_ids[keep], scores=pool.scores[keep]
                )
            if calibrate <= 0:
                lists.append(pool.movie_ids)
                continue
            pool = self._with_genre_quotas(model, user, pool, profiles.taste[row], k, unscored)
            order = calibration.calibrated_rerank(
                pool.scores, self.genres.rows_of(pool.movie_ids), profiles.taste[row], k, calibrate
            )
            lists.append(pool.movie_ids[order])
        return lists

    def _with_genre_quotas(
        self,
        model: Recommender,
        user: int,
        pool: Ranking,
        taste: np.ndarray,
        k: int,
        unscored: np.ndarray | None,
    ) -> Ranking:
        """The pool and, for each genre ``g`` of the user's taste, the model's ⌈k·p(g)⌉ best
        films of ``g``, best first: the pool the hybrid's re-ranking serves from
        (:func:`~movierec.models.calibration.rerank_pool`), asked of any model by
        ``recommend`` with candidates."""
        quotas = np.ceil(k * np.asarray(taste) - 1e-9).astype(np.int64)
        ids, scores = [pool.movie_ids], [np.asarray(pool.scores, np.float64)]
        for g in np.flatnonzero(quotas > 0):
            members = self.genres.movie_ids[self.genres.rows[:, g] > 0]
            if unscored is not None and len(unscored):
                members = np.setdiff1d(members, unscored)
            best = model.recommend(user, int(quotas[g]), exclude_seen=True, candidates=members)
            ids.append(best.movie_ids)
            scores.append(np.asarray(best.scores, np.float64))
        every, every_score = np.concatenate(ids), np.concatenate(scores)
        first = np.sort(np.unique(every, return_index=True)[1])
        order = first[np.argsort(-every_score[first], kind="stable")]
        return Ranking(every[order], every_score[order])
