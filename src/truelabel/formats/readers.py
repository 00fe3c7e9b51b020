"""Streaming readers for import: JSONL, CSV, Parquet and plain text.

Each reader yields lists of :class:`Record` — at most ``batch_size`` records and about
``MAX_BATCH_BYTES`` at a time, so memory stays constant whatever the file size — and raises
:class:`ImportFailed` naming the file and the line (or row) of the first bad record.

No record is read whole past ``max_record_bytes`` (a JSONL or text line, a CSV record, a
Parquet row's decoded values), and a Parquet file may not decode to more than
``limits.MAX_EXPANSION`` times its size: a small file cannot make the server allocate
gigabytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from truelabel.domain.errors import ImportFailed, UnknownComponent
from truelabel.domain.limits import EXPANSION_FLOOR, MAX_EXPANSION

from .csv_reader import read_csv
from .records import (
    MAX_BATCH_BYTES,
    MAX_RECORD_BYTES,
    Reader,
    Record,
    Warn,
    fail,
    is_bad_utf8,
    no_warn,
    too_long,
    utf8_lines,
)

__all__ = ["MAX_BATCH_BYTES", "MAX_RECORD_BYTES", "READERS", "Record", "Warn", "detect_format",
           "open_records", "read_csv", "read_jsonl", "read_parquet", "read_text"]


def _check_required(path: str, line: int, data: dict[str, Any], required: tuple[str, ...]) -> None:
    for col in required:
        if col not in data:
            raise fail(
                path,
                line,
                f"the record has no {col!r} field",
                f"Every item needs {list(required)}; fix the record or the schema.",
            )


def _chunked_lines(fh: IO[bytes], limit: int, chunk: int = 4 << 20) -> Iterator[list[bytes]]:
    """Lines in blocks (faster than iterating the file line by line); keeps line endings off.

    A line that grows past ``limit`` bytes is handed over cut at that point, as the last
    line: the caller refuses it, and it is never held whole.
    """
    rest = b""
    while True:
        block = fh.read(chunk)
        if not block:
            if rest:
                yield [rest]
            return
        if len(rest) + len(block) > limit and b"\n" not in block:
            yield [rest + block[: limit + 1 - len(rest)]]  # the head of a line past the limit
            return
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        if len(rest) > limit:
            lines.append(rest)
            yield lines
            return
        yield lines


def read_jsonl(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    warn: Warn | None = None,
) -> Iterator[list[Record]]:
    """One JSON object per line (LF or CRLF). Blank lines hold no record and are passed
    over (counted: ``blank``); a UTF-8 byte order mark opening the file is not part of the
    data; any other line that is not exactly one JSON object — two objects on a line, a
    cut-off last line, a raw control character in a string, a key repeated in one object
    (whose first value a parser would drop) — refuses the import, naming the line."""
    warn = warn or no_warn
    batch: list[Record] = []
    loads, dumps = orjson.loads, orjson.dumps
    n = size = 0
    for lines in _chunked_lines(fh, max_record_bytes):
        if n == 0 and lines and lines[0].startswith(b"\xef\xbb\xbf"):
            lines[0] = lines[0][3:]
        for raw in lines:
            n += 1
            length = len(raw)
            if length > max_record_bytes:
                raise too_long(path, n, max_record_bytes, max_record_bytes, at_least=True)
            size += length
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as exc:
                if not raw.strip():
                    warn("blank", {"line": n})
                    continue
                if is_bad_utf8(raw):
                    raise fail(
                        path,
                        n,
                        "the line is not valid UTF-8",
                        "Re-encode the file as UTF-8 (e.g. iconv -t UTF-8).",
                    ) from None
                raise fail(
                    path, n, f"malformed JSON ({exc})", "Each line must be one JSON object."
                ) from None
            if type(obj) is not dict:
                raise fail(
                    path,
                    n,
                    f"expected a JSON object, got {type(obj).__name__}",
                    "Each line must be one JSON object.",
                )
            colons = raw.count(b'":')  # one per key (and per "\": in a string)
            if colons > len(obj) and colons > dumps(obj).count(b'":'):
                _refuse_repeated_keys(path, n, raw)  # a key may repeat: parse again to see
            if required:
                _check_required(path, n, obj, required)
            batch.append(Record(n, obj))
            if len(batch) >= batch_size or size >= MAX_BATCH_BYTES:
                yield batch
                batch = []
                size = 0
    if batch:
        yield batch


def _refuse_repeated_keys(path: str, n: int, raw: bytes) -> None:
    """Refuse a line whose object repeats a key. Asked only when the line holds more
    ``":`` than the object written again: parsed objects keep one value per key."""
    import json

    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise fail(path, n, f"the key {key!r} appears twice in one object; a JSON "
                           "reader keeps only the last value, so the other would be lost",
                           "Keep one of them (or rename one).")
            seen.add(key)
        return dict(pairs)

    json.loads(raw, object_pairs_hook=check)


def read_text(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    field: str = "text",
    required: tuple[str, ...] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    warn: Warn | None = None,
) -> Iterator[list[Record]]:
    """One item per line (LF, CRLF, or none at the end of the file), the line exactly as
    written less its line ending: spaces, tabs and form feeds are kept. Blank lines (or
    only whitespace) hold no record and are passed over (counted: ``blank``); a UTF-8 byte
    order mark opening the file is dropped. A carriage return that ends no line (old Mac
    line endings, pasted text) is kept inside the item and reported (``lone_cr``): the
    line is not split there."""
    warn = warn or no_warn
    batch: list[Record] = []
    size = 0
    for n, line in utf8_lines(fh, path, max_record_bytes):
        line = line.removesuffix("\n").removesuffix("\r")
        if n == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            warn("blank", {"line": n})
            continue
        if "\r" in line:
            warn("lone_cr", {"line": n, "count": line.count("\r")})
        batch.append(Record(n, {field: line}))
        size += len(line)
        if len(batch) >= batch_size or size >= MAX_BATCH_BYTES:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


PARQUET_ROWS = 4096
"""Rows decoded from Parquet at a time. Text columns are read as dictionaries (each distinct
value once), so a row's size is known before it is expanded, and expanded only in slices
that fit the batch's byte budget."""


def read_parquet(
    fh: IO[bytes],
    *,
    path: str,
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    warn: Warn | None = None,
) -> Iterator[list[Record]]:
    """Every row of every row group, every top-level column (nested ones as JSON objects
    and lists); null values are kept as nulls. Nothing here is read in an unusual way, so
    nothing is reported (``warn`` is accepted for the common signature)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh)
        dense = pf.schema_arrow  # the columns' own types, without dictionaries
        columns = [pf.schema.column(i) for i in range(len(pf.schema))]
        top = set(dense.names)  # a nested column's text is read plain: Arrow cannot
        text_paths = [c.path for c in columns  # dictionary-decode inside a struct
                      if c.physical_type == "BYTE_ARRAY" and c.path in top]
        if text_paths:
            fh.seek(0)
            pf = pq.ParquetFile(fh, read_dictionary=text_paths)
    except Exception as exc:
        raise ImportFailed(
            f"{path}: not a readable Parquet file ({exc}). Nothing was imported.", file=path
        ) from None
    names = dense.names
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ImportFailed(
            f"{path}: the column(s) {repeated} appear more than once; a record keeps one "
            "value per name, so the others would be lost. Give every column a unique name. "
            "Nothing was imported.",
            file=path,
        )
    missing = [c for c in required if c not in names]
    if missing:
        raise ImportFailed(
            f"{path}: missing column(s) {missing}; the columns are {names}. "
            "Add the column or change the schema's text field. "
            "Nothing was imported.",
            file=path,
        )
    file_bytes = fh.seek(0, io.SEEK_END)
    allowance = MAX_EXPANSION * file_bytes + EXPANSION_FLOOR
    meta = pf.metadata
    declared = 0  # what the row groups say they decode to, at least
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        for c in range(meta.num_columns):
            chunk = rg.column(c)
            declared += max(chunk.total_uncompressed_size, 8 * chunk.num_values)
    if declared > allowance:
        raise _bomb(path, file_bytes, declared, None)
    convert = any(not _json_native(t) for t in dense.types)
    row = decoded = 0
    out: list[Record] = []
    out_bytes = 0
    try:
        for rb in pf.iter_batches(batch_size=min(batch_size, PARQUET_ROWS)):
            sizes = np.zeros(rb.num_rows, dtype=np.int64)
            for col in rb.columns:
                sizes += _value_sizes(col)
            over = np.flatnonzero(sizes > max_record_bytes)
            if over.size:
                i = int(over[0])
                raise too_long(path, row + i + 1, int(sizes[i]), max_record_bytes, unit="row")
            decoded += int(sizes.sum())
            if decoded > allowance:
                raise _bomb(path, file_bytes, decoded, row + rb.num_rows)
            ends = np.cumsum(sizes)
            start = 0
            while start < rb.num_rows:
                # as many rows as fit the byte budget of the batch (at least one)
                base = int(ends[start - 1]) if start else 0
                stop = int(np.searchsorted(ends, base + MAX_BATCH_BYTES - out_bytes, "right"))
                stop = min(max(stop, start + 1), start + batch_size - len(out), rb.num_rows)
                part = rb.slice(start, stop - start)
                rows = pa.RecordBatch.from_arrays(
                    [col.cast(dense.field(i).type) for i, col in enumerate(part.columns)],
                    schema=dense,
                ).to_pylist()
                first = row + start + 1
                if convert:
                    rows = [_jsonable(r) for r in rows]
                out.extend(Record(first + i, r) for i, r in enumerate(rows))
                out_bytes += int(ends[stop - 1]) - base
                start = stop
                if len(out) >= batch_size or out_bytes >= MAX_BATCH_BYTES:
                    yield out
                    out, out_bytes = [], 0
            row += rb.num_rows
    except ImportFailed:
        raise
    except Exception as exc:  # a corrupt page deep in the file
        raise ImportFailed(
            f"{path}, row {row + 1}: the Parquet data cannot be read ({exc}). "
            "Nothing was imported.",
            file=path,
            line=row + 1,
        ) from None
    if out:
        yield out


def _bomb(path: str, file_bytes: int, decoded: int, rows: int | None) -> ImportFailed:
    where = f" (by row {rows:,})" if rows is not None else ""
    return ImportFailed(
        f"{path}: the {file_bytes:,}-byte file decodes to more than {decoded:,} bytes{where}, "
        f"over {MAX_EXPANSION:,} times its size: refused as a decompression bomb. If the data "
        "is real, write it with less repetition or import it in parts. Nothing was imported.",
        file=path,
        size=file_bytes,
    )


def _value_sizes(arr: Any) -> Any:
    """Bytes each row of an Arrow array holds once turned into Python (about: text and
    binary by length, 8 per other value, containers by their contents), as int64 NumPy.
    Dictionary values are measured once and looked up, never expanded."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if pa.types.is_dictionary(t):
        per_value = _value_sizes(arr.dictionary)
        idx = pc.fill_null(arr.indices, 0).to_numpy(zero_copy_only=False)
        sizes = per_value[idx] if per_value.size else np.zeros(n, dtype=np.int64)
    elif (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
          or pa.types.is_large_binary(t)):
        sizes = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
        sizes = sizes.astype(np.int64) + 8
    elif pa.types.is_map(t):  # a list of key/value structs
        sizes = _value_sizes(pa.ListArray.from_arrays(arr.offsets, arr.values))
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        child = _value_sizes(pc.list_flatten(arr))
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        sizes = np.bincount(parents, weights=child, minlength=n).astype(np.int64) + 8
    elif pa.types.is_struct(t):
        sizes = np.full(n, 8, dtype=np.int64)
        for child in arr.flatten():
            sizes += _value_sizes(child)
    else:  # numbers, dates, anything else: its share of the buffers, at least 8
        sizes = np.full(n, max(8, arr.nbytes // n), dtype=np.int64)
    return sizes


def _json_native(t: Any) -> bool:
    """Whether a column of this Arrow type turns into values :func:`_jsonable` leaves alone."""
    import pyarrow as pa

    return bool(
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t)
        or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
        or pa.types.is_struct(t)
    )


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
    fh: IO[bytes],
    fmt: str,
    *,
    path: str,
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    max_record_bytes: int = MAX_RECORD_BYTES,
    warn: Warn | None = None,
) -> Iterator[list[Record]]:
    """Stream records from an open binary file in the named format; ``warn(kind, example)``
    hears what a reader read in an unusual way without refusing it (see :data:`Warn`)."""
    if fmt == "parquet" and not fh.seekable():
        fh = io.BytesIO(fh.read())
    return READERS[detect_format(path, fmt)](
        fh, path=path, batch_size=batch_size, required=required,
        max_record_bytes=max_record_bytes, warn=warn or no_warn,
    )
