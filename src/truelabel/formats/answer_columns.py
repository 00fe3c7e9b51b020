"""The fast path of :mod:`truelabel.formats.answers`: whole columns through Arrow.

An answers file of millions of rows is read by Arrow's C++ readers (``pyarrow.csv``,
``pyarrow.json``, ``pyarrow.parquet``) into the few columns needed, and its ids and labels are
coded with ``dictionary_encode`` (first-seen order), so no Python object is made per answer.

The fast path only takes files it can read exactly; anything else (a record over several lines,
a malformed line, a type Arrow cannot read, a value over the size limit) returns ``None`` and the
caller reads the file record by record, which names the line at fault. A quote that is never
closed, or that swallows what look like rows, is an error naming the line where it opened
(:func:`check_quotes`).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from truelabel.domain.errors import ImportFailed, UnknownComponent
from truelabel.domain.limits import EXPANSION_FLOOR, MAX_EXPANSION

from .readers import MAX_RECORD_BYTES, Record, detect_format, open_records, read_csv

__all__ = ["Coded", "Columns", "Table", "check_quotes", "code_ids", "code_labels",
           "first_missing", "open_table", "read_columns", "read_data", "words_to_tabs"]

_WORDS = re.compile(rb"[ \t]+")
_EDGES = re.compile(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)")


@dataclass
class Columns:
    """Whole columns of a file, as Arrow chunked arrays.

    Attributes:
        found: Every column name of the file.
        arrays: Column name → its values (only the columns asked for).
        first_line: File line of the first row; row ``i`` is on line ``first_line + i``.
    """

    found: list[str]
    arrays: dict[str, Any]
    first_line: int


@dataclass
class Coded:
    """Values coded 0..n-1 in first-seen order; -1 marks a missing value."""

    codes: np.ndarray
    values: list[Any]


def read_data(path: str) -> bytes:
    """The bytes of a file, decompressed when its name ends in ``.gz``."""
    if path.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return Path(path).read_bytes()


def words_to_tabs(data: bytes) -> bytes:
    """Whitespace-separated text as tab-separated: runs of spaces/tabs become one tab."""
    return _WORDS.sub(b"\t", _EDGES.sub(b"", data))


def _n_lines(data: bytes) -> int:
    body = data.rstrip(b"\r\n")
    return body.count(b"\n") + 1 if body else 0


def _as_text(arr: Any) -> Any:
    """A column as UTF-8 text: numbers as their shortest text (7.0 → "7"), booleans as
    true/false; None when the column is neither text, number nor boolean."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr
    if pa.types.is_null(t):
        return arr.cast(pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return arr.cast(pa.string())
    return None


def read_columns(path: str, kind: str, data: bytes | None, names: Sequence[str] | None,
                 header: bool, delimiter: str, quoting: bool) -> Columns | None:
    """Read the file whole through Arrow; None when it cannot be read exactly this way.

    Args:
        path: The file.
        kind: ``csv`` (any delimiter), ``jsonl`` or ``parquet``.
        data: The file's bytes (csv and jsonl).
        names: Column names for a file without a header row.
        header: The first row names the columns (csv).
        delimiter: The csv delimiter.
        quoting: Whether ``"`` quotes csv values.
    """
    import pyarrow as pa

    try:
        if kind == "parquet":
            return _parquet(path)
        assert data is not None
        if kind == "jsonl":
            import pyarrow.json as pj

            table = pj.read_json(pa.BufferReader(data),
                                 read_options=pj.ReadOptions(block_size=1 << 24))
            if table.num_rows != _n_lines(data):
                return None  # blank lines: their numbers would shift
            cols = {n: table.column(n) for n in table.column_names}
            return Columns(list(table.column_names), cols, 1)
        import pyarrow.csv as pcsv

        if header:
            first = data.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").rstrip(b"\r")
            head = next(csv.reader([first.decode("utf-8")], delimiter=delimiter), [])
            found = [h.strip() for h in head]
            if len(set(found)) != len(found) or not all(found):
                return None
        else:
            found = list(names or ())
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(
                column_names=found, skip_rows=1 if header else 0, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=delimiter,
                                            quote_char='"' if quoting else False,
                                            newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(found, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError):
        return None
    if table.num_rows + (1 if header else 0) != _n_lines(data):
        return None  # a record over several lines, or blank lines: read record by record
    cols = {n: table.column(n) for n in found}
    return Columns(found, cols, 2 if header else 1)


def _parquet(path: str) -> Columns | None:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    meta = pf.metadata
    declared = sum(
        max(meta.row_group(g).column(c).total_uncompressed_size,
            8 * meta.row_group(g).column(c).num_values)
        for g in range(meta.num_row_groups) for c in range(meta.num_columns)
    )
    if declared > MAX_EXPANSION * Path(path).stat().st_size + EXPANSION_FLOOR:
        return None  # the record reader refuses it, with the figures
    table = pf.read()
    return Columns(list(table.column_names), {n: table.column(n) for n in table.column_names},
                   1)


def text_column(arr: Any) -> Any | None:
    """``arr`` as trimmed text, None when it is of another type (lists, structs...)."""
    import pyarrow.compute as pc

    text = _as_text(arr)
    if text is None:
        return None
    if int(pc.max(pc.binary_length(text)).as_py() or 0) > MAX_RECORD_BYTES:
        return None
    return pc.utf8_trim_whitespace(text)


def first_missing(text: Any) -> int | None:
    """Row of the first empty (or null) value of trimmed text, None when there is none."""
    import pyarrow.compute as pc

    bad = pc.or_kleene(pc.is_null(text), pc.equal(pc.binary_length(text), 0))
    bad = pc.fill_null(bad, True)
    if not pc.any(bad).as_py():
        return None
    return int(np.flatnonzero(np.asarray(bad.to_numpy(zero_copy_only=False)))[0])


def code_ids(text: Any) -> Coded:
    """Ids coded in first-seen order (no value may be missing)."""
    enc = text.combine_chunks().dictionary_encode()
    return Coded(np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
                 enc.dictionary.to_pylist())


def code_labels(text: Any) -> Coded:
    """Labels coded in first-seen order; empty or null values are -1."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = pc.equal(pc.binary_length(text), 0)
    text = pc.if_else(pc.fill_null(empty, True), pa.scalar(None, text.type), text)
    enc = text.combine_chunks().dictionary_encode()
    codes = enc.indices.fill_null(-1) if enc.indices.null_count else enc.indices
    return Coded(np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64),
                 enc.dictionary.to_pylist())


def check_quotes(path: str, data: bytes, delimiter: str) -> None:
    """Refuse a CSV file whose quoting runs away, naming the line where the quote opened.

    A quote never closed swallows the rest of the file into one value; one closed by the
    wrong quote swallows the lines between. Both are errors here: at the end of the file, and
    when a value over several lines holds lines that look like rows (as many delimiters as a
    row has).

    Raises:
        ImportFailed: the line and what to do.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # the record reader names the line
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    reader = csv.reader(lines, delimiter=delimiter)
    last = 1
    spans: list[tuple[int, int]] = []
    try:
        width = len(next(reader))
        last = start = reader.line_num + 1
        for _row in reader:
            end = reader.line_num
            if end > start:
                spans.append((start, end))
            last, start = start, end + 1
    except csv.Error:
        return  # the record reader names the line
    try:  # was the last record's quote closed? (strict parsing says)
        list(csv.reader(lines[last - 1:], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise ImportFailed(
                f"{path}, line {last}: a quote opens on this line and is never closed, so "
                f"the {len(lines) - last + 1} line(s) to the end of the file would be one "
                'value. Close the quote (or double a quote inside a quoted value: ""); '
                "nothing was read.", file=path, line=last) from None
    for start, end in spans:
        _check_span(path, lines, start, end, width, delimiter)


def _check_span(path: str, lines: list[str], start: int, end: int, width: int,
                delimiter: str) -> None:
    inner = lines[start:end]  # the lines after the first of the record
    if width > 1 and any(line.count(delimiter) >= width - 1 for line in inner):
        raise ImportFailed(
            f"{path}, line {start}: a quoted value runs from line {start} to line {end} and "
            f"holds lines that look like rows; a quote on line {start} is probably not closed. "
            'Close it (or double a quote inside a quoted value: ""); nothing was read.',
            file=path, line=start)



_WORD_SUFFIXES = (".txt", ".tab", ".tsv")


class Table:
    """An answers or gold file opened for reading: its column names, then the columns wanted,
    as trimmed Arrow text (``None`` for a missing value), and the file line of each row."""

    def __init__(self, path: str, found: list[str], columns: Columns | None,
                 records: Iterator[list[Record]] | None, first: list[Record],
                 line_shift: int = 0) -> None:
        self.path = path
        self.found = found
        self._columns = columns
        self._records = records
        self._first = first
        self._lines: np.ndarray | None = None
        self._shift = line_shift
        self.n_rows = 0

    def line(self, row: int) -> int:
        """The file line (Parquet: row number) of row ``row`` (0-based)."""
        if self._lines is not None:
            return int(self._lines[row])
        assert self._columns is not None
        return self._columns.first_line + row

    def texts(self, names: Sequence[str], convert: Sequence[Callable[[Any], Any]]) -> list[Any]:
        """The columns ``names`` as trimmed text arrays; ``convert`` turns one raw value of
        each into text (or None) where Arrow cannot (lists, records)."""
        import pyarrow as pa

        if self._columns is not None:
            out = []
            for name, fn in zip(names, convert, strict=True):
                arr = self._columns.arrays[name]
                text = text_column(arr)
                if text is None:
                    text = pa.chunked_array(
                        [pa.array([fn(v) for v in arr.to_pylist()], pa.string())])
                    text = text_column(text)
                    if text is None:
                        raise _too_big(self.path)
                out.append(text)
                self.n_rows = len(arr)
            return out
        values: list[list[Any]] = [[] for _ in names]
        lines: list[int] = []
        assert self._records is not None
        for batch in itertools.chain([self._first], self._records):
            for rec in batch:
                d = rec.data
                for col, name, fn in zip(values, names, convert, strict=True):
                    col.append(fn(d.get(name)))
                lines.append(rec.line - self._shift)
        self._lines = np.asarray(lines, dtype=np.int64)
        self.n_rows = len(lines)
        return [pa.chunked_array([pa.array(v, pa.string())]) for v in values]


def _too_big(path: str) -> ImportFailed:
    return ImportFailed(
        f"{path}: a value is over {MAX_RECORD_BYTES:,} bytes, the most a record may hold. "
        "Shorten it.", file=path)


def open_table(path: str, fmt: str | None, roles: list[str], header_words: set[str]
               ) -> Table:
    """Open an answers (or gold: ``roles`` item, label) file of any supported kind.

    Raises:
        UnknownComponent: a plain-text file, or a name whose format cannot be told.
        ImportFailed: a whitespace-separated file without header whose rows are not
            ``len(roles)`` values, or a malformed line (named).
    """
    name = path[:-3] if path.lower().endswith(".gz") else path
    suffix = Path(name).suffix.lower()
    words = fmt is None and suffix in _WORD_SUFFIXES
    kind = "csv" if words else detect_format(name, fmt)
    if kind == "text":
        raise UnknownComponent(
            f"{path}: answers must be a table (CSV/TSV, JSONL or Parquet), or text with "
            "'item annotator label' on each line; not plain text. Use one row per answer.",
            known=["csv", "jsonl", "parquet", "txt"],
        )
    data = None if kind == "parquet" else read_data(path)
    delimiter, quoting, header = ",", True, True
    names: list[str] | None = None
    if words:
        assert data is not None
        first = data.split(b"\n", 1)[0]
        delimiter, quoting = "\t", suffix == ".tsv"
        if b"\t" not in first and suffix != ".tsv":
            data = words_to_tabs(data)
            first = data.split(b"\n", 1)[0]
        cells = [c.strip().strip('"').lower() for c in
                 first.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace").split("\t")]
        header = any(c in header_words or c in {w.lower() for w in header_words}
                     for c in cells)
        if not header:
            if len(cells) != len(roles):
                raise ImportFailed(
                    f"{path}, line 1: the first line is not a header and has {len(cells)} "
                    f"value(s); a file without a header has {len(roles)} per line "
                    f"({' '.join(roles)}). Add a header row naming the columns.",
                    file=path, line=1)
            names = list(roles)
    elif kind == "csv":
        delimiter = "\t" if suffix == ".tsv" else ","
    cols = read_columns(path, kind, data, names, header, delimiter, quoting)
    if cols is not None:
        return Table(path, cols.found, cols, None, [])
    # The record by record reader: exact line numbers and messages.
    if kind == "csv" and quoting:
        assert data is not None
        check_quotes(path, data, delimiter)
    shift = 0
    if kind == "csv":
        assert data is not None
        if names is not None:
            data = ("\t".join(names) + "\n").encode() + data
            shift = 1
        records = read_csv(io.BytesIO(data), path=path, delimiter=delimiter)
    elif kind == "jsonl":
        assert data is not None
        records = open_records(io.BytesIO(data), kind, path=path)
    else:
        with open(path, "rb") as fh:
            records = open_records(io.BytesIO(fh.read()), kind, path=path)
    records = _imports_to_reads(records)
    first = next(records, [])
    found = list(first[0].data) if first else list(names or [])
    return Table(path, found, None, records, first, shift)


def _imports_to_reads(records: Iterator[list[Record]]) -> Iterator[list[Record]]:
    try:
        yield from records
    except ImportFailed as exc:
        # The readers were written for imports; nothing is imported here.
        raise ImportFailed(
            exc.message.removesuffix(" Nothing was imported."), **exc.detail
        ) from None
