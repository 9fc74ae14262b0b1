"""Parameter checks shared by the data, models, engine and evaluation layers.

One rule per kind of value, so that the same parameter is accepted (or refused) the same way
everywhere: a bool is never a number, a numpy integer is an integer, a numpy float a number.
A refusal is an :class:`~movierec.errors.InvalidValueError` naming the field (the service answers
it with a 422 that says which field), worded as a parameter check:
``k must be a positive integer, got 0``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NoReturn

import numpy as np

from movierec.errors import InvalidValueError


def fail(field: str, value: object, allowed: str) -> NoReturn:
    """Refuse ``value`` for ``field``: ``{field} must be {allowed}, got {value!r}``."""
    error = InvalidValueError(field, value, allowed)
    error.args = (f"{field} must be {allowed}, got {value!r}",)
    raise error


def require(condition: bool, field: str, allowed: str, value: object) -> None:
    """One-line check of a condition no typed check below states."""
    if not condition:
        fail(field, value, allowed)


def is_int(value: object) -> bool:
    """An integer, numpy's included; not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A real number, numpy's included; not a bool (finite or not)."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def int_at_least(value: Any, field: str, low: int, *, optional: bool = False) -> None:
    """An integer ``>= low`` (``None`` too when ``optional``)."""
    if optional and value is None:
        return
    allowed = "a positive integer" if low == 1 else f"an integer of at least {low}"
    require(
        is_int(value) and value >= low, field, allowed + (" or None" if optional else ""), value
    )


def positive_int(value: Any, field: str, *, optional: bool = False) -> None:
    """An integer ``>= 1`` (``None`` too when ``optional``)."""
    int_at_least(value, field, 1, optional=optional)


def int_in(value: Any, field: str, low: int, high: int) -> None:
    """An integer from ``low`` to ``high``, both included."""
    require(
        is_int(value) and low <= value <= high, field, f"an integer from {low} to {high}", value
    )


def check_k(k: Any) -> None:
    """The length of a list asked for: a positive integer."""
    positive_int(k, "k")


def number_at_least(
    value: Any, field: str, low: float = 0.0, *, strict: bool = False, optional: bool = False
) -> None:
    """A finite number ``>= low`` (``> low`` when ``strict``; ``None`` too when ``optional``)."""
    if optional and value is None:
        return
    ok = is_number(value) and bool(np.isfinite(value)) and (value > low if strict else value >= low)
    allowed = f"a finite number {'>' if strict else '>='} {low:g}"
    require(ok, field, allowed + (" or None" if optional else ""), value)


def finite_number(value: Any, field: str) -> None:
    """Any finite number."""
    require(is_number(value) and bool(np.isfinite(value)), field, "a finite number", value)


def number_in(
    value: Any,
    field: str,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """A number between ``low`` and ``high``, each end included unless open."""
    ok = (
        is_number(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high)
    )
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    require(bool(ok), field, f"in {interval}", value)


def boolean(value: Any, field: str) -> None:
    """``True`` or ``False`` itself (not 0, 1 or a string)."""
    require(isinstance(value, bool), field, "True or False", value)


def one_of(value: Any, field: str, choices: Collection[str]) -> None:
    """One of a few names."""
    require(value in choices, field, "one of " + ", ".join(map(str, choices)), value)
