"""Domain errors.

Every error a user can cause derives from :class:`MovieRecError`; the command line prints its
message without a traceback and the service answers with the error's ``status`` (MLServer's
``errors.py`` pattern: the error carries its HTTP status, one handler maps it). Messages say what
was expected and what came, naming the file and line (or the field) where the problem is.
"""

from __future__ import annotations

from pathlib import Path


class MovieRecError(Exception):
    """Base class of the errors a user can cause and fix.

    ``status`` is the HTTP status the service answers with; 500 where a request cannot have
    caused the error (a damaged store, a model not fitted), so its message stays in the log.
    """

    exit_code = 1
    status = 500


class DataFormatError(MovieRecError):
    """A file is missing, malformed or of an unknown format."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        where = ""
        if self.file is not None:
            where = self.file if line is None else f"{self.file}, line {line}"
            where += ": "
        super().__init__(where + message)


class DatasetNotFoundError(MovieRecError):
    """A dataset name that is neither stored in the home folder nor fetchable."""

    status = 404


class FetchError(MovieRecError):
    """A download failed, or its checksum did not match."""


class UnknownUserError(MovieRecError, KeyError):
    """A user id the model (or store) has never seen; the engine falls back to cold start."""

    status = 404

    def __init__(self, user_id: object):
        self.user_id = user_id
        super().__init__(f"unknown user {user_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownMovieError(MovieRecError, KeyError):
    """A movie id that is not in the catalog the model was fitted on.

    ``row``, as :class:`InvalidValueError`'s: the 0-based position in a batch of ratings the
    store refused, None otherwise.
    """

    status = 404
    row: int | None = None

    def __init__(self, movie_id: object):
        self.movie_id = movie_id
        super().__init__(f"unknown movie {movie_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class NotFittedError(MovieRecError):
    """A model used before `fit` (or `load`)."""


class AmbiguousTitleError(MovieRecError):
    """A title that matches several movies equally well; the message lists them."""

    status = 409

    def __init__(self, message: str, candidates: list[dict[str, object]]):
        self.candidates = candidates
        super().__init__(message)


class NoMatchError(MovieRecError):
    """A title, genre or other name that matches nothing; the message suggests the closest."""

    status = 404


class InvalidValueError(MovieRecError, ValueError):
    """A value outside what a field allows; names the field, the value and what is allowed.

    Also a :class:`ValueError`, so callers that validate generically still catch it. ``row`` is
    the 0-based position in a batch when the value came from one, so the caller can point at it.
    """

    status = 422

    def __init__(self, field: str, value: object, allowed: str, *, row: int | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.row = row
        where = f"row {row}: " if row is not None else ""
        super().__init__(f"{where}{field} {value!r} is not allowed; expected {allowed}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidRatingError(InvalidValueError):
    """A rating (or a field of a rating row) the store refuses; nothing was written."""


class StoreError(MovieRecError):
    """The ratings store cannot do what was asked (not initialised, an id already taken…)."""


class IdTakenError(StoreError):
    """A user or movie id asked for explicitly is already taken (a conflict, not bad input)."""

    status = 409


class StoreUnavailableError(StoreError):
    """The store cannot be reached now: a server down, a database locked past the busy timeout.

    Retrying later may succeed, unlike the other store errors.
    """

    status = 503


class StoreCorruptError(StoreError):
    """The store's file is not a database or is damaged; it is left untouched for inspection."""


class SchemaVersionError(StoreError):
    """The database was written by a newer movierec whose schema this version cannot read."""

    def __init__(self, location: str, found: int, supported: int):
        self.found = found
        self.supported = supported
        super().__init__(
            f"{location} has ratings-store schema version {found}, but this movierec supports "
            f"up to version {supported}; upgrade movierec to open it (nothing was changed)"
        )


class NoRatingsError(MovieRecError):
    """Something that needs ratings, asked of a dataset that has none (a TMDB or IMDB catalog
    alone): it can be searched, charted by its own votes and compared by content only."""

    status = 409

    def __init__(self, dataset: str, what: str = "recommend from or store ratings for"):
        super().__init__(
            f"dataset {dataset!r} has no ratings to {what}: it can be searched, charted and "
            "compared by content (import a dataset with ratings, e.g. movierec data fetch "
            "ml-100k)"
        )


class ModelNotTrainedError(MovieRecError):
    """A model neither in memory nor stored, on a dataset too large to fit it inside a request;
    the message names the ``movierec train`` command to run first."""

    status = 409
