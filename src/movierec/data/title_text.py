"""Title text as search compares it: the words of a title or a query, with what people vary
(case, accents, punctuation, articles, roman numerals, an added year) folded away.

Both sides of :mod:`movierec.data.search` go through here, so a catalog title and what a
person types meet in one form: each title yields its *aliases*, each query its *readings*.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from movierec.data.titles import move_article

#: Leading words dropped to make the article-less alias: those that are almost always articles.
#: German "die", Portuguese "o"/"as", Italian "i" are left out: "Die Hard" must not become "Hard".
STRIPPED_ARTICLES = frozenset(
    {
        "the",
        "a",
        "an",
        "le",
        "la",
        "les",
        "l",
        "el",
        "los",
        "las",
        "il",
        "lo",
        "gli",
        "un",
        "una",
        "une",
        "der",
        "das",
        "ein",
        "eine",
    }
)
# Combining marks (accents) that NFKD splits off; other scripts keep theirs.
_MARK_RANGES = (
    (0x0300, 0x0370),
    (0x1AB0, 0x1B00),
    (0x1DC0, 0x1E00),
    (0x20D0, 0x2100),
    (0xFE20, 0xFE30),
)
_FOLD = str.maketrans(
    {
        **{
            chr(cp): None
            for lo, hi in _MARK_RANGES
            for cp in range(lo, hi)
            if unicodedata.combining(chr(cp))
        },
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "&": " and ",
        "'": "",
        "’": "",
        "`": "",
        ".": "",
    }
)
_ELISION = re.compile(r"\b(l|d|j|m|n|s|t|c|qu)['’](?=\w)", re.IGNORECASE)  # l'amour → l amour
_NON_WORD = re.compile(r"[\W_]+")
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
_ROMAN_WORD = re.compile(r"\b(" + "|".join(_ROMAN) + r")\b")
_PARENS = re.compile(r"\(([^()]*)\)")
_AKA = re.compile(r"^\s*(a\.?k\.?a\.?|aka)\s+", re.IGNORECASE)
_PAREN_YEAR = re.compile(r"\s*[(\[]\s*(\d{4})\s*[)\]]\s*$")
_BARE_YEAR = re.compile(r"^(.*\w.*?)[\s,]+(\d{4})$")


def normalise(text: str) -> str:
    """Lower-case words without accents or punctuation: "Amélie" and "amelie" must meet.

    Elided articles are split off ("l'Avventura" → "l avventura") so the article can be dropped;
    other apostrophes and dots vanish ("Schindler's", "E.T.") and the rest of punctuation
    separates words. Roman numerals II–IX become digits, so "part 2" finds "Part II".
    """
    if "'" in text or "’" in text:
        text = _ELISION.sub(r"\1 ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    text = " ".join(_NON_WORD.sub(" ", text.casefold().translate(_FOLD)).split())
    return _ROMAN_WORD.sub(lambda m: _ROMAN[m.group(1)], text) if "i" in text else text


def loose_key(name: str) -> str:
    """A short name as people type it, :func:`normalise`'d with its spaces dropped, so that it
    meets the catalog's or a file's spelling: genres ("scifi", "Sci Fi" → Sci-Fi; "childrens"
    → Children's) and column headers ("Item_ID", "itemId" → itemid)."""
    return "".join(normalise(name).split())


def strip_article(key: str) -> str:
    """The normalised title without a leading article, when words remain after it."""
    first, _, rest = key.partition(" ")
    return rest if rest and first in STRIPPED_ARTICLES else key


def aliases(title: str) -> list[str]:
    """Normalised names a movie answers to, most telling first, without duplicates.

    MovieLens keeps alternative titles in parentheses ("Seven (a.k.a. Se7en)", "Amelie
    (Fabuleux destin d'Amélie Poulain, Le)"); each becomes a name of its own.
    """
    title = move_article(title.strip())
    raw = [title.split("(", 1)[0]]
    if "(" in title:
        raw += [
            _AKA.sub("", title),
            *(move_article(_AKA.sub("", alt).strip()) for alt in _PARENS.findall(title)),
        ]
    out: list[str] = []
    for name in map(normalise, raw):
        for variant in (name, strip_article(name)):
            if variant and variant not in out:
                out.append(variant)
    return out


def readings(query: str) -> list[tuple[str, int | None]]:
    """(normalised title, year) pairs the query may mean; a movie takes its best.

    A year in brackets is always a year. A bare trailing 4-digit number is one only when it is
    plausible (1870 to five years ahead) and words remain before it; the whole query is read as a
    title too, so "Death Race 2000" and "2001" keep working.
    """
    text = query.strip()
    match = _PAREN_YEAR.search(text)
    if match and normalise(text[: match.start()]):
        return [(normalise(move_article(text[: match.start()].strip())), int(match.group(1)))]
    whole = normalise(move_article(text))
    bare = _BARE_YEAR.match(text)
    if bare and 1870 <= int(bare.group(2)) <= datetime.date.today().year + 5:
        rest = normalise(move_article(bare.group(1).strip()))
        if rest:
            return [(rest, int(bare.group(2))), (whole, None)]
    return [(whole, None)]
