"""Search by description for the engine: "a '50s comedy", filtered like the other answers.

The description index of a dataset is kept beside its catalog, in
``<home>/datasets/<name>/description/``, built on first use and reused while the catalog's texts
are unchanged (re-importing the dataset replaces the folder, and with it the index). One index
per backend is held in memory per catalog; building it is serialised, so concurrent first
requests embed the catalog once.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from movierec.data.dataset import present_mask
from movierec.data.description import (
    BACKENDS,
    DescriptionConfig,
    DescriptionIndex,
    Progress,
    open_index,
)
from movierec.engine.answers import MovieRow
from movierec.engine.catalog import Catalog
from movierec.errors import InvalidValueError
from movierec.home import Home
from movierec.validate import check_k

MAX_QUERY_CHARS = 500
INDEX_FOLDER = "description"
# What a movie's text has beyond its title, year and genres (movie_texts); below this share
# of movies with any of it, an answer says how the rest are matched.
DESCRIPTIONS = ("overview", "keywords", "tags")
DESCRIBED_ENOUGH = 0.9


@dataclass
class FindAnswer:
    """Movies matching a description, best first, and how they were matched."""

    query: str
    backend: str
    model: str
    movies: list[MovieRow]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "backend": self.backend,
            "model": self.model,
            "notes": self.notes,
            "movies": [m.to_json() for m in self.movies],
        }


class DescriptionSearch:
    """One catalog's description indexes, opened on first use; ``home`` (None: in memory
    only) is where the sentence index is stored."""

    def __init__(
        self, catalog: Catalog, home: Home | None = None, config: DescriptionConfig | None = None
    ):
        self.catalog = catalog
        self.home = home
        self.config = config or DescriptionConfig()
        self._indexes: dict[str, DescriptionIndex] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def coverage_note(self) -> str | None:
        """Said with every answer when few films have more than a title, year and genres."""
        return _coverage_note(self.catalog)

    @property
    def folder(self) -> Path | None:
        """Where the dataset's sentence index lives; None keeps it in memory only."""
        if self.home is None:
            return None
        return self.home.dataset_dir(self.catalog.dataset.name) / INDEX_FOLDER

    def index(
        self, backend: str = "auto", *, threads: int | None = None, progress: Progress | None = None
    ) -> tuple[DescriptionIndex, bool]:
        """The index for ``backend``, and whether it was built by this call."""
        _check_backend(backend)
        with self._lock:
            if backend in self._indexes:
                return self._indexes[backend], False
            config = DescriptionConfig(
                backend=backend,
                batch_size=self.config.batch_size,
                threads=threads or self.config.threads,
            )
            index, built = open_index(self.catalog.table, self.folder, config, progress=progress)
            self._indexes[backend] = index
            return index, built

    def find(
        self,
        query: str,
        *,
        k: int = 10,
        genres: str | None = None,
        years: str | None = None,
        min_rating: float | None = None,
        backend: str = "auto",
        progress: Progress | None = None,
    ) -> FindAnswer:
        text = _check_query(query)
        check_k(k)
        _check_backend(backend)
        # Filters first: a bad --years is reported before minutes of embedding.
        candidates = self.catalog.candidates(genres=genres, years=years, min_rating=min_rating)
        index, _ = self.index(backend, progress=progress)
        ranking = index.query(text, k, candidates=candidates)
        rows = [self.catalog.movie(m, s) for m, s in ranking]
        notes = [index.note] if index.note else []
        if self.coverage_note:
            notes.append(self.coverage_note)
        if len(rows) < k:
            notes.append(f"only {len(rows)} movies with a description pass the filters")
        return FindAnswer(text, index.backend, index.model_name, rows, notes)


def _coverage_note(catalog: Catalog) -> str | None:
    """Why a search may find titles rather than meanings: on ml-100k (titles and genres only)
    "a space opera" finds "For Ever Mozart"; on a catalog partly enriched, the films without an
    overview match a short query by their title's words."""
    table = catalog.table
    columns = [c for c in DESCRIPTIONS if c in table]
    if not len(table):
        return None
    described = np.zeros(len(table), bool)
    for column in columns:
        described |= present_mask(table[column])
    share = float(described.mean())
    if share >= DESCRIBED_ENOUGH:
        return None
    if not described.any():
        return (
            "The catalog has no overviews, keywords or tags: films are matched by their "
            "titles, years and genres alone."
        )
    return (
        f"Only {share:.0%} of the catalog's films have an overview, keywords or tags; the "
        "others are matched by their titles, years and genres alone."
    )


class _Describes(Protocol):
    descriptions: DescriptionSearch


def descriptions_of(engine: _Describes) -> DescriptionSearch:
    """The engine's :class:`DescriptionSearch` (its ``descriptions``, built with it)."""
    return engine.descriptions


def _check_query(query: Any) -> str:
    text = query.strip() if isinstance(query, str) else ""
    if not text or len(text) > MAX_QUERY_CHARS:
        raise InvalidValueError(
            "q",
            query,
            f"a description of 1 to {MAX_QUERY_CHARS} "
            'characters, not only spaces (e.g. "a \'50s comedy")',
        )
    return text


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InvalidValueError("backend", backend, " or ".join(BACKENDS))
