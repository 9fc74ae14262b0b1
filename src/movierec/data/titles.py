"""MovieLens-style titles: "Godfather, The (1972)" → ("The Godfather", 1972)."""

from __future__ import annotations

import re

ARTICLES = (
    "The",
    "A",
    "An",
    "La",
    "Le",
    "Les",
    "L'",
    "Il",
    "Lo",
    "I",
    "Gli",
    "El",
    "Los",
    "Las",
    "Un",
    "Una",
    "Une",
    "Das",
    "Der",
    "Die",
    "Den",
    "Det",
    "De",
    "Het",
    "O",
    "Os",
    "As",
    "Ein",
    "Eine",
)
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_ARTICLE = re.compile(
    r"^(?P<body>.+?), (?P<article>" + "|".join(re.escape(a) for a in ARTICLES) + r")"
    r"(?P<rest>\s*\(.*\))?$"
)


def split_title(raw: str) -> tuple[str, int | None]:
    """Title with a trailing article moved to the front, and the year if the title carries one.

    Handles titles without a year, year ranges of series ("(2006-2007)"), and an alternative title
    in parentheses ("City of Lost Children, The (Cité des enfants perdus, La) (1995)").
    """
    text = raw.strip()
    year = None
    match = _YEAR.search(text)
    if match:
        year = int(match.group(1))
        text = text[: match.start()].rstrip()
    return move_article(text), year


def move_article(title: str) -> str:
    """ "Godfather, The" → "The Godfather"; "Cité des enfants perdus, La" → "La Cité …"."""
    match = _ARTICLE.match(title)
    if not match:
        return title
    article = match.group("article")
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{match.group('body')}{match.group('rest') or ''}"
