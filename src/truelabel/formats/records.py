"""What every import reader shares: the record, the warning callback, the limits and the
error messages that name the file and the line, and UTF-8 lines read within a limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from truelabel.domain.errors import ImportFailed
from truelabel.domain.limits import MAX_ITEM_BYTES, RAW_RECORD_FACTOR


@dataclass(slots=True)
class Record:
    line: int
    data: dict[str, Any]


Reader = Callable[..., Iterator[list[Record]]]

Warn = Callable[[str, dict[str, Any]], None]
"""``warn(kind, example)``: how a reader reports input it read in an unusual way (a value
over many lines, a lone carriage return) without refusing it; ``example`` names the line.
The import counts them in its report (``core.import_report``)."""

MAX_RECORD_BYTES = RAW_RECORD_FACTOR * MAX_ITEM_BYTES
"""The default ``max_record_bytes`` of every reader."""

MAX_BATCH_BYTES = 4 << 20
"""A batch is cut at this many bytes too, so long records do not grow memory."""


def no_warn(kind: str, example: dict[str, Any]) -> None:
    """The ``warn`` of a reader nobody listens to."""


def fail(path: str, line: int, what: str, hint: str) -> ImportFailed:
    return ImportFailed(
        f"{path}, line {line}: {what}. {hint} Nothing was imported.", file=path, line=line
    )


def too_long(path: str, line: int, size: int, limit: int, *, at_least: bool = False,
             unit: str = "line", hint: str = "") -> ImportFailed:
    more = "more than " if at_least else ""
    return ImportFailed(
        f"{path}, {unit} {line}: the record is {more}{size:,} bytes; a record may hold at most "
        f"{limit:,} bytes before it is read. {hint}Shorten it (store large content as media "
        "and reference it), or raise max_item_bytes for this import (the record limit is "
        f"{RAW_RECORD_FACTOR} times it). Nothing was imported.",
        file=path,
        line=line,
        size=size,
        limit=limit,
    )


def is_bad_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def utf8_lines(fh: IO[bytes], path: str, limit: int) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` with its line ending, split on LF only; a line past ``limit``
    bytes or not valid UTF-8 refuses the import."""
    readline = fh.readline
    n = 0
    while raw := readline(limit + 1):  # never more than the limit in memory
        n += 1
        if len(raw) > limit:
            raise too_long(path, n, limit, limit, at_least=True)
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(
                path,
                n,
                f"the line is not valid UTF-8 (byte {exc.start})",
                "Re-encode the file as UTF-8 (e.g. iconv -t UTF-8).",
            ) from None
