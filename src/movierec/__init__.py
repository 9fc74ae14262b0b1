"""movierec: a movie recommendation engine and service."""

__version__ = "0.1.0"
