"""Fast, strict reading of delimited files with pyarrow, with errors that name file and line.

pyarrow's multi-threaded CSV reader loads a 33.8M-row `ratings.csv` in seconds; what it lacks
is a good message when a row is bad. Rows with the wrong number of fields are skipped and
counted (re-read single-threaded only then, to learn their line numbers); a value that does not
convert stops the load, and a slow Python pass over the file finds the line to name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.data.dataset import LoadReport
from movierec.data.files import FileRef
from movierec.errors import DataFormatError

_BLOCK = 16 << 20


@dataclass
class Table:
    """A pyarrow table plus what was skipped on the way in."""

    data: pa.Table
    file: str
    first_line: int
    skipped_lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    skipped_examples: list[str] = field(default_factory=list)

    def line_numbers(self, rows: np.ndarray) -> np.ndarray:
        """1-based file line of each row index (exact when rows hold no embedded newlines)."""
        rows = np.asarray(rows, dtype=np.int64)
        base = rows + self.first_line
        if not len(self.skipped_lines):
            return base
        shifted = self.skipped_lines - np.arange(len(self.skipped_lines))
        return base + np.searchsorted(shifted, base, side="right")


def read_table(
    ref: FileRef,
    *,
    types: dict[str, pa.DataType] | None = None,
    names: list[str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf8",
    quoting: bool = True,
    header: bool = True,
    data: bytes | None = None,
    multiline: bool = False,
) -> Table:
    """Read a delimited file.

    Args:
        ref: the file.
        types: column name → pyarrow type for the columns that must convert; others are inferred.
        names: column names when the file has none (``header=False``) or to rename them.
        delimiter: one character.
        encoding: text encoding (``latin-1`` for the old MovieLens files).
        quoting: whether double quotes group fields (off for MovieLens `u.item`).
        header: whether the first line holds column names.
        data: the file's bytes, already read (and, say, with ``::`` rewritten to a tab).
        multiline: quoted fields may hold line breaks (free-text metadata such as overviews).
            Off for ratings files: it makes pyarrow's parallel parse hold more in memory.
    """
    skipped: list[tuple[int | None, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append((row.number, row.text))
        return "skip"

    def attempt(use_threads: bool) -> pa.Table:
        skipped.clear()
        source = io.BytesIO(data) if data is not None else ref.open()
        try:
            return pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(
                    use_threads=use_threads,
                    encoding=encoding,
                    block_size=_BLOCK,
                    column_names=names or None,
                    skip_rows=1 if (header and names) else 0,
                    autogenerate_column_names=False,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter,
                    quote_char='"' if quoting else False,
                    newlines_in_values=quoting and multiline,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=types or {},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        finally:
            source.close()

    if (data is not None and not data.strip()) or (data is None and ref.is_empty()):
        raise DataFormatError("the file is empty", file=ref.display)
    if header and names:
        _check_header(ref, data, names, delimiter, encoding)
    try:
        table = attempt(use_threads=True)
        if skipped and any(number is None for number, _ in skipped):
            table = attempt(use_threads=False)
    except pa.ArrowInvalid as exc:
        raise _locate(
            ref, exc, types or {}, delimiter, encoding, quoting, header, names, data
        ) from exc
    if header and table.num_rows == 0 and not skipped:
        raise DataFormatError("the file has a header but no rows", file=ref.display)
    lines = np.array(sorted(n for n, _ in skipped if n is not None), dtype=np.int64)
    return Table(table, ref.display, 2 if header else 1, lines, [t for _, t in skipped[:3]])


def note_skipped(table: Table, report: LoadReport) -> None:
    """Report rows the reader skipped for having the wrong number of fields."""
    count = max(len(table.skipped_lines), len(table.skipped_examples))
    if count:
        example = f", e.g. {table.skipped_examples[0]!r}" if table.skipped_examples else ""
        report.add(
            f"skipped {count} malformed row(s) (wrong number of fields{example})",
            file=table.file,
            count=count,
            lines=table.skipped_lines[:5].tolist(),
        )


def require_columns(table: Table, columns: list[str], delimiter: str = ",") -> None:
    """Fail with the columns found when the header lacks some (often a wrong separator)."""
    found = table.data.column_names
    missing = [c for c in columns if c not in found]
    if missing:
        hint = "" if len(found) > 1 else f"; is the separator {delimiter!r} right?"
        raise DataFormatError(
            f"missing column(s) {', '.join(missing)}; found {', '.join(found)}{hint}",
            file=table.file,
            line=1,
        )


def _check_header(
    ref: FileRef, data: bytes | None, names: list[str], delimiter: str, encoding: str
) -> None:
    """The header must have one field per expected column (else the separator is likely wrong)."""
    if data is not None:
        first = data.split(b"\n", 1)[0]
    else:
        with ref.open() as handle:
            first = handle.readline()
    fields = first.decode(encoding, errors="replace").rstrip("\r\n").split(delimiter)
    if len(fields) != len(names):
        raise DataFormatError(
            f"expected {len(names)} columns ({', '.join(names)}), found {len(fields)} in the "
            f"header; is the separator {delimiter!r} right?",
            file=ref.display,
            line=1,
        )


def _locate(
    ref: FileRef,
    exc: pa.ArrowInvalid,
    types: dict[str, pa.DataType],
    delimiter: str,
    encoding: str,
    quoting: bool,
    header: bool,
    names: list[str] | None,
    data: bytes | None,
) -> DataFormatError:
    """Find the first value that does not convert, by a slow pass (error path only)."""
    raw = data if data is not None else ref.read_bytes()
    text = io.StringIO(raw.decode(encoding, errors="replace"), newline="")
    reader = csv.reader(
        text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE
    )
    column_names = names or []
    if header:
        head = next(reader, [])
        column_names = names or head
    positions = {i: types[n] for i, n in enumerate(column_names) if n in types}
    for row in reader:
        for i, kind in positions.items():
            if i >= len(row):
                continue
            value = row[i]
            if not _converts(value, kind):
                return DataFormatError(
                    f"column {column_names[i]!r}: {value!r} is not {_describe(kind)}",
                    file=ref.display,
                    line=reader.line_num,
                )
    message = str(exc).split("\n")[0]
    return DataFormatError(f"cannot parse: {message}", file=ref.display)


def _converts(value: str, kind: pa.DataType) -> bool:
    value = value.strip()
    if pa.types.is_integer(kind):
        try:
            int(value)
            return True
        except ValueError:
            return False
    if pa.types.is_floating(kind):
        try:
            float(value)
            return True
        except ValueError:
            return value == ""
    return True


def _describe(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "an integer"
    if pa.types.is_floating(kind):
        return "a number"
    return str(kind)
