"""What a film and its neighbour have in common, in words: why a similar-films list holds it.

Each list says only what its own evidence holds:

* the content list names the metadata the two films share, the very tokens its cosine is built
  from: directors, top-billed cast, keywords and, failing those, genres (the soup); the
  relations of the knowledge graph ("the same director", "3 actors in common"; its entities
  have ids, not names). Overview words (``tfidf``) are not named: nothing is said there;
* the collaborative list says how many of the people who rated the film highly rated the
  neighbour highly too: co-liking, the signal its item factors summarise;
* a fused list says the fact of the list that ranked the film higher, else the other's.

Where nothing holds, nothing is said (``None``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from movierec.engine.catalog import Catalog
from movierec.engine.reasons import Explainer
from movierec.models.textfeatures import clean_token

TOP_CAST = 3  # the soup's top-billed cast (ContentConfig.top_cast)
#: the soup's columns said when two films share them: the column, the words for one and for
#: several, and how many are named
SOUP_FACTS = (
    ("director", "the same director", "the same directors", 2),
    ("cast", "an actor in common", "actors in common", 2),
    ("keywords", "a keyword in common", "keywords in common", 3),
)
#: knowledge-graph relations said when two films share them, most telling first: the relation,
#: then the words for one shared entity and for n (its entities have ids, not names). Country,
#: language and age rating are left out: nearly every film shares them with another.
KG_FACTS = (
    ("directed_by", "the same director", "the same {n} directors"),
    ("written_by", "the same writer", "the same {n} writers"),
    ("produced_by", "the same producer", "the same {n} producers"),
    ("cinematography", "the same cinematographer", "the same {n} cinematographers"),
    ("actor", "an actor in common", "{n} actors in common"),
    ("subjects", "the same subject", "{n} subjects in common"),
    ("production_companies", "the same studio", "the same {n} studios"),
    ("award_nomination", "nominated for the same award", "nominated for {n} of the same awards"),
    ("award_won", "won the same award", "won {n} of the same awards"),
    ("genre", "a genre in common", "{n} genres in common"),
)
SHOWN_FACTS = 3  # the most telling facts said, at most


def shared_metadata(
    catalog: Catalog, movie_id: int, picks: Sequence[int], features: str
) -> list[str | None]:
    """Per pick, the metadata it shares with ``movie_id`` in the feature set that ranked it."""
    row, rows = catalog.row(movie_id), [catalog.row(p) for p in picks]
    if features == "soup":
        return [_soup_fact(catalog, row, other) for other in rows]
    if features == "kg":
        tokens = catalog.cells("kg_tokens")
        mine = set(tokens[row])
        return [_kg_fact(mine, set(tokens[other])) for other in rows]
    return [None] * len(rows)


def co_liking(
    explainer: Explainer, catalog: Catalog, movie_id: int, picks: Sequence[int]
) -> list[str | None]:
    """Per pick, "rated highly by N of the M people who rated X highly" (N ≥ 1)."""
    likers, both = explainer.raters_in_common(movie_id, np.asarray(picks), highly=True)
    title = catalog.display[0][catalog.row(movie_id)]
    people = "person" if likers == 1 else "people"
    return [
        f"rated highly by {n:,} of the {likers:,} {people} who rated {title} highly" if n else None
        for n in both.tolist()
    ]


def _soup_fact(catalog: Catalog, row: int, other: int) -> str | None:
    parts = []
    for column, one, many, shown in SOUP_FACTS:
        cells = catalog.cells(column)
        mine, theirs = cells[row], cells[other]
        if column == "cast":  # the soup holds the top-billed only
            mine, theirs = mine[:TOP_CAST], theirs[:TOP_CAST]
        items = _shared(mine, theirs)
        if items:
            parts.append(f"{one if len(items) == 1 else many}: {_listed(items, shown)}")
    if not parts:  # genres, the soup's commonest tokens, only when nothing rarer is shared
        genres = _shared(catalog.display[2][row], catalog.display[2][other])
        if genres:
            words = "a genre in common" if len(genres) == 1 else "genres in common"
            parts.append(f"{words}: {', '.join(genres)}")
    return "; ".join(parts) or None


def _kg_fact(mine: set[str], theirs: set[str]) -> str | None:
    shared = Counter(token.split(":", 1)[0] for token in mine & theirs)
    parts = [
        one if shared[relation] == 1 else many.format(n=shared[relation])
        for relation, one, many in KG_FACTS
        if shared[relation]
    ]
    return ", ".join(parts[:SHOWN_FACTS]) or None


def _shared(mine: list[Any], theirs: list[Any]) -> list[str]:
    """My items that the other film has too, as I spell them, in my order, once each."""
    keys = {clean_token(item) for item in theirs}
    out: list[str] = []
    for item in mine:
        text = str(item)
        if clean_token(text) in keys and text not in out:
            out.append(text)
    return out


def _listed(items: list[str], shown: int) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
