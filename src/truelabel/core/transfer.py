"""Import and export: streaming, atomic, with progress callbacks.

An import runs in one write transaction: a bad record anywhere rolls back everything, so the
project is left exactly as it was. Progress is reported in bytes read. An item whose data
passes ``max_item_bytes`` of JSON (default ``limits.MAX_ITEM_BYTES``) is refused like any other
bad record.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import orjson

from truelabel.domain.errors import ImportFailed, InvalidInput
from truelabel.domain.limits import MAX_ITEM_BYTES, RAW_RECORD_FACTOR
from truelabel.domain.models import ExportResult, ImportResult
from truelabel.domain.schema import LabelSchema
from truelabel.formats.readers import Record, detect_format, open_records
from truelabel.formats.writers import writer_for
from truelabel.store import items as item_store
from truelabel.store import projects as project_store
from truelabel.store.db import Database

ProgressFn = Callable[[int, int | None], None]
"""progress(done, total): bytes read for imports, items written for exports."""

_DUMPS_OPTS = orjson.OPT_SORT_KEYS


def run_import(
    db: Database,
    *,
    project_id: int,
    fh: IO[bytes],
    source: str,
    fmt: str | None,
    id_field: str | None = "id",
    required: tuple[str, ...] = (),
    user_id: int | None = None,
    progress: ProgressFn | None = None,
    total_bytes: int | None = None,
    batch_size: int = 10_000,
    max_item_bytes: int = MAX_ITEM_BYTES,
) -> ImportResult:
    fmt = detect_format(source, fmt)
    if max_item_bytes < 1:
        raise InvalidInput("max_item_bytes must be at least 1.", field="max_item_bytes")
    started = time.perf_counter()
    read = added = 0
    with db.write(bulk=True) as conn:
        now = time.time()
        batch_id = project_store.add_batch(
            conn, project_id=project_id, source=source, fmt=fmt, now=now, user_id=user_id
        )
        batches = open_records(
            fh,
            fmt,
            path=source,
            batch_size=batch_size,
            required=required,
            max_record_bytes=RAW_RECORD_FACTOR * max_item_bytes,
        )
        rows_iter = (
            _rows(
                recs,
                project_id=project_id,
                batch_id=batch_id,
                id_field=id_field,
                source=source,
                max_item_bytes=max_item_bytes,
            )
            for recs in batches
        )
        for rows in rows_iter:
            read += len(rows)
            added += item_store.insert_items(conn, rows)
            if progress is not None:
                try:
                    pos = fh.tell()
                except (OSError, ValueError):
                    pos = read
                progress(pos, total_bytes)
        if read == 0:
            raise ImportFailed(f"{source} holds no records. Nothing was imported.", file=source)
        project_store.finish_batch(conn, batch_id, n_read=read, n_added=added)
        project_store.audit(
            conn,
            at=now,
            user_id=user_id,
            action="items.import",
            object_type="import_batch",
            object_id=batch_id,
            detail={"source": source, "read": read, "added": added},
        )
    return ImportResult(batch_id, source, fmt, read, added, time.perf_counter() - started)


def _rows(
    records: list[Record],
    *,
    project_id: int,
    batch_id: int,
    id_field: str | None,
    source: str,
    max_item_bytes: int = MAX_ITEM_BYTES,
) -> list[item_store.ItemRow]:
    blake = hashlib.blake2b
    dumps = orjson.dumps
    rows: list[item_store.ItemRow] = []
    for rec in records:
        data = rec.data
        ext = data.pop(id_field, None) if id_field else None
        if ext is not None:
            if isinstance(ext, dict | list):
                raise ImportFailed(
                    f"{source}, line {rec.line}: the id field {id_field!r} holds an "
                    "object; ids are strings or numbers. Nothing was imported.",
                    file=source,
                    line=rec.line,
                )
            ext = str(ext)
            if len(ext) > 200:
                raise ImportFailed(
                    f"{source}, line {rec.line}: the id is {len(ext)} characters; ids are at "
                    "most 200. Nothing was imported.", file=source, line=rec.line)
        try:
            blob = dumps(data, option=_DUMPS_OPTS)
        except TypeError as exc:
            raise ImportFailed(
                f"{source}, line {rec.line}: {exc}. Nothing was imported.",
                file=source,
                line=rec.line,
            ) from None
        if len(blob) > max_item_bytes:
            raise _item_too_large(source, rec.line, len(blob), max_item_bytes)
        rows.append(
            (
                project_id,
                ext,
                blake(blob, digest_size=16).digest(),
                blob.decode(),
                None,
                batch_id,
                rec.line,
            )
        )
    return rows


def _item_too_large(source: str, line: int, size: int, limit: int) -> ImportFailed:
    return ImportFailed(
        f"{source}, line {line}: the item is {size:,} bytes of JSON; an item may hold at most "
        f"{limit:,}. Shorten it (store large content as media and reference it), or raise "
        "max_item_bytes for this import (CLI: --max-item-bytes). Nothing was imported.",
        file=source,
        line=line,
        size=size,
        limit=limit,
    )


def run_export(
    db: Database,
    *,
    project_id: int,
    path: str | Path,
    fmt: str | None = None,
    only_labeled: bool = False,
    progress: ProgressFn | None = None,
    total: int | None = None,
    schema: LabelSchema | None = None,
) -> ExportResult:
    """Write items with their current annotations to ``path``, atomically (temp + rename).

    ``schema`` types the Parquet export: one column per field, of its kind's Arrow type.
    """
    target = Path(path)
    fmt = fmt or {".jsonl": "jsonl", ".parquet": "parquet", ".pq": "parquet"}.get(
        target.suffix.lower(), ""
    )
    if not fmt:
        raise InvalidInput(
            f"Cannot tell the export format of {target.name}; "
            "use a .jsonl or .parquet name, or pass the format."
        )
    if not target.parent.is_dir():
        raise InvalidInput(f"Folder {target.parent} does not exist; create it first.")
    started = time.perf_counter()
    n_items = n_anns = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = writer_for(fmt, fh, schema=schema)
            with db.read() as conn:
                for batch in item_store.iter_export_batches(
                    conn, project_id, only_labeled=only_labeled
                ):
                    writer.write(batch)
                    n_items += len(batch.items)
                    n_anns += len(batch.annotations)
                    if progress is not None:
                        progress(n_items, total)
            writer.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ExportResult(str(target), fmt, n_items, n_anns, time.perf_counter() - started)


def file_size(path: str | Path) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None
