"""Hybrid recommender: a weighted blend of other models' scores, weights fitted on validation.

The parts (``ease,twotower-rank,chart`` by default: collaborative, the two-tower score, and
the chart) each score every movie for the user; each part's scores are standardised over the
catalogue for that user (z-scores, so a weight means the same whatever the part's scale), and
the blend is their weighted sum, optionally re-ranked toward the user's genre mix (Steck's
calibrated re-ranking, strength λ).

Weights and λ are fitted by :func:`movierec.models.blend.constrained_ascent`: the largest
validation NDCG@k whose lists are no less personal and no more miscalibrated than those of the
most personal part (plain NDCG alone rewards serving everyone the chart; the module says why),
averaged over bootstrap resamples of the validation users (``bags``, ``cold_bags``), and kept
only if the blends fitted without some users find clearly more for them than the part that
finds most alone within those bounds (else that part serves: on ml-100k regulars a blend 0.003
ahead on the validation users lost 0.012 on the test users, 0.379 against EASE's 0.392). It
runs on validation data carved out of the training data:

* *warm* weights: for each user outside the cold share, a random ``validation`` share of their
  ratings is held out; the parts are fitted on the rest and the weights make the held-out
  liked movies rank high;
* *cold* weights: a ``cold_users`` share of users is withheld from the parts entirely; each is
  folded in from their earliest ``cold_profile`` ratings and the weights make their later liked
  movies rank high. They are fewer and their five ratings say little, so one ascent follows
  their noise: on ml-100k, with 4 resamples, three seeds gave newcomers with 5 ratings
  NDCG@10 0.215–0.277 and miscalibration 0.30–0.76; with 16 (``cold_bags``), 0.239–0.242 and
  0.62–0.63.

The content model was a part until the taste bounds came in: it is the most personal model
(its lists share almost nothing) and finds almost nothing, so anchored on it the bounds left
the blend nowhere to go; calibration now does what it brought (genre-following lists).

The parts are then refitted on all the training data, and the warm blend's taste bounds are
judged on the lists these serving parts give the same validation users: fitted without the
held-out ratings, EASE's lists on ml-latest-small were less personal than the two-tower's (0.917
against 0.951) though level when served (0.939, 0.940), and bounds taken from the probe forced
the blend to λ = 0.9 and NDCG@10 0.248 for regulars against EASE's 0.327. A user with fewer
than ``cold_history`` ratings is scored with the cold weights, others with the warm ones; how
the blend does on new users is measured by ``movierec evaluate`` and ``bench/taste.py``. Every
part must be an online model, so the hybrid folds in users and movies by folding them into
each part. Where the catalogue has more rated movies than EASE models (its ``max_items``),
the ``ease`` part is fitted as ``ease-lowrank``, which serves the whole catalogue at EASE's
quality.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Self

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset
from movierec.errors import UnknownUserError
from movierec.models import blend
from movierec.models.base import Config, Ranking
from movierec.models.calibration import (
    GenreMatrix,
    calibrated_rerank,
    rerank_pool,
    taste_distributions,
)
from movierec.models.composite import Composite
from movierec.models.ease import EASE
from movierec.models.online import OnlineRecommender
from movierec.models.ranking import masked_scores
from movierec.validate import (
    fail,
    int_at_least,
    number_at_least,
    number_in,
    positive_int,
    require,
)

logger = logging.getLogger(__name__)

_HYBRID = f"{__name__}:Hybrid"  # the registry's path of this class


@dataclasses.dataclass(frozen=True)
class HybridConfig(Config):
    """Hyper-parameters of :class:`Hybrid` (module docstring).

    ``parts`` are registry names, comma-separated; ``relevance`` is the lowest liked rating
    (None: 80% of the scale's top); ``fit_users`` caps the validation users of each regime;
    ``pool`` is how many of each part's top movies are candidates while fitting weights;
    ``bags`` how many bootstrap resamples of the validation users the weights are averaged
    over (0: one fit on them all), ``cold_bags`` the same for the newcomers' weights;
    ``genre_quotas``: whether each genre of a user's taste has its best few films in the
    calibrated re-ranking's pool beside the blend's top 50
    (:func:`~movierec.models.calibration.rerank_pool`): what lets a documentary fan be listed
    documentaries; ``hybrid-watch``, ranked for what a user will watch, goes without (on
    Microsoft's protocol, seed 4, they took its NDCG@10 from 0.4898 to 0.4856).
    """

    parts: str = "ease,twotower-rank,chart"
    validation: float = 0.2
    cold_users: float = 0.2
    cold_profile: int = 5
    cold_history: int = 10
    fit_users: int = 2000
    k: int = 10
    pool: int = 100
    bags: int = 4
    cold_bags: int = 16
    relevance: float | None = None
    genre_quotas: bool = True

    def validate(self) -> None:
        super().validate()
        from movierec.models import registry  # its entries name this very class

        names = self.names
        hybrids = [n for n in names if registry.MODELS.get(n, ("",))[0] == _HYBRID]
        require(
            bool(names) and len(set(names)) == len(names) and not hybrids,
            "parts",
            "distinct model names other than a hybrid's, comma-separated",
            self.parts,
        )
        number_at_least(self.relevance, "relevance", optional=True)
        number_in(self.validation, "validation", 0, 1, low_open=True, high_open=True)
        number_in(self.cold_users, "cold_users", 0, 0.5, high_open=True)
        int_at_least(self.cold_profile, "cold_profile", 0)
        int_at_least(self.cold_history, "cold_history", 0)
        positive_int(self.fit_users, "fit_users")
        positive_int(self.k, "k")
        positive_int(self.pool, "pool")
        int_at_least(self.bags, "bags", 0)
        int_at_least(self.cold_bags, "cold_bags", 0)

    @property
    def names(self) -> list[str]:
        return [n.strip() for n in str(self.parts).split(",") if n.strip()]


class Hybrid(Composite):
    """Blends its parts' standardised scores with weights fitted on validation data.

    Its fold-in flags hold for any parts: the default's EASE is fitted with a 1★ as interest
    and cannot place a new movie before a refit.
    """

    kind = "hybrid"
    config_class = HybridConfig
    config: HybridConfig
    low_ratings_count_as_interest = True

    def __init__(self, config: HybridConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.parts: list[OnlineRecommender] = []
        self.weights = np.zeros((2, 0))  # rows: warm weights, cold weights; one column a part
        self.calibration = np.zeros(2)  # λ of the calibrated re-ranking: warm, cold
        # per regime, each part alone then the blend: NDCG, personalization, miscalibration
        self.validation_figures = np.zeros((2, 0, 3))
        self.validation_ndcg = np.zeros((2, 0))  # per regime: each part alone, then the blend
        self._genres = np.zeros((0, 0), np.float32)  # movies × genres, for calibration
        self._threshold = 4.0  # the lowest liked rating, for a user's taste distribution
        self._names = self.config.names  # the parts fitted: the config's, unless one outgrew

    # --- fitting ------------------------------------------------------------------------------

    def fit(self, data: Dataset) -> Self:
        cfg = self.config
        self._index_dataset(data)
        names = self._names = _parts_that_fit(cfg.names, cfg.parts, data)
        resolved = [_resolve_part(name, cfg.parts) for name in names]
        threshold = cfg.relevance
        if threshold is None:
            threshold = 0.8 * (
                data.scale.high if data.scale else float(data.ratings["rating"].max())
            )
        fit_ratings, warm, profiles, cold = blend.validation_split(
            data.ratings,
            validation=cfg.validation,
            cold_users=cfg.cold_users,
            cold_profile=cfg.cold_profile,
            fit_users=cfg.fit_users,
            seed=cfg.seed,
        )
        probe = [
            model_class(config).fit(dataclasses.replace(data, ratings=fit_ratings))
            for model_class, config in resolved
        ]
        self._genres = _catalog_genres(data, self.movies.ids)
        self._threshold = float(threshold)
        warm_ids, warm_sets = self._labelled(probe, warm, None, threshold)
        cold_sets = self._labelled(probe, cold, profiles, threshold)[1]
        del probe  # before the serving parts are fitted: at full size each set of parts is GBs
        self.parts = [model_class(config).fit(data) for model_class, config in resolved]
        # the warm taste bounds are judged on the lists the serving parts give the same users;
        # the newcomers are whole users to the serving parts, so theirs stay the probe's
        served = [
            self._user_set(self.parts, user_id, np.empty(0, np.int64)) for user_id in warm_ids
        ]
        warm_sets = [one for one, known in zip(warm_sets, served, strict=True) if known is not None]
        served_sets = [known for known in served if known is not None]
        rng = np.random.default_rng(self.config.seed)
        weights, lambdas, report = [], [], []
        for sets, bags, judged in (
            (warm_sets, cfg.bags, served_sets),
            (cold_sets, cfg.cold_bags, None),
        ):
            w, lam, figures = blend.fit_regime(
                sets, self._genres, len(names), self.config.k, bags, rng, judged
            )
            weights.append(w)
            lambdas.append(lam)
            report.append(figures)
        self.weights = np.array(weights)
        self.calibration = np.array(lambdas)
        self.validation_figures = np.array(report)
        self.validation_ndcg = self.validation_figures[:, :, 0]
        logger.info(
            "hybrid weights (%s): warm %s λ=%.1f, cold %s λ=%.1f",
            ",".join(names),
            np.round(self.weights[0], 3),
            self.calibration[0],
            np.round(self.weights[1], 3),
            self.calibration[1],
        )
        return self

    def _labelled(
        self,
        parts: list[OnlineRecommender],
        held: pd.DataFrame,
        profiles: pd.DataFrame | None,
        threshold: float,
    ) -> tuple[list[int], list[blend.UserSet]]:
        """The validation users scored and their sets (:meth:`_user_set`), relevance = their
        held-out liked movies.

        With ``profiles`` the users are new to the parts: each is folded in from their profile
        first (an empty one when they have none).
        """
        ids, sets = [], []
        liked = held[held["rating"] >= threshold]
        by_user = dict(tuple(liked.groupby("user_id")["movie_id"]))
        known = dict(tuple(profiles.groupby("user_id"))) if profiles is not None else {}
        for user_id, movies in by_user.items():
            if profiles is not None:
                profile = known.get(user_id)
                told = profile["movie_id"].to_numpy() if profile is not None else np.empty(0, int)
                values = profile["rating"].to_numpy() if profile is not None else np.empty(0)
                for part in parts:
                    part.fold_in_user(int(user_id), told, values)
            one = self._user_set(parts, int(user_id), movies.to_numpy())
            if one is not None:
                ids.append(int(user_id))
                sets.append(one)
        return ids, sets

    def _user_set(
        self, parts: list[OnlineRecommender], user_id: int, liked: np.ndarray
    ) -> blend.UserSet | None:
        """(candidates × parts z-scores, relevance, relevant count, candidates' movie indices,
        the user's taste distribution over genres), or None for a user the parts do not know.
        The candidates are each part's top ``pool`` unseen movies and the ``liked`` ones."""
        try:
            z, seen = self._z_scores(parts, user_id)
        except UnknownUserError:
            return None
        z[:, seen] = -np.inf
        relevant = parts[0].movies.indices(liked, missing="mask")
        relevant = relevant[relevant >= 0]
        reached = np.unique(
            np.concatenate(
                [
                    np.argpartition(-row, min(self.config.pool, len(row) - 1))[: self.config.pool]
                    for row in z
                ]
            )
        )
        pool = np.union1d(reached, relevant)
        pool = pool[np.isfinite(z[0, pool])]
        taste = self._taste(parts, user_id)
        own = np.isin(pool, reached) & self.config.genre_quotas
        return z[:, pool].T.copy(), np.isin(pool, relevant), len(relevant), pool, taste, own

    def _taste(self, parts: list[OnlineRecommender], user_id: int) -> np.ndarray:
        """The user's liked-genre distribution, from the first part that keeps ratings."""
        keeping = [part for part in parts if part.keeps_ratings]
        movies, ratings = (keeping or parts)[0].history(user_id)
        if ratings is None:  # no part keeps ratings: every seen movie counts as liked
            ratings = np.full(len(movies), self._threshold)
        movies = np.asarray(movies, np.int64)
        known = movies < len(self._genres)  # a movie added after the fit has no genre row
        return taste_distributions(
            self._genres,
            np.zeros(int(known.sum())),
            movies[known],
            np.asarray(ratings, np.float64)[known],
            1,
            self._threshold,
        )[0]

    # --- scoring ------------------------------------------------------------------------------

    def _z_scores(
        self, parts: list[OnlineRecommender], user_id: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each part's scores for the user, standardised (parts × movies), and their seen."""
        rows = []
        n = min(len(part.movies) for part in parts)
        for part in parts:
            scores = part.scores(user_id)[:n]
            finite = np.isfinite(scores)
            mean, std = scores[finite].mean(), scores[finite].std()
            z = (scores - mean) / std if std > 0 else np.zeros(n)
            rows.append(np.where(finite, z, np.nanmin(z[finite]) if finite.any() else 0.0))
        seen = parts[0].history(user_id)[0]
        return np.array(rows), seen[seen < n]

    def _user_scores(self, user: int) -> np.ndarray:
        user_id = int(self.users.ids[user])
        z, _ = self._z_scores(self.parts, user_id)
        return self.weights[self._regime(user)] @ z

    def _regime(self, user: int) -> int:
        """0 for a regular, 1 for a newcomer (fewer than ``cold_history`` ratings)."""
        return int(len(self._seen_lists.get(user)) < self.config.cold_history)

    def _recommend(
        self, user: int, k: int, excluded: np.ndarray | None, candidates: np.ndarray | None
    ) -> Ranking:
        """The blend's top ``k``, re-ranked toward the user's genre mix when the fitted λ of
        their regime is above 0 (:mod:`movierec.models.blend`), from its top 50 and, with
        ``genre_quotas``, each taste genre's best few
        (:func:`~movierec.models.calibration.rerank_pool`); scores stay the blend's."""
        lam = float(self.calibration[self._regime(user)]) if len(self.calibration) else 0.0
        scores = self._ranking_scores(user)
        if lam <= 0 or not self._genres.size:
            return self._top(scores, k, excluded, candidates)
        n = min(len(scores), len(self.movies.ids))
        allowed = self._candidate_rows(candidates, n)
        values = masked_scores(scores[:n], excluded=excluded, allowed=allowed)
        genres = self._genres[: len(values)]
        if len(genres) < len(values):  # movies folded in after the fit have no genre row
            missing = np.zeros((len(values) - len(genres), genres.shape[1]), genres.dtype)
            genres = np.vstack([genres, missing])
        taste = self._taste(self.parts, int(self.users.ids[user]))
        quota_from = None if self.config.genre_quotas else np.zeros(len(values), bool)
        pool = np.flatnonzero(rerank_pool(values, genres, taste, k, quota_from=quota_from)[0])
        pool = pool[np.argsort(-values[pool], kind="stable")]
        order = pool[calibrated_rerank(values[pool], genres[pool], taste, k, lam)]
        return Ranking(self.movies.ids[order], values[order])

    def _similar_scores(self, movie: int) -> np.ndarray:
        """The mean standardised similarity of the personal parts (the chart is left out)."""
        movie_id = int(self.movies.ids[movie])
        rows = []
        for part in self.parts:
            if not part.personal:
                continue
            scores = part.similarities(movie_id)
            std = scores.std()
            rows.append((scores - scores.mean()) / std if std > 0 else np.zeros_like(scores))
        n = min(len(row) for row in rows)
        return np.mean([row[:n] for row in rows], axis=0)

    def _pair_scores(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """:meth:`_similar_scores` of many movies at once (a ranking's reasons): each personal
        part's similarities of all of them in one call, standardised row by row."""
        movie_ids = self.movies.ids[rows]
        blocks = []
        for part in self.parts:
            if not part.personal:
                continue
            every = np.array(part.movies.ids)  # a snapshot: a fold-in may append meanwhile
            scores = np.asarray(part.pair_similarity(movie_ids, every), dtype=np.float64)
            mean = scores.mean(axis=1, keepdims=True)
            std = scores.std(axis=1, keepdims=True)
            blocks.append(np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 0))
        n = min(block.shape[1] for block in blocks)
        mean_z = np.mean([block[:, :n] for block in blocks], axis=0)
        out = np.full((len(rows), len(columns)), np.nan)
        known = (columns >= 0) & (columns < n)
        out[:, known] = mean_z[:, columns[known]]
        return out

    # --- state --------------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "weights": self.weights,
            "validation_ndcg": self.validation_ndcg,
            "calibration": self.calibration,
            "validation_figures": self.validation_figures,
            "genres": self._genres,
            "threshold": np.array([self._threshold]),
            "part_names": np.array(self._names, dtype=str),
        }

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        self._names = [str(name) for name in arrays.get("part_names", self.config.names)]
        self.weights = np.asarray(arrays["weights"])
        self.validation_ndcg = np.asarray(arrays["validation_ndcg"])
        # artifacts from before calibration: no re-ranking, the blend as it was
        self.calibration = np.asarray(arrays.get("calibration", np.zeros(2)))
        self.validation_figures = np.asarray(arrays.get("validation_figures", np.zeros((2, 0, 3))))
        self._genres = np.asarray(arrays.get("genres", np.zeros((0, 0), np.float32)))
        self._threshold = float(np.asarray(arrays.get("threshold", [4.0]))[0])

    # --- parts (the rest of their handling is Composite's) ----------------------------------

    def _part_names(self) -> list[str]:
        return self._names

    def _part_class(self, name: str) -> type[OnlineRecommender]:
        return _resolve_part(name, self.config.parts)[0]


def _parts_that_fit(names: list[str], parts: str, data: Dataset) -> list[str]:
    """The part names to fit: ``ease`` becomes ``ease-lowrank`` when the catalogue has more
    rated movies than EASE models (its ``max_items``), so the whole catalogue is served."""
    rated = data.ratings["movie_id"].nunique()
    chosen = []
    for name in names:
        model_class, config = _resolve_part(name, parts)
        limit = getattr(config, "max_items", None)
        swap = model_class is EASE and limit is not None and rated > limit
        if swap and "ease-lowrank" not in names:
            logger.info(
                "hybrid: %d rated movies, more than %s models (%d): using ease-lowrank",
                rated,
                name,
                limit,
            )
            name = "ease-lowrank"
        chosen.append(name)
    return chosen


def _resolve_part(name: str, parts: str) -> tuple[type[OnlineRecommender], Config]:
    """A part's class and config, by registry name; a part must be an online model."""
    from movierec.models import registry

    model_class, config = registry.resolve(name)
    if not issubclass(model_class, OnlineRecommender):
        fail("parts", parts, f"online models (each must fold in users); {name!r} is not")
    return model_class, config


def _catalog_genres(data: Dataset, movie_ids: np.ndarray) -> np.ndarray:
    """movies × genres rows (each movie's weight split over its genres), in model order."""
    catalog = data.catalog
    if "genres" not in catalog.columns:
        return np.zeros((len(movie_ids), 0), np.float32)
    return GenreMatrix.from_catalog(catalog).rows_of(movie_ids).astype(np.float32)
