"""The CSV (and TSV) import reader: every row of the file becomes a record, or the import
is refused naming the line — never merged or dropped without a word.

* A quote left open at the end of the file (it would swallow the rest of the file into one
  value) refuses the import, naming the line where the quote opened.
* Text after a closing quote (``"abc"def``) refuses it: the quote most likely closed
  somewhere it was not meant to.
* A row with more or fewer values than the header refuses it: padding or cutting it would
  change or lose data, and the usual cause (an unquoted delimiter) is the user's to fix.
* A blank line holds no record: it is passed over and counted (``blank``).
* A value spanning several lines is imported as written and counted (``multiline``); one
  over more than :data:`MAX_VALUE_LINES` lines, or whose lines look like rows of the file
  (:data:`ROW_LIKE_LINES` lines or more with the header's number of delimiters and no
  quote), is a warning (``suspect_multiline``): a quote left open merges rows into it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from .records import (
    MAX_BATCH_BYTES,
    MAX_RECORD_BYTES,
    Record,
    Warn,
    fail,
    no_warn,
    too_long,
    utf8_lines,
)

MAX_VALUE_LINES = 100
"""A quoted value over more lines than this is reported as a warning."""
ROW_LIKE_LINES = 2
"""A quoted value with this many lines that look like rows of the file (the header's
number of delimiters, no quote) is reported as a warning."""

_OPEN_HINT = ("Close the quote, or write a quote inside a value as two quotes (\"\") and "
              "quote the whole value.")


def read_csv(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    delimiter: str | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
    warn: Warn | None = None,
) -> Iterator[list[Record]]:
    warn = warn or no_warn
    sep = delimiter or ("\t" if path.endswith(".tsv") else ",")
    lines = utf8_lines(fh, path, max_record_bytes)
    line_no = 0
    record_start = 1
    record_bytes = 0  # of the record being read (quoted values may span lines)
    held: list[str] = []  # its lines, to say where a quote opened

    def text_lines() -> Iterator[str]:
        nonlocal line_no, record_bytes
        for n, line in lines:
            line_no = n
            record_bytes += len(line)
            if n == 1:
                line = line.lstrip("\ufeff")
            held.append(line)
            if record_bytes > max_record_bytes:
                raise too_long(path, record_start, record_bytes, max_record_bytes,
                               at_least=True, hint=_open_quote_hint(held, record_start, sep))
            yield line

    reader = csv.reader(text_lines(), delimiter=sep, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise _quote_error(path, exc, held, record_start, line_no, sep, "the header") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise fail(
            path,
            1,
            f"the header has empty or repeated column names {header}",
            "Give every column a unique name.",
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise fail(
            path,
            1,
            f"missing column(s) {missing}; the columns are {header}",
            "Add the column or change the schema's text field.",
        )
    width = len(header)
    batch: list[Record] = []
    size = 0
    record_start, record_bytes = line_no + 1, 0
    held.clear()
    try:
        for row in reader:
            if not row:  # a blank line: no record
                warn("blank", {"line": line_no})
                record_start, record_bytes = line_no + 1, 0
                held.clear()
                continue
            if len(row) != width:
                raise fail(
                    path,
                    line_no,
                    f"{len(row)} values for {width} columns {header}",
                    "Quote values that contain the delimiter; every row needs every column "
                    "(rows are never padded or cut).",
                )
            if line_no > record_start:
                _note_multiline(warn, held, record_start, line_no, width, sep)
            batch.append(Record(line_no, dict(zip(header, row, strict=True))))
            size += record_bytes
            record_start, record_bytes = line_no + 1, 0
            held.clear()
            if len(batch) >= batch_size or size >= MAX_BATCH_BYTES:
                yield batch
                batch = []
                size = 0
    except csv.Error as exc:
        raise _quote_error(path, exc, held, record_start, line_no, sep, "the record") from None
    if batch:
        yield batch


def _note_multiline(warn: Warn, held: list[str], start: int, end: int, width: int,
                    sep: str) -> None:
    n = end - start + 1
    row_like = sum(1 for line in held[1:] if line.count(sep) == width - 1 and '"' not in line)
    example = {"line": start, "end_line": end, "lines": n}
    if n > MAX_VALUE_LINES:
        warn("suspect_multiline", {**example, "reason": f"more than {MAX_VALUE_LINES} lines"})
    elif width > 1 and row_like >= ROW_LIKE_LINES:
        warn("suspect_multiline", {**example, "reason": f"{row_like} of its lines look like "
                                   "rows of the file"})
    else:
        warn("multiline", example)


def _quote_opened(held: list[str], start: int, sep: str) -> int:
    """The line where the last quoted value of a record (``held``: its lines, the first
    being line ``start``) opened. Only on the way to an error, so plain Python will do; it
    reads past any length limit the CSV parser has."""
    opened, state = start, 0  # 0 a value starts, 1 unquoted, 2 quoted, 3 a quote in quoted
    for i, text in enumerate(held):
        j, n = 0, len(text)
        while j < n:
            if state == 2:  # jump to the next quote
                j = text.find('"', j)
                if j < 0:
                    break
                state, j = 3, j + 1
                continue
            ch = text[j]
            if state == 3 and ch == '"':
                state = 2
            elif ch == sep or ch in "\r\n":
                state = 0
            elif state == 0 and ch == '"':
                state, opened = 2, start + i
            else:
                state = 1
            j += 1
    return opened


def _open_quote_hint(held: list[str], start: int, sep: str) -> str:
    if len(held) < 2:
        return ""
    return (f"If the quote opened at line {_quote_opened(held, start, sep)} is left open, "
            "close it. ")


def _quote_error(path: str, exc: csv.Error, held: list[str], start: int, line_no: int,
                 sep: str, what: str) -> Exception:
    text = str(exc)
    if "unexpected end of data" in text:
        opened = _quote_opened(held, start, sep)
        rest = f" (lines {opened}–{line_no})" if line_no > opened else ""
        return fail(path, opened,
                    f"a quote opened on this line is never closed: it would take the rest "
                    f"of the file{rest} as one value", _OPEN_HINT)
    if "expected after" in text:
        where = f" (the record starts at line {start})" if start < line_no else ""
        return fail(path, line_no,
                    f"text follows a closing quote{where}, so the quoting is off here or "
                    "a quote opened earlier closes here", _OPEN_HINT)
    if "field limit" in text:
        return fail(
            path,
            start,
            f"a value is longer than {csv.field_size_limit():,} characters, the most a CSV "
            "value may hold",
            f"Shorten it, check the quoting (a quote opened at line "
            f"{_quote_opened(held, start, sep)} may run on), or import JSONL.",
        )
    if "new-line character" in text:
        return fail(path, line_no, "a carriage return (CR) ends no line outside quotes: the "
                    "file may have old Mac line endings",
                    "Convert them (e.g. tr '\\r' '\\n'), or quote the value that holds it.")
    return fail(path, line_no, f"unreadable CSV in {what} ({exc})", "Fix the quoting.")
