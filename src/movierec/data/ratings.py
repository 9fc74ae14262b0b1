"""Turning a raw ratings table into clean ratings, reporting every row it drops.

Shared by every source that has ratings, so NaN, out-of-scale values and duplicate
(user, movie) pairs are treated the same way everywhere: dropped, counted, and named by line.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from movierec.data.dataset import LoadReport, RatingScale
from movierec.data.readers import Table, note_skipped, require_columns
from movierec.errors import DataFormatError

RATINGS_TYPES = {
    "user_id": pa.int32(),
    "movie_id": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}


def clean_ratings(
    table: Table, scale: RatingScale, report: LoadReport, *, columns: dict[str, str] | None = None
) -> pd.DataFrame:
    """Validated ratings from a table whose columns are (renamed to) the shared names.

    Args:
        table: the table as read; ``columns`` maps shared names to its column names.
        scale: the ratings allowed; others are dropped and reported.
        report: where the dropped rows are noted.
    """
    columns = columns or {c: c for c in RATINGS_TYPES}
    required = [columns[c] for c in ("user_id", "movie_id", "rating")]
    require_columns(table, required)
    note_skipped(table, report)
    if table.data.num_rows == 0:
        raise DataFormatError("no ratings in the file", file=table.file)
    n_rows = table.data.num_rows
    users, no_user = _take_column(table, columns["user_id"], np.int32)
    movies, no_movie = _take_column(table, columns["movie_id"], np.int32)
    ratings, _ = _take_column(table, columns["rating"], np.float32)
    if columns.get("timestamp") in table.data.column_names:
        stamps, _ = _take_column(table, columns["timestamp"], np.int64)
    else:
        stamps = np.zeros(n_rows, np.int64)

    keep = np.ones(len(users), dtype=bool)
    missing_id = no_user | no_movie
    _drop(keep, missing_id, "a user or movie id is missing", table, report)
    nan = np.isnan(ratings)
    _drop(keep, ~missing_id & nan, "the rating is missing or NaN", table, report)
    _drop(
        keep,
        ~nan & ~scale.valid(ratings),
        f"the rating is outside the scale {scale.describe()}",
        table,
        report,
    )

    if keep.all():
        rows = None
    else:
        rows = np.flatnonzero(keep)
        users, movies, ratings, stamps = users[rows], movies[rows], ratings[rows], stamps[rows]
    if not len(users):
        raise DataFormatError("no valid ratings left after dropping bad rows", file=table.file)
    frame = pd.DataFrame(
        {"user_id": users, "movie_id": movies, "rating": ratings, "timestamp": stamps}, copy=False
    )
    kept = rows
    return drop_duplicate_pairs(
        frame,
        report,
        file=table.file,
        line_of=table.line_numbers if kept is None else lambda r: table.line_numbers(kept[r]),
    )


def drop_duplicate_pairs(
    frame: pd.DataFrame,
    report: LoadReport,
    *,
    file: str | None = None,
    line_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Keep the latest rating of each (user, movie) pair (the last one on equal timestamps)."""
    key = frame["user_id"].to_numpy().astype(np.int64)  # in place from here: one 8-byte copy
    key <<= 32
    key |= frame["movie_id"].to_numpy()
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        return frame  # sorted and unique: the usual case for MovieLens files, O(n)
    order = np.lexsort((np.arange(len(key)), frame["timestamp"].to_numpy(), key))
    sorted_key = key[order]
    last_of_pair = np.ones(len(key), dtype=bool)
    last_of_pair[:-1] = sorted_key[1:] != sorted_key[:-1]
    dropped = len(key) - int(last_of_pair.sum())
    if not dropped:
        return frame
    keep_rows = np.sort(order[last_of_pair])
    gone = np.setdiff1d(np.arange(len(key)), keep_rows, assume_unique=True)
    shown = (line_of(gone[:5]) if line_of is not None else gone[:5] + 1).tolist()
    report.add(
        f"dropped {dropped} duplicate (user, movie) rating(s), kept the latest by timestamp",
        file=file,
        count=dropped,
        lines=shown,
    )
    return frame.iloc[keep_rows].reset_index(drop=True)


def _drop(keep: np.ndarray, mask: np.ndarray, why: str, table: Table, report: LoadReport) -> None:
    mask = mask & keep
    count = int(mask.sum())
    if count:
        rows = np.flatnonzero(mask)[:5]
        report.add(
            f"dropped {count} rating(s): {why}",
            file=table.file,
            count=count,
            lines=table.line_numbers(rows).tolist(),
        )
        keep &= ~mask


def _take_column(table: Table, name: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """A column as a numpy array of ``dtype`` plus its null mask (nulls become 0 or NaN).

    The column is dropped from the table as it is taken, so the Arrow copy and the numpy copy
    of a 33.8M-row file are never both whole in memory.
    """
    column = table.data.column(name)
    table.data = table.data.drop_columns([name])
    nulls = (
        column.is_null().to_numpy(zero_copy_only=False)
        if column.null_count
        else np.zeros(len(column), dtype=bool)
    )
    target = pa.from_numpy_dtype(dtype)
    if column.type != target:
        try:
            column = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataFormatError(f"column {name!r} must hold numbers ({exc})") from exc
    if column.null_count:
        column = column.fill_null(np.nan if np.issubdtype(dtype, np.floating) else 0)
    return column.to_numpy(), nulls
