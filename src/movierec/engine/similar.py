"""Movies like another: by content features, by collaborative taste, or both fused by rank."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from movierec.engine.answers import FUSION_DEPTH, SimilarAnswer, fuse_rankings
from movierec.engine.catalog import Catalog
from movierec.engine.hub import ModelHub
from movierec.engine.likeness import co_liking, shared_metadata
from movierec.engine.reasons import Explainer
from movierec.errors import DataFormatError, InvalidValueError
from movierec.models.base import Ranking, Recommender
from movierec.validate import check_k

if TYPE_CHECKING:  # imported by the registry when a content model is first asked for
    from movierec.models.content import ContentRecommender

#: what ``similar --by`` accepts
SIMILAR_BY = ("content", "collab", "hybrid")
#: people who rated both films at which a collaborative neighbour's cosine counts half.
#: bench/neighbours.py (a user's favourite training film as the seed, its 10 neighbours scored
#: on their held-out likes, ALS): ml-100k NDCG@10 0.071 -> 0.097, long-tail 0.013 -> 0.018;
#: ml-latest-small 0.036 -> 0.073 against the plain cosine (20: more still, lists more popular)
COLLAB_SUPPORT = 10.0
#: co-raters counted at most: beyond, the shrinkage is within 1% of none (1000 / 1010), and two
#: popular films' shared raters need not all be read (33.8M, its 20 most-voted films: 17.4
#: -> 3.0 ms a list)
SUPPORT_COUNTED = 1000


class SimilarMovies:
    """Similar movies over one catalog's filters and one hub's models."""

    def __init__(self, catalog: Catalog, hub: ModelHub, explainer: Explainer):
        self.catalog = catalog
        self.hub = hub
        self.explainer = explainer  # who rated what highly: the co-liking facts
        # the catalog has no metadata for the content model: known after the first try, which
        # costs ~11 ms (ml-100k) and would otherwise be paid again on every request
        self._no_metadata = False

    def similar(
        self,
        movie: str | int,
        *,
        by: str = "content",
        features: str = "auto",
        k: int = 10,
        same_genre: bool = False,
        **filters: Any,
    ) -> SimilarAnswer:
        """Movies like ``movie``, optionally only well rated, from some years, of some genres.

        ``same_genre`` keeps movies sharing at least one genre with it (a bit-set AND over the
        catalogue), on top of the other filters.

        Each movie comes with what it has in common with ``movie`` in the list's own evidence
        (:mod:`~movierec.engine.likeness`): shared metadata, or the people who liked both.

        Raises:
            InvalidValueError: ``by`` is not one of :data:`SIMILAR_BY` (or ``k`` is bad).
        """
        check_k(k)
        if by not in SIMILAR_BY:
            raise InvalidValueError("by", by, ", ".join(SIMILAR_BY[:-1]) + " or " + SIMILAR_BY[-1])
        catalog = self.catalog
        movie_id = catalog.resolve(movie)
        candidates = catalog.candidates(**filters)
        if same_genre:
            overlap = catalog.sharing_a_genre(movie_id)
            candidates = overlap if candidates is None else np.intersect1d(candidates, overlap)
        notes: list[str] = []
        if by == "hybrid" and not len(catalog.dataset.ratings):
            by = "content"  # nothing to fuse with: a catalog alone has no co-raters
            notes.append(f"{catalog.dataset.name} has no ratings: content neighbours only")
        voted = catalog.voted(candidates)
        content = self._content_model(movie_id, features, notes) if by != "collab" else None
        lists: list[Ranking] = []
        if by == "hybrid":
            lists = [self.collab_neighbours(movie_id, FUSION_DEPTH, voted)]
            if content is not None:
                lists.insert(
                    0, self.content_neighbours(content, movie_id, FUSION_DEPTH, candidates)
                )
            ranking = fuse_rankings(lists, k)
            parts = [content.features] if content is not None and content.features else []
            features = "+".join(parts + [self.hub.collab_name()])
        elif content is not None:
            features = content.features or self.hub.collab_name()
            ranking = self.content_neighbours(content, movie_id, k, candidates)
        else:
            by, features = "collab", self.hub.collab_name()
            ranking = self.collab_neighbours(movie_id, k, voted)
        rows = [catalog.movie(m, s) for m, s in ranking]
        if len(rows) < k:
            notes.append(f"only {len(rows)} movies pass the filters")
        reasons = self._in_common(movie_id, [row.movie_id for row in rows], by, content, lists)
        return SimilarAnswer(catalog.movie(movie_id), by, features, rows, notes, reasons)

    def _in_common(
        self,
        movie_id: int,
        picks: list[int],
        by: str,
        content: ContentRecommender | None,
        fused: list[Ranking],
    ) -> list[str | None]:
        """What each pick shares with the movie, from the list that ranked it: its metadata
        (content), the people who liked both (collab); in a fused list, from the list that
        ranked it higher, the other one's where that says nothing."""
        shared: list[str | None] = [None] * len(picks)
        if content is not None and content.features:
            shared = shared_metadata(self.catalog, movie_id, picks, content.features)
        if by == "content" and content is not None:
            return shared
        liked = co_liking(self.explainer, self.catalog, movie_id, picks)
        if by != "hybrid" or len(fused) < 2:
            return [co if co is not None else mine for mine, co in zip(shared, liked, strict=True)]
        ranks = [{m: r for r, m in enumerate(ranking.movie_ids.tolist())} for ranking in fused]
        out = []
        for pick, mine, co in zip(picks, shared, liked, strict=True):
            content_leads = ranks[0].get(pick, FUSION_DEPTH) <= ranks[1].get(pick, FUSION_DEPTH)
            first, second = (mine, co) if content_leads else (co, mine)
            out.append(first if first is not None else second)
        return out

    def _content_model(
        self, movie_id: int, features: str, notes: list[str]
    ) -> ContentRecommender | None:
        """The content model, or None (with a note) when the movie has no metadata in it."""
        # every content* name of the registry is a ContentRecommender; one asked for by name
        # fails when it cannot be had, saying why
        model = (
            self._auto_content()
            if features == "auto"
            else cast("ContentRecommender", self.hub.model(f"content-{features}"))
        )
        if model is None:
            notes.append(
                f"{self.catalog.dataset.name} has no metadata to compare movies by (genres, "
                "tags, overviews…); using collaborative neighbours"
            )
            return None
        if model.has_features(movie_id):
            return model
        notes.append(
            f"{self.catalog.movie(movie_id).title} has no {model.features} metadata in "
            f"{self.catalog.dataset.name}; using collaborative neighbours"
        )
        return None

    def _auto_content(self) -> ContentRecommender | None:
        """The content model on the features the catalog has, or None when it has none."""
        if not self._no_metadata:
            try:
                return cast("ContentRecommender", self.hub.model("content"))
            except DataFormatError:
                self._no_metadata = True
        return None

    def content_neighbours(
        self,
        content: ContentRecommender,
        movie_id: int,
        k: int,
        candidates: np.ndarray | None,
    ) -> Ranking:
        """The content model's nearest movies, the equally near best rated first.

        With genres alone for metadata, whole runs of films are as near as each other (every
        Animation-Children's-Comedy film to Toy Story) and the model orders a run by catalog
        row: Aladdin and the King of Thieves (2.8★) came first. A run is read whole (the
        query widened until the k-th score's run ends) and ordered by mean rating, cautiously
        shrunk (:meth:`Catalog.cautious_means`).
        """
        depth = max(k, FUSION_DEPTH)
        while True:
            nearest = content.similar_movies(movie_id, depth, candidates=candidates)
            scores = np.round(nearest.scores, 9)  # float sums of equal terms may differ in ulps
            last = scores[min(k, len(scores)) - 1] if len(scores) else 0.0
            # a run at 0 is the films sharing nothing: not read whole (a catalogue's worth)
            if len(scores) < depth or scores[-1] < last or last <= 0:
                break
            depth *= 4
        best = np.lexsort((-self.catalog.cautious_means(nearest.movie_ids), -scores))[:k]
        return Ranking(nearest.movie_ids[best], nearest.scores[best])

    def _collab_model(self) -> Recommender:
        return self.hub.model(self.hub.collab_name())

    def collab_neighbours(self, movie_id: int, k: int, candidates: np.ndarray) -> Ranking:
        """The collaborative model's nearest movies among ``candidates``, their similarity
        shrunk by its support.

        A factor cosine between two films few people rated both is mostly noise (Star Wars'
        5th neighbour was The Truman Show, rated by 11 and by one Star Wars rater). The
        model's :data:`FUSION_DEPTH` nearest are re-ranked by cosine × n / (n +
        :data:`COLLAB_SUPPORT`), n the people who rated both (Koren 2008's shrinkage).
        """
        nearest = self._collab_model().similar_movies(
            movie_id, max(k, FUSION_DEPTH), candidates=candidates
        )
        _, both = self.explainer.raters_in_common(movie_id, nearest.movie_ids, most=SUPPORT_COUNTED)
        scores = nearest.scores * both / (both + COLLAB_SUPPORT)
        best = np.argsort(-scores, kind="stable")[:k]
        return Ranking(nearest.movie_ids[best], scores[best])
