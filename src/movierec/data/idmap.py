"""External ids ↔ dense indices.

Append-only: a new user or movie gets the next index, and existing indices never change, so
factor matrices stay valid as the catalogue and the user base grow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd


class IdMap:
    """A vocabulary of integer ids; index ``i`` is the ``i``-th id added."""

    def __init__(self, ids: Iterable[int] | np.ndarray = ()):
        array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        self._ids = np.empty(0, np.int64)
        self._index = pd.Index(self._ids)
        self.add(array)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._index

    @property
    def ids(self) -> np.ndarray:
        """The ids in index order (read-only view)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    def index(self, id_: int) -> int:
        """Index of one id; ``KeyError`` if unknown."""
        return int(self._index.get_loc(id_))

    def indices(self, ids: np.ndarray | Iterable[int],
                missing: Literal["raise", "mask", "add"] = "raise") -> np.ndarray:
        """Indices of many ids at once.

        Args:
            ids: external ids.
            missing: ``raise`` a ``KeyError`` naming the first unknown id, ``mask`` them as -1,
                or ``add`` them to the map.
        """
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        found = self._index.get_indexer(ids)
        unknown = found < 0
        if unknown.any():
            if missing == "add":
                self.add(ids[unknown])
                found = self._index.get_indexer(ids)
            elif missing == "raise":
                raise KeyError(int(ids[unknown][0]))
        return found.astype(np.int64)

    def add(self, ids: np.ndarray | Iterable[int]) -> np.ndarray:
        """Append the ids not yet known (in first-seen order); returns the new ones."""
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if not len(ids):
            return ids
        _, first = np.unique(ids, return_index=True)
        fresh = ids[np.sort(first)]
        if len(self._ids):
            fresh = fresh[self._index.get_indexer(fresh) < 0]
        if len(fresh):
            self._ids = np.concatenate([self._ids, fresh])
            self._index = pd.Index(self._ids)
        return fresh

    def to_array(self) -> np.ndarray:
        """For saving: the ids in index order (``IdMap(arr)`` rebuilds the map)."""
        return self._ids.copy()
