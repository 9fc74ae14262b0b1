"""External ids ↔ dense indices.

Append-only: a new user or movie gets the next index, and existing indices never change, so
factor matrices stay valid as the catalogue and the user base grow. Ids live in a buffer that
doubles when full, and ids added after the hash index was built sit in a small dict (at most
1,024) until the index is rebuilt, so a stream of new users costs one rebuild per thousand
rather than one per user. Where the ids are dense enough (the largest at most four times their
count, as MovieLens's are), the rebuilt index is also a lookup table, read by one numba pass
(numpy's masked gather took 1.5 s for 33.8M ratings' ids, this pass 0.15 s).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit

_OVERFLOW = 1024  # appended ids kept in the overflow dict before the index is rebuilt
_FEW = 16  # lookups of at most this many ids go one by one (an Index per call costs ~50 µs)
_TABLE_SPREAD = 4  # a lookup table when the largest id is at most this many times the count
_TABLE_FLOOR = 1 << 16  # ... or below this (a table of 64k entries costs 512 KB)


class IdMap:
    """A vocabulary of integer ids; index ``i`` is the ``i``-th id added.

    Safe for readers running beside one writer: an id becomes visible only once every
    structure that answers for it is in place.
    """

    def __init__(self, ids: Iterable[int] | np.ndarray = ()):
        array = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        self._buffer = np.empty(0, np.int64)
        self._size = 0
        self._index = pd.Index(self._buffer)
        self._table: np.ndarray | None = None  # id → index, -1 where unknown (dense ids only)
        self._extra: dict[int, int] = {}
        self.add(array)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, id_: object) -> bool:
        return id_ in self._extra or id_ in self._index

    @property
    def ids(self) -> np.ndarray:
        """The ids in index order (read-only view)."""
        view = self._buffer[: self._size].view()
        view.flags.writeable = False
        return view

    def index(self, id_: int) -> int:
        """Index of one id; ``KeyError`` if unknown."""
        found = self._extra.get(id_)
        if found is not None:
            return found
        return int(self._index.get_loc(id_))

    def indices(
        self, ids: np.ndarray | Iterable[int], missing: Literal["raise", "mask", "add"] = "raise"
    ) -> np.ndarray:
        """Indices of many ids at once.

        Args:
            ids: external ids.
            missing: ``raise`` a ``KeyError`` naming the first unknown id, ``mask`` them as -1,
                or ``add`` them to the map.
        """
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        found = self._lookup(ids)
        unknown = found < 0
        if unknown.any():
            if missing == "add":
                self.add(ids[unknown])
                found = self._lookup(ids)
            elif missing == "raise":
                raise KeyError(int(ids[unknown][0]))
        return found

    def add(self, ids: np.ndarray | Iterable[int]) -> np.ndarray:
        """Append the ids not yet known (in first-seen order); returns the new ones."""
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if not len(ids):
            return ids
        _, first = np.unique(ids, return_index=True)
        fresh = ids[np.sort(first)]
        if self._size:
            fresh = fresh[self._lookup(fresh) < 0]
        if not len(fresh):
            return fresh
        start, end = self._size, self._size + len(fresh)
        if end > len(self._buffer):
            grown = np.empty(max(end, 2 * len(self._buffer)), np.int64)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:end] = fresh
        if start == 0 or len(self._extra) + len(fresh) > _OVERFLOW:
            known = self._buffer[:end].copy()
            # both cover old and new ids, and are in place before the overflow is emptied
            # (readers read the overflow first, so they never miss an id)
            self._table = _lookup_table(known)
            self._index = pd.Index(known)
            self._extra = {}
        else:
            extra = dict(self._extra)
            extra.update(zip(fresh.tolist(), range(start, end), strict=True))
            self._extra = extra
        self._size = end  # last: the new ids are now visible through `ids` and `len`
        return fresh

    def to_array(self) -> np.ndarray:
        """For saving: the ids in index order (``IdMap(arr)`` rebuilds the map)."""
        return self._buffer[: self._size].copy()

    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        extra = self._extra  # first: the writer replaces the table and index before it
        if len(ids) <= _FEW:  # a request's handful: hash lookups, not an Index built per call
            return np.fromiter((self._find(i, extra) for i in ids.tolist()), np.int64, len(ids))
        table = self._table
        if table is not None:
            found = _read_table(table, ids)
        else:
            found = self._index.get_indexer(ids).astype(np.int64)
        if extra:
            unknown = np.flatnonzero(found < 0)
            if len(unknown) > 64:  # many: one vectorised pass over the (small) overflow
                keys = pd.Index(np.fromiter(extra.keys(), np.int64, len(extra)))
                hit = keys.get_indexer(ids[unknown])
                values = np.fromiter(extra.values(), np.int64, len(extra))
                found[unknown] = np.where(hit >= 0, values[hit], -1)
            elif len(unknown):
                found[unknown] = [extra.get(i, -1) for i in ids[unknown].tolist()]
        return found

    def _find(self, id_: int, extra: dict[int, int]) -> int:
        """Index of one id, or -1 (``extra``: the overflow read before the index)."""
        found = extra.get(id_)
        if found is not None:
            return found
        try:
            return int(self._index.get_loc(id_))
        except KeyError:
            return -1


@njit(cache=True, nogil=True)
def _read_table(table: np.ndarray, ids: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """``table[id]`` for each id, -1 where the id falls outside the table."""
    out = np.empty(len(ids), np.int64)
    for i in range(len(ids)):
        id_ = ids[i]
        out[i] = table[id_] if 0 <= id_ < len(table) else -1
    return out


def _lookup_table(ids: np.ndarray) -> np.ndarray | None:
    """id → index as an array (-1 where no id), when the ids are non-negative and dense enough
    for it to stay small; None otherwise (the hash index answers)."""
    if not len(ids) or ids.min() < 0:
        return None
    top = int(ids.max()) + 1
    if top > max(_TABLE_SPREAD * len(ids), _TABLE_FLOOR):
        return None
    table = np.full(top, -1, np.int64)
    table[ids] = np.arange(len(ids), dtype=np.int64)
    return table
