"""Matching one catalog's films to another's by title and year, where no id links them.

RecBole's knowledge graph names ML-1M films and ml-100k has none of its ids; ml-100k has no
TMDB or IMDb ids for `movierec data enrich` to join on. Both are matched the way a person
would: the same title the same year (taken at its word), else another name the film goes by
("The Boat (Das Boot)" is "Das Boot"; "Star Wars: Episode IV - A New Hope" is ml-100k's "Star
Wars"), else a year either side (releases disagree by a year), these two only where exactly
one film not already claimed answers and no other film claims that one too, and never one
film of a series for another ("Stargate: Continuum" is not "Stargate: The Ark of Truth").
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from movierec.data.title_text import aliases, normalise, strip_article

NONE, EXACT, BY_NAME = 0, 1, 2  # how a row was matched
WHOLE, SERIES, EPISODE = 0, 1, 2  # what a name is to its film
# Subtitles that name no film ("Gilligan's Island: The Movie" is not "Rudolph…: The Movie")
_GENERIC_SUBTITLES = frozenset({"movie", "film", "motion picture", "the series"})


def movie_names(title: str) -> dict[str, int]:
    """The normalised names a title goes by, the whole title first, each with what it is to
    the film: :data:`WHOLE` (the title, or a parenthesised alternative such as "The Boat (Das
    Boot)"'s "Das Boot", as :func:`~movierec.data.title_text.aliases`), or for a series title
    its :data:`SERIES` and :data:`EPISODE` ("Star Wars: Episode VI - Return of the Jedi" →
    "star wars", "return of the jedi")."""
    names = dict.fromkeys((_squashed(name) for name in aliases(title) if name), WHOLE)
    main = title.split("(", 1)[0]
    series, colon, episode = main.partition(":")
    if colon:
        _, dash, subtitle = episode.partition(" - ")
        parts = ((normalise(series), SERIES), (normalise(subtitle if dash else episode), EPISODE))
        for part, kind in parts:
            if part and strip_article(part) not in _GENERIC_SUBTITLES:
                names.setdefault(_squashed(part), kind)
    return names


def _squashed(name: str) -> str:
    """Spaces dropped: "Alien³" folds to "alien3", ml-100k's "Alien 3" to "alien 3"."""
    return "".join(name.split())


def match_by_title(
    left: pd.DataFrame,
    right: pd.DataFrame,
    matched: np.ndarray | None = None,
    *,
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each ``left`` film's row in ``right`` by title and year, -1 where none is sure.

    Args:
        left, right: catalogs with ``title`` and ``year`` columns.
        matched: rows already matched by other means (-1 where not): those left films are
            not matched again, and those right rows are not claimed again.
        only: a mask of the left films to match (None: all).

    Returns:
        The right row of each left film (``matched``'s where given), and how each was matched
        (:data:`NONE`, :data:`EXACT` title and year, or :data:`BY_NAME`: another name or a
        year apart; rows given in ``matched`` are :data:`NONE`).
    """
    rows = np.full(len(left), -1, np.int64) if matched is None else matched.astype(np.int64)
    how = np.full(len(left), NONE, np.int8)
    wanted = (rows < 0) if only is None else (rows < 0) & only
    if not len(left) or not len(right):
        return rows, how
    claimed_before = set(rows[rows >= 0].tolist())
    by_key: dict[str, int] = {}
    for row, key in enumerate(_exact_keys(right)):
        if key and row not in claimed_before:
            by_key.setdefault(key, row)
    for row, key in enumerate(_exact_keys(left)):
        if wanted[row] and key in by_key:
            rows[row], how[row] = by_key[key], EXACT
    titles, years = left["title"].tolist(), pd.to_numeric(left["year"], errors="coerce").tolist()
    names_left = {  # the films still to match, each with its names and year
        row: (list(movie_names(titles[row]).items()), int(years[row]))
        for row in np.flatnonzero(wanted & (rows < 0)).tolist()
        if isinstance(titles[row], str) and not pd.isna(years[row])
    }
    if not names_left:
        return rows, how
    names_right = _names_by_year(right)
    for shifts in ((0,), (-1, 1)):
        taken = set(rows[rows >= 0].tolist())
        found: dict[int, int] = {}
        for row, (names, year) in names_left.items():
            if rows[row] >= 0:
                continue
            # one series' two films do not answer for each other: "Stargate: Continuum" is
            # not "Stargate: The Ark of Truth" (one episode's two spellings do: "Star Trek:
            # The Wrath of Khan" is "Star Trek II: The Wrath of Khan")
            hits = {
                hit
                for shift in shifts
                for name, kind in (names if shift == 0 else names[:1])
                for hit, kind_there in names_right.get((name, year + shift), {}).items()
                if hit not in taken and not kind == kind_there == SERIES
            }
            if len(hits) == 1:
                found[row] = hits.pop()
        claimed = Counter(found.values())
        for row, hit in found.items():
            if claimed[hit] == 1:  # two films on one: neither is sure
                rows[row], how[row] = hit, BY_NAME
    return rows, how


def _names_by_year(catalog: pd.DataFrame) -> dict[tuple[str, int], dict[int, int]]:
    """(name, year) → the catalog's rows that go by that name that year, each with what the
    name is to it (:func:`movie_names`)."""
    out: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)
    years = pd.to_numeric(catalog["year"], errors="coerce").tolist()
    for row, (title, year) in enumerate(zip(catalog["title"].tolist(), years, strict=True)):
        if not pd.isna(year) and isinstance(title, str):
            for name, kind in movie_names(title).items():
                out[(name, int(year))][row] = kind
    return out


def _exact_keys(catalog: pd.DataFrame) -> list[str]:
    """Keys "title|year", lower-case letters and digits only; no key without a title."""
    titles = catalog["title"].astype(str).str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True)
    years = pd.to_numeric(catalog["year"], errors="coerce")
    present = catalog["title"].notna().to_numpy()
    return [
        f"{t.strip()}|{'' if pd.isna(y) else int(y)}" if ok and t.strip() else ""
        for t, y, ok in zip(titles, years, present, strict=True)
    ]
