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

__all__ = ["Coded", "Table", "check_quotes", "code", "open_table", "read_data",
           "words_to_tabs"]

_WORDS = re.compile(rb"[ \t]+")
_NUMERIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_EDGES = re.compile(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)")


@dataclass
class Coded:
    """One column coded: ``codes[i]`` indexes ``values`` (its distinct values, trimmed, in
    first-seen order); -1 marks a missing (null or blank) value."""

    codes: np.ndarray
    values: list[Any]

    def take(self, keep: np.ndarray) -> Coded:
        """The rows where ``keep`` is true, with only the values they use (still in
        first-seen order)."""
        codes = self.codes[keep]
        used = np.unique(codes[codes >= 0])
        remap = np.full(len(self.values) + 1, -1, dtype=np.int32)
        remap[used] = np.arange(used.shape[0], dtype=np.int32)
        return Coded(remap[codes], [self.values[i] for i in used.tolist()])

    def first_missing(self) -> int | None:
        """Row of the first missing value, None when there is none."""
        bad = np.flatnonzero(self.codes < 0)
        return int(bad[0]) if bad.size else None


def read_data(path: str) -> bytes:
    """The bytes of a file, decompressed when its name ends in ``.gz``."""
    if path.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return Path(path).read_bytes()


def words_to_tabs(data: bytes) -> bytes:
    """Whitespace-separated text as tab-separated: runs of spaces/tabs become one tab."""
    return _WORDS.sub(b"\t", _EDGES.sub(b"", data))


def first_line(data: bytes) -> bytes:
    end = data.find(b"\n")
    return data if end < 0 else data[:end]


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


def code(path: str, arr: Any, convert: Callable[[Any], Any]) -> Coded:
    """Code a column: each distinct value once through Arrow's hash table, then its distinct
    values trimmed (values equal once trimmed become one; blank ones missing). ``convert``
    turns a raw value into text (or None) where Arrow cannot: lists, records."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr])
    if not len(arr):
        return Coded(np.zeros(0, dtype=np.int32), [])
    t = arr.type
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        enc = arr.unify_dictionaries()  # (first-seen order: the first chunk's, then new ones)
    else:
        text = _as_text(arr)
        if text is None:
            text = pa.chunked_array(
                [pa.array([convert(v) for v in arr.to_pylist()], pa.string())])
        enc = text.dictionary_encode()
    raw = np.concatenate([
        np.asarray(ch.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)
        for ch in enc.chunks])
    dictionary = enc.chunk(enc.num_chunks - 1).dictionary  # chunks share one, growing
    if len(dictionary) and int(pc.max(pc.binary_length(dictionary)).as_py()) > MAX_RECORD_BYTES:
        raise ImportFailed(
            f"{path}: a value is over {MAX_RECORD_BYTES:,} bytes, the most a record may hold. "
            "Shorten it.", file=path)
    trimmed = pc.utf8_trim_whitespace(dictionary).dictionary_encode()
    remap = np.asarray(trimmed.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    values: list[Any] = trimmed.dictionary.to_pylist()
    if "" in values:  # blank values are missing
        blank = values.index("")
        remap = np.where(remap == blank, -1, remap - (remap > blank)).astype(np.int32)
        del values[blank]
    return Coded(np.append(remap, np.int32(-1))[raw], values)


Source = str | bytes
"""A file to read whole: its path (read by Arrow block by block) or its bytes."""


def _blocks(src: Source) -> Iterator[bytes]:
    if isinstance(src, bytes):
        yield src
        return
    with open(src, "rb") as fh:
        while block := fh.read(1 << 24):
            yield block


def _head(src: Source) -> bytes:
    """The first line of ``src``."""
    if isinstance(src, bytes):
        return first_line(src)
    with open(src, "rb") as fh:
        return first_line(fh.readline(1 << 22))


def _arrow_source(src: Source) -> Any:
    import pyarrow as pa

    return pa.BufferReader(src) if isinstance(src, bytes) else src


def _scan(src: Source) -> tuple[int, bool]:
    """Lines of ``src`` (not counting blank lines at its end) and whether it holds a quote."""
    newlines, quote, tail = 0, False, b""
    for block in _blocks(src):
        newlines += block.count(b"\n")
        quote = quote or b'"' in block
        tail = (tail + block)[-(1 << 16):]
    body = tail.rstrip(b"\r\n")
    if not body and newlines == tail.count(b"\n"):
        return 0, quote
    return newlines - tail[len(body):].count(b"\n") + 1, quote


def _csv_table(src: Source, found: list[str], header: bool, delimiter: str, quoting: bool,
               include: Sequence[str], quote: bool) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        _arrow_source(src),
        read_options=pcsv.ReadOptions(column_names=found, skip_rows=1 if header else 0,
                                      block_size=1 << 22),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter, quote_char='"' if quoting else False,
            newlines_in_values=quoting and quote),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(include, pa.dictionary(pa.int32(), pa.string())),
            include_columns=list(include),
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def csv_columns(src: Source, names: Sequence[str] | None, header: bool, delimiter: str,
                quoting: bool) -> tuple[list[str], Callable[[Sequence[str]], Any]] | None:
    """The column names of CSV ``src`` and a loader of some of its columns through Arrow
    (None when it cannot be read exactly that way: the loader then returns None too)."""
    import pyarrow as pa

    if header:
        head = _head(src).lstrip(b"\xef\xbb\xbf").rstrip(b"\r")
        try:
            cells = next(csv.reader([head.decode("utf-8")], delimiter=delimiter), [])
        except (UnicodeDecodeError, csv.Error):
            return None
        found = [h.strip() for h in cells]
        if len(set(found)) != len(found) or not all(found):
            return None
    else:
        found = list(names or ())

    def load(include: Sequence[str]) -> Any:
        n_lines, quote = _scan(src)
        try:
            table = _csv_table(src, found, header, delimiter, quoting, include, quote)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, OSError):
            return None
        if table.num_rows + (1 if header else 0) != n_lines:
            return None  # a record over several lines, or blank lines: read record by record
        return table

    return found, load


def jsonl_table(src: Source) -> Any:
    """JSON lines through Arrow; None when Arrow cannot read them exactly (mixed types in a
    column, a bad line, blank lines)."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        table = pj.read_json(_arrow_source(src),
                             read_options=pj.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    return table if table.num_rows == _scan(src)[0] else None


def parquet_file(path: str) -> Any:
    """The Parquet file, or None when the record reader must judge it (unreadable, or
    decoding to more than the expansion limit allows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        text = [f.name for f in pf.schema_arrow if f.type in (pa.string(), pa.large_string())]
        if text:  # read as dictionaries: each distinct value decoded once
            pf = pq.ParquetFile(path, read_dictionary=text)
    except Exception:
        return None
    meta = pf.metadata
    declared = sum(
        max(meta.row_group(g).column(c).total_uncompressed_size,
            8 * meta.row_group(g).column(c).num_values)
        for g in range(meta.num_row_groups) for c in range(meta.num_columns)
    )
    if declared > MAX_EXPANSION * Path(path).stat().st_size + EXPANSION_FLOOR:
        return None
    return pf


def check_quotes(path: str, data: bytes, delimiter: str) -> None:
    """Refuse a CSV file whose quoting runs away, naming the line where the quote opened.

    A quote never closed swallows the rest of the file into one value; one closed by the
    wrong quote swallows the lines between. Both are errors here: at the end of the file, and
    when a value over several lines is closed by a stray quote (its quotes do not pair up).

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
        next(reader)
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
        _check_span(path, lines, start, end, delimiter)


def _check_span(path: str, lines: list[str], start: int, end: int, delimiter: str) -> None:
    """A value over several lines must be quoted as the CSV rules say (a quote closed by
    the quote that ends the value); one closed by a stray quote rows later is refused."""
    try:
        list(csv.reader(lines[start - 1:end], delimiter=delimiter, strict=True))
    except csv.Error:
        raise ImportFailed(
            f"{path}, line {start}: a quoted value runs from line {start} to line {end} and "
            f"its quotes do not pair up; a quote on line {start} is probably not closed. "
            'Close it (or double a quote inside a quoted value: ""); nothing was read.',
            file=path, line=start) from None


_WORD_SUFFIXES = (".txt", ".tab", ".tsv")


class Table:
    """An answers or gold file opened for reading: its column names, then the columns wanted
    coded (:class:`Coded`), and the file line of each row.

    Columns come whole through Arrow (``load``) when the file can be read exactly that way,
    else record by record (``records``), which names the line of a malformed record.
    """

    def __init__(self, path: str, found: list[str], first_line: int,
                 load: Callable[[Sequence[str]], Any] | None,
                 records: Callable[[], Iterator[list[Record]]], line_shift: int = 0) -> None:
        self.path = path
        self.found = found
        self._first_line = first_line
        self._load = load
        self._records = records
        self._lines: np.ndarray | None = None
        self._shift = line_shift

    def line(self, row: int) -> int:
        """The file line (Parquet: row number) of row ``row`` (0-based)."""
        if self._lines is not None:
            return int(self._lines[row])
        return self._first_line + row

    def coded(self, names: Sequence[str], convert: Sequence[Callable[[Any], Any]]
              ) -> list[Coded]:
        """The columns ``names``, coded; ``convert`` turns one raw value of each into text
        (or None) where Arrow cannot (lists, records)."""
        import pyarrow as pa

        table = self._load(list(dict.fromkeys(names))) if self._load is not None else None
        if table is not None:
            self._load = self._records = _read_once  # let go of the file's bytes
            out = []
            for n, fn in zip(names, convert, strict=True):
                out.append(code(self.path, table.column(n), fn))
            del table
            pa.default_memory_pool().release_unused()  # what Arrow's allocator kept back
            return out
        values: list[list[Any]] = [[] for _ in names]
        lines: list[int] = []
        for batch in self._records():
            for rec in batch:
                d = rec.data
                for col, name, fn in zip(values, names, convert, strict=True):
                    col.append(fn(d.get(name)))
                lines.append(rec.line - self._shift)
        self._lines = np.asarray(lines, dtype=np.int64)
        self._records = _read_once
        return [code(self.path, pa.array(v, pa.string()), str) for v in values]


def _read_once(*_: Any) -> Any:
    raise RuntimeError("a Table's columns are read once")


def open_table(path: str, fmt: str | None, roles: list[str],
               header_words: frozenset[str] | set[str]) -> Table:
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
    if kind == "parquet":
        pf = parquet_file(path)

        def parquet_records() -> Iterator[list[Record]]:
            with open(path, "rb") as fh:
                return _imports_to_reads(open_records(io.BytesIO(fh.read()), kind, path=path))

        if pf is None:
            return _by_records(path, parquet_records)
        return Table(path, list(pf.schema_arrow.names), 1,
                     lambda cols: pf.read(columns=list(cols), use_threads=True),
                     parquet_records)
    plain = not path.lower().endswith(".gz")
    if kind == "jsonl":
        src: Source = path if plain else read_data(path)
        table = jsonl_table(src)

        def jsonl_records() -> Iterator[list[Record]]:
            body = src if isinstance(src, bytes) else Path(path).read_bytes()
            return _imports_to_reads(open_records(io.BytesIO(body), kind, path=path))

        if table is None:
            return _by_records(path, jsonl_records)
        return Table(path, list(table.column_names), 1, lambda cols: table, jsonl_records)
    delimiter, quoting, header = ("\t" if suffix == ".tsv" else ","), True, True
    names: list[str] | None = None
    src = path if plain else read_data(path)
    if words:
        delimiter, quoting = "\t", suffix == ".tsv"
        if isinstance(src, str):
            src = read_data(path)
        if b"\t" not in first_line(src) and suffix != ".tsv":
            src = words_to_tabs(src)
        head = first_line(src).lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
        cells = [c.strip().strip('"').lower() for c in head.split("\t")]
        lower = {w.lower() for w in header_words}
        header = any(c in lower for c in cells) or (
            not any(_NUMERIC.fullmatch(c) for c in cells) and not _label_recurs(src))
        if not header:
            if len(cells) != len(roles):
                raise ImportFailed(
                    f"{path}, line 1: the first line is not a header and has {len(cells)} "
                    f"value(s); a file without a header has {len(roles)} per line "
                    f"({' '.join(roles)}). Add a header row naming the columns.",
                    file=path, line=1)
            names = list(roles)
    shift = 1 if names is not None else 0

    def csv_records() -> Iterator[list[Record]]:
        body = src if isinstance(src, bytes) else Path(path).read_bytes()
        if names is not None:
            body = ("\t".join(names) + "\n").encode() + body
        if quoting:
            check_quotes(path, body, delimiter)
        return _imports_to_reads(read_csv(io.BytesIO(body), path=path, delimiter=delimiter))

    fast = csv_columns(src, names, header, delimiter, quoting)
    if fast is None:
        return _by_records(path, csv_records, shift)
    found, load = fast
    return Table(path, found, 2 if header else 1, load, csv_records, shift)


def _label_recurs(data: bytes) -> bool:
    """Whether the last value of the first line is also the last value of another line: a
    header's label column name is not a label (so ``qid ann ans`` is a header, and
    ``a b yes`` a row of a file with more ``yes`` labels). A line with a number is a row."""
    head = first_line(data)
    last = head.rstrip(b"\r").rsplit(b"\t", 1)[-1]
    rest = data[len(head) + 1:]
    return any(b"\t" + last + end in rest or rest.endswith(b"\t" + last)
               for end in (b"\n", b"\r\n"))


def _by_records(path: str, records: Callable[[], Iterator[list[Record]]], shift: int = 0
                ) -> Table:
    it = records()
    first = next(it, [])
    found = list(first[0].data) if first else []
    return Table(path, found, 1, None, lambda: itertools.chain([first], it), shift)


def _imports_to_reads(records: Iterator[list[Record]]) -> Iterator[list[Record]]:
    try:
        yield from records
    except ImportFailed as exc:
        # The readers were written for imports; nothing is imported here.
        raise ImportFailed(
            exc.message.removesuffix(" Nothing was imported."), **exc.detail
        ) from None
