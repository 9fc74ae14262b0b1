"""Personal picks: a user's top unseen movies with true reasons, and picks for a newcomer who
only names genres they like."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

import numpy as np

from movierec.engine.answer_cache import AnswerCache
from movierec.engine.answers import RecommendAnswer
from movierec.engine.catalog import Catalog
from movierec.engine.hub import COLLAB_MODEL, ModelHub, check_model_name
from movierec.engine.online import OnlineUpdater
from movierec.engine.reasons import Explainer
from movierec.errors import InvalidValueError, UnknownUserError
from movierec.validate import check_k

if TYPE_CHECKING:  # imported by the registry when the two-tower model is first asked for
    from movierec.models.twotower import TwoTower


class ModelCannotFoldInError(InvalidValueError):
    """A user known only from the ratings store, asked of a model that cannot fold them in.

    An :class:`~movierec.errors.InvalidValueError` of the field ``model``: the service answers
    422 naming it.
    """

    def __init__(self, model: str, user_id: int):
        super().__init__("model", model, "a model that folds in ratings (an OnlineRecommender)")
        self.user_id = user_id
        self.args = (
            f"the {model!r} model cannot fold in ratings, and user {user_id} is known "
            f"only from the ratings store; ask a model that can (e.g. {COLLAB_MODEL})",
        )


class PersonalPicks:
    """Recommendations over one catalog and one hub's models, with the store when live."""

    def __init__(self, catalog: Catalog, hub: ModelHub):
        self.catalog = catalog
        self.hub = hub
        self.answers = AnswerCache()  # the same question between two changes: the same answer

    @cached_property
    def explainer(self) -> Explainer:
        return Explainer(self.catalog)

    def recommend(
        self,
        user_id: int,
        live: OnlineUpdater | None,
        *,
        model: str | None = None,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        reasons: bool = True,
    ) -> RecommendAnswer:
        """A user's top ``k`` unseen movies, each with a true reason (:mod:`~movierec.engine.
        reasons`); ``live`` is the store's side when one is attached.

        Any model answers for a user known only from the ratings store: their stored ratings
        are folded into it on first use (and again after they change), not only into the
        serving model.

        Raises:
            InvalidValueError: ``model`` is not a model name (the message lists them).
            UnknownUserError: neither the model nor the store knows the user.
            ModelCannotFoldInError: the user is known only from the store, and ``model``
                cannot fold in ratings.
        """
        check_k(k)
        if model is not None:
            check_model_name(model)
        if live is not None:
            live.sync()  # ratings other processes stored since we last looked
        generation = live.generation if live is not None else (0, 0)  # before any answer
        name = model or (live.model_name if live is not None else self.hub.default_model())
        question = (int(user_id), k, genres, years, min_rating, reasons)
        if self.hub.in_memory(name):  # a model still to load or fit has no answers kept
            known = self.answers.get(name, self.hub.model(name), generation, question)
            if known is not None:
                return known
        if not self.hub.in_memory(name):
            self.history(user_id, live)  # a user nobody knows fails before any fit
        recommender = self.hub.model(name)
        if live is not None:
            live.refresh_user(name, int(user_id))
        candidates = self.catalog.candidates(genres=genres, years=years, min_rating=min_rating)
        try:
            ranking = recommender.recommend(user_id, k, candidates=candidates)
        except UnknownUserError:
            if live is None or not live.store.has_user(int(user_id)):
                raise
            if len(self.history(user_id, live)[0]):  # stored ratings this model could not take
                raise ModelCannotFoldInError(name, int(user_id)) from None
            return self.catalog.chart_picks(int(user_id), k, genres=genres, years=years)
        rows = [self.catalog.movie(m, s) for m, s in ranking]
        why = (  # the history is read only for the reasons: a lean answer skips the store
            self.explainer.explain(
                recommender,
                int(user_id),
                self.history(user_id, live),
                ranking.movie_ids,
                generation,
            )
            if reasons
            else []
        )
        answer = RecommendAnswer(int(user_id), name, rows, why)
        self.answers.put(name, recommender, generation, question, answer)
        return answer

    def recommend_for_genres(
        self,
        likes: str | list[str],
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
    ) -> RecommendAnswer:
        """Picks for someone who has rated nothing and only names genres they like.

        The two-tower model places them among the users who like those genres most: always the
        rating-trained ``twotower`` (stored, or fitted on first use), whatever model serves
        rated users. Its user space follows taste; that of ``twotower-rank`` (the hybrid's
        part) is dominated by popularity, and there genre fans blur into everyone (1 of 5
        picks for "Animation" on ml-100k were animated, against 10 of 10). ``genres``,
        ``years`` and ``min_rating`` filter the answer as in :meth:`recommend`.
        """
        check_k(k)
        names = likes.split(",") if isinstance(likes, str) else list(likes)
        names = [name.strip() for name in names if name.strip()]
        if not names:
            raise InvalidValueError(
                "likes", likes, "name at least one genre you like, e.g. Comedy,Animation"
            )
        tower = cast("TwoTower", self.hub.model("twotower"))  # the registry's "twotower"
        candidates = self.catalog.candidates(genres=genres, years=years, min_rating=min_rating)
        ranking = tower.recommend_for_genres(names, k, candidates=candidates)
        rows = [self.catalog.movie(m, s) for m, s in ranking]
        return RecommendAnswer(
            None, tower.kind, rows, [f"liked by fans of {' and '.join(names)}"] * len(rows)
        )

    def history(self, user_id: int, live: OnlineUpdater | None) -> tuple[np.ndarray, np.ndarray]:
        """The user's (movie ids, ratings): from the store when one is live, else the dataset.

        Raises:
            UnknownUserError: neither knows the user.
        """
        if live is not None:
            return live.store.user_ratings(int(user_id))
        users, movies, ratings = self._by_user
        limits = np.iinfo(users.dtype)
        if not limits.min <= int(user_id) <= limits.max:
            raise UnknownUserError(user_id)  # beyond the ids' type: no such user
        # the id in the ids' own type: a list of Python ints made numpy cast all 33.8M ids to
        # int64 for each call (37 ms of a 44 ms answer)
        key = users.dtype.type(user_id)
        start, end = np.searchsorted(users, key), np.searchsorted(users, key, side="right")
        if start == end:
            raise UnknownUserError(user_id)
        return movies[start:end], ratings[start:end]

    @cached_property
    def _by_user(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dataset's ratings sorted by user, so one user's history is a slice."""
        ratings = self.catalog.dataset.ratings
        order = np.argsort(ratings["user_id"].to_numpy(), kind="stable")
        return (
            ratings["user_id"].to_numpy()[order],
            ratings["movie_id"].to_numpy()[order],
            ratings["rating"].to_numpy()[order],
        )
