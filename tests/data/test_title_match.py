"""Films matched across catalogs by title and year: the names a film goes by, and never a guess."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.title_match import (
    BY_NAME,
    EPISODE,
    EXACT,
    NONE,
    SERIES,
    WHOLE,
    match_by_title,
    movie_names,
)


def catalog(*films: tuple[str, int | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {"title": [t for t, _ in films], "year": pd.array([y for _, y in films], dtype="Int16")}
    )


def test_the_names_a_film_goes_by():
    assert list(movie_names("The Boat (Das Boot)"))[:2] == ["theboat", "boat"]
    assert movie_names("The Boat (Das Boot)")["dasboot"] == WHOLE
    names = movie_names("Star Wars: Episode VI - Return of the Jedi")
    assert list(names)[0] == "starwarsepisode6returnofthejedi"
    assert names["starwars"] == SERIES and names["returnofthejedi"] == EPISODE
    assert movie_names("Alien³") == movie_names("Alien 3") == {"alien3": WHOLE}
    # a subtitle that names no film is not a name
    assert movie_names("Gilligan's Island: The Movie") == {
        "gilligansislandthemovie": WHOLE,
        "gilligansisland": SERIES,
    }


def test_exact_then_another_name_then_a_year_apart():
    left = catalog(
        ("Star Wars: Episode IV - A New Hope", 1977),  # the series name is ml-100k's title
        ("Se7en", 1995),
        ("Conan the Barbarian", 1982),  # the releases disagree by a year
        ("Heat", 1995),
        ("Nowhere", 1990),
        ("Untitled", None),
    )
    right = catalog(
        ("Heat", 1995),
        ("Star Wars", 1977),
        ("Seven (Se7en)", 1995),
        ("Conan the Barbarian", 1981),
        ("Untitled", 1999),
    )
    rows, how = match_by_title(left, right)
    assert rows.tolist() == [1, 2, 3, 0, -1, -1]
    assert how.tolist() == [BY_NAME, BY_NAME, BY_NAME, EXACT, NONE, NONE]


def test_nothing_is_matched_on_a_guess():
    left = catalog(
        ("Hamlet", 1996),  # the other catalog has two Hamlets that year
        ("Stargate: Continuum", 2008),  # one series, another film
        ("Gilligan's Island: The Movie", 1998),  # "The Movie" is every film's subtitle
        ("Crash", 1997),  # a year either side answers twice
    )
    right = catalog(
        ("Hamlet (a.k.a. Prince)", 1996),
        ("Hamlet (The Prince)", 1996),
        ("Stargate: The Ark of Truth", 2008),
        ("Rudolph the Red-Nosed Reindeer: The Movie", 1998),
        ("Crash", 1996),
        ("Crash", 1998),
    )
    rows, how = match_by_title(left, right)
    assert rows.tolist() == [-1, -1, -1, -1] and (how == NONE).all()


def test_one_film_is_claimed_once_and_given_matches_are_kept():
    # two films answer to "Bram Stoker's Dracula" 1992 by another name: neither is sure
    left = catalog(
        ("Dracula (Bram Stoker's Dracula)", 1992), ("Bram Stoker's Dracula (Dracula)", 1992)
    )
    right = catalog(("Bram Stoker's Dracula", 1992), ("Heat", 1995))
    rows, how = match_by_title(left, right)
    assert rows.tolist() == [-1, -1] and how.tolist() == [NONE, NONE]
    # only the films asked for are matched
    rows, how = match_by_title(left, right, only=np.array([True, False]))
    assert rows.tolist() == [0, -1] and how.tolist() == [BY_NAME, NONE]
    # a film matched by other means is kept, and its row is not claimed again
    rows, how = match_by_title(left, right, matched=np.array([0, -1]))
    assert rows.tolist() == [0, -1] and how.tolist() == [NONE, NONE]
    left = catalog(("Heat", 1995), ("Heat", 1995))
    rows, how = match_by_title(left, right, matched=np.array([1, -1]))
    assert rows.tolist() == [1, -1] and how.tolist() == [NONE, NONE]


def test_empty_catalogs():
    rows, how = match_by_title(catalog(), catalog(("Heat", 1995)))
    assert rows.shape == how.shape == (0,)
    rows, _ = match_by_title(catalog(("Heat", 1995)), catalog())
    assert rows.tolist() == [-1]
