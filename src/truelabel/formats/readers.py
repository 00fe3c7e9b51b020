"""Streaming readers for import: JSONL, CSV, Parquet and plain text.

Each reader yields lists of :class:`Record` — at most ``batch_size`` at a time, so memory stays
constant whatever the file size — and raises :class:`ImportFailed` naming the file and the line
(or row) of the first bad record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from truelabel.domain.errors import ImportFailed, UnknownComponent


@dataclass(slots=True)
class Record:
    line: int
    data: dict[str, Any]


Reader = Callable[..., Iterator[list[Record]]]


def _fail(path: str, line: int, what: str, hint: str) -> ImportFailed:
    return ImportFailed(
        f"{path}, line {line}: {what}. {hint} Nothing was imported.", file=path, line=line
    )


def _check_required(path: str, line: int, data: dict[str, Any], required: tuple[str, ...]) -> None:
    for col in required:
        if col not in data:
            raise _fail(
                path,
                line,
                f"the record has no {col!r} field",
                f"Every item needs {list(required)}; fix the record or the schema.",
            )


def _chunked_lines(fh: IO[bytes], chunk: int = 4 << 20) -> Iterator[list[bytes]]:
    """Lines in blocks (faster than iterating the file line by line); keeps line endings off."""
    rest = b""
    while True:
        block = fh.read(chunk)
        if not block:
            if rest:
                yield [rest]
            return
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield lines


MAX_BATCH_BYTES = 4 << 20
"""A batch is cut at this many bytes too, so long records do not grow memory."""


def read_jsonl(
    fh: IO[bytes], *, path: str, batch_size: int = 10_000, required: tuple[str, ...] = ()
) -> Iterator[list[Record]]:
    batch: list[Record] = []
    loads = orjson.loads
    n = size = 0
    for lines in _chunked_lines(fh):
        for raw in lines:
            n += 1
            size += len(raw)
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as exc:
                if not raw.strip():
                    continue
                if _is_bad_utf8(raw):
                    raise _fail(
                        path,
                        n,
                        "the line is not valid UTF-8",
                        "Re-encode the file as UTF-8 (e.g. iconv -t UTF-8).",
                    ) from None
                raise _fail(
                    path, n, f"malformed JSON ({exc})", "Each line must be one JSON object."
                ) from None
            if type(obj) is not dict:
                raise _fail(
                    path,
                    n,
                    f"expected a JSON object, got {type(obj).__name__}",
                    "Each line must be one JSON object.",
                )
            if required:
                _check_required(path, n, obj, required)
            batch.append(Record(n, obj))
            if len(batch) >= batch_size or size >= MAX_BATCH_BYTES:
                yield batch
                batch = []
                size = 0
    if batch:
        yield batch


def _is_bad_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _utf8_lines(fh: IO[bytes], path: str) -> Iterator[tuple[int, str]]:
    for n, raw in enumerate(fh, start=1):
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(
                path,
                n,
                f"the line is not valid UTF-8 (byte {exc.start})",
                "Re-encode the file as UTF-8 (e.g. iconv -t UTF-8).",
            ) from None


def read_text(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    field: str = "text",
    required: tuple[str, ...] = (),
) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for n, line in _utf8_lines(fh, path):
        line = line.rstrip("\r\n")
        if n == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        batch.append(Record(n, {field: line}))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def read_csv(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    delimiter: str | None = None,
) -> Iterator[list[Record]]:
    lines = _utf8_lines(fh, path)
    line_no = 0

    def text_lines() -> Iterator[str]:
        nonlocal line_no
        for n, line in lines:
            line_no = n
            yield line.lstrip("\ufeff") if n == 1 else line

    reader = csv.reader(
        text_lines(), delimiter=delimiter or ("\t" if path.endswith(".tsv") else ",")
    )
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise _fail(
            path, line_no, f"unreadable CSV header ({exc})", "Fix the first line."
        ) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise _fail(
            path,
            1,
            f"the header has empty or repeated column names {header}",
            "Give every column a unique name.",
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise _fail(
            path,
            1,
            f"missing column(s) {missing}; the columns are {header}",
            "Add the column or change the schema's text field.",
        )
    width = len(header)
    batch: list[Record] = []
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != width:
                raise _fail(
                    path,
                    line_no,
                    f"{len(row)} values for {width} columns {header}",
                    "Quote values that contain the delimiter; every row needs every column.",
                )
            batch.append(Record(line_no, dict(zip(header, row, strict=True))))
            if len(batch) >= batch_size:
                yield batch
                batch = []
    except csv.Error as exc:
        raise _fail(path, line_no, f"unreadable CSV ({exc})", "Fix the quoting.") from None
    if batch:
        yield batch


def read_parquet(
    fh: IO[bytes], *, path: str, batch_size: int = 10_000, required: tuple[str, ...] = ()
) -> Iterator[list[Record]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh)
    except Exception as exc:
        raise ImportFailed(
            f"{path}: not a readable Parquet file ({exc}). Nothing was imported.", file=path
        ) from None
    names = pf.schema_arrow.names
    missing = [c for c in required if c not in names]
    if missing:
        raise ImportFailed(
            f"{path}: missing column(s) {missing}; the columns are {names}. "
            "Add the column or change the schema's text field. "
            "Nothing was imported.",
            file=path,
        )
    row = 0
    for rb in pf.iter_batches(batch_size=batch_size):
        rows = rb.to_pylist()
        yield [Record(row + i + 1, _jsonable(r)) for i, r in enumerate(rows)]
        row += len(rows)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    # Parquet can hold dates, decimals and bytes, which JSON cannot: make them strings.
    for k, v in d.items():
        if v is not None and not isinstance(v, str | int | float | bool | list | dict):
            d[k] = v.hex() if isinstance(v, bytes) else str(v)
    return d


READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "text": read_text,
}

_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
}


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The format name for ``path``, from ``fmt`` if given, else from the file suffix."""
    if fmt:
        if fmt not in READERS:
            raise UnknownComponent(
                f"Unknown import format {fmt!r}. Known formats: {sorted(READERS)}.",
                known=sorted(READERS),
            )
        return fmt
    suffixes = Path(str(path)).suffixes
    for s in reversed(suffixes):
        if s.lower() in _SUFFIXES:
            return _SUFFIXES[s.lower()]
    raise UnknownComponent(
        f"Cannot tell the format of {path} from its name; pass the format explicitly "
        f"(one of {sorted(READERS)}).",
        known=sorted(READERS),
    )


def open_records(
    fh: IO[bytes], fmt: str, *, path: str, batch_size: int = 10_000, required: tuple[str, ...] = ()
) -> Iterator[list[Record]]:
    """Stream records from an open binary file in the named format."""
    if fmt == "parquet" and not fh.seekable():
        fh = io.BytesIO(fh.read())
    return READERS[detect_format(path, fmt)](
        fh, path=path, batch_size=batch_size, required=required
    )
