"""One text per movie, what search by description embeds: "Title (1955). Comedy, Romance.
Overview… Keywords: …".

Built from whichever catalog columns a source has (title, year, genres, overview, keywords,
tags), so every source can be searched by description, and the same catalog always gives the
same texts (their hash tells a saved index it is stale).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_LIST_FIELDS = (("keywords", "Keywords"), ("tags", "Tags"))
_TEXT_CHARS = 2_000  # the model reads 256 word pieces at most; longer texts only cost time


def movie_texts(catalog: pd.DataFrame) -> list[str]:
    """One text per movie, in catalog order: "Title (1955). Comedy, Romance. Overview…
    Keywords: …". Empty when the catalog knows nothing about the movie."""
    n = len(catalog)
    column: dict[str, list[Any]] = {
        name: catalog[name].tolist() if name in catalog else [None] * n
        for name in ("title", "year", "genres", "overview", *(f for f, _ in _LIST_FIELDS))
    }
    texts = []
    for i in range(n):
        parts = []
        title, year = _text(column["title"][i]), column["year"][i]
        if title:
            parts.append(f"{title} ({int(year)})" if _present(year) else title)
        elif _present(year):
            parts.append(f"A film from {int(year)}")
        genres = _words(column["genres"][i])
        if genres:
            parts.append(", ".join(genres))
        overview = _text(column["overview"][i])
        if overview:
            parts.append(overview)
        for name, label in _LIST_FIELDS:
            words = _words(column[name][i])
            if words:
                parts.append(f"{label}: {', '.join(words)}")
        text = ". ".join(p.rstrip(". ") for p in parts)
        texts.append(text[:_TEXT_CHARS] + ("." if text else ""))
    return texts


def _present(value: Any) -> bool:
    try:
        return value is not None and not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _words(value: Any) -> list[str]:
    """A list column (or a comma-separated string, as ml-latest-small's tags are)."""
    if isinstance(value, str):
        value = value.split(",")
    if value is None or isinstance(value, float):
        return []
    return [w.strip() for w in list(value) if isinstance(w, str) and w.strip()]
