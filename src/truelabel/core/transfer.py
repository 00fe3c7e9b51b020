"""Import and export: streaming, atomic, with progress callbacks.

An import runs in one write transaction: a bad record anywhere rolls back everything, so the
project is left exactly as it was. Progress is reported in bytes read. An item whose data
passes ``max_item_bytes`` of JSON (default ``limits.MAX_ITEM_BYTES``) is refused like any other
bad record.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from truelabel.domain.errors import ImportFailed, InvalidInput
from truelabel.domain.limits import MAX_ITEM_BYTES
from truelabel.domain.models import ExportResult, ImportResult
from truelabel.domain.schema import LabelSchema
from truelabel.formats.readers import detect_format
from truelabel.formats.writers import writer_for
from truelabel.store import items as item_store
from truelabel.store import projects as project_store
from truelabel.store.db import Database

from .import_report import ImportTracker
from .import_report import notes as import_notes

if TYPE_CHECKING:  # pyarrow loads with the first import, not with the server
    from truelabel.formats.batches import BatchTransform, Row

ANSWER_CONTAINERS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                     ".parquet": "parquet", ".pq": "parquet"}
"""The answers export's file format by suffix (CSV otherwise)."""

ProgressFn = Callable[[int, int | None], None]
"""progress(done, total): bytes read for imports, items written for exports."""

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
    prep: Sequence[BatchTransform] = (),
    meta: dict[str, Any] | None = None,
    dedup: str = "content",
    on_conflict: str = "fail",
    large_item_bytes: int | None = None,
) -> ImportResult:
    """Import a file's records as items, all or nothing.

    Records that are not added as new items — repeats, items already present, ids reused
    with different content (``on_conflict``: ``fail``, ``keep-first``, ``keep-last``) — and
    items past ``large_item_bytes`` are counted with examples in the result's ``report``
    (``core.import_report``). ``dedup="none"`` imports every record without an id as an item
    of its own; ``"content"`` merges repeated texts.

    Without ``prep`` steps, batches stream from the reader straight into one write
    transaction. With them, every batch is read and prepared first, into an Arrow file beside
    the temp folder, and only then written: the steps never run while SQLite's write lock is
    held, and a step that raises leaves nothing stored. ``meta`` (slice metadata: source,
    language, channel, licence…) is stored with every item, under what steps add.
    """
    from truelabel.formats.batches import read_item_batches, rows_to_table, table_to_rows

    fmt = detect_format(source, fmt)
    if max_item_bytes < 1:
        raise InvalidInput("max_item_bytes must be at least 1.", field="max_item_bytes")
    meta = _check_meta(meta)
    tracker = ImportTracker(source=source, dedup=dedup, on_conflict=on_conflict,
                            large_item_bytes=large_item_bytes)
    started = time.perf_counter()
    counts = _Counts()

    def report() -> None:
        if progress is not None:
            try:
                pos = fh.tell()
            except (OSError, ValueError):
                pos = counts.read
            progress(pos, total_bytes)

    batches = read_item_batches(
        fh, fmt, path=source, id_field=id_field, batch_size=batch_size, required=required,
        max_item_bytes=max_item_bytes, meta=meta, warn=tracker.read_note,
    )
    if not prep:
        def rows() -> Iterator[list[Row]]:
            for b in batches:
                counts.read += len(b)
                yield b.rows()
                report()

        return _write(db, rows(), counts, tracker, project_id=project_id, source=source,
                      fmt=fmt, user_id=user_id, started=started, prep=(), meta=meta)
    import pyarrow as pa  # only a prepared import stages Arrow (pyarrow is ~26 MiB)

    from truelabel.formats.batches import ROW_SCHEMA

    with tempfile.TemporaryFile(prefix="truelabel-prep-") as staged:
        with pa.ipc.new_stream(staged, ROW_SCHEMA) as sink:
            for b in batches:
                counts.read += len(b)
                prepared = b.transformed(prep)
                counts.kept += len(prepared)
                sink.write_batch(rows_to_table(prepared.rows()))
                report()
        staged.seek(0)
        stream = pa.ipc.open_stream(staged)
        return _write(db, (table_to_rows(t) for t in stream), counts, tracker,
                      project_id=project_id, source=source, fmt=fmt, user_id=user_id,
                      started=started, prep=tuple(step.name for step in prep), meta=meta)


@dataclass(slots=True)
class _Counts:
    read: int = 0
    kept: int = 0
    added: int = 0


def _write(
    db: Database,
    rows_iter: Iterator[list[Row]],
    counts: _Counts,
    tracker: ImportTracker,
    *,
    project_id: int,
    source: str,
    fmt: str,
    user_id: int | None,
    started: float,
    prep: tuple[str, ...],
    meta: dict[str, Any] | None,
) -> ImportResult:
    with db.write(bulk=True) as conn:
        now = time.time()
        batch_id = project_store.add_batch(
            conn, project_id=project_id, source=source, fmt=fmt, now=now, user_id=user_id
        )
        for rows in rows_iter:
            rows = tracker.prepare(rows, batch_id)
            added = item_store.insert_items(conn, rows, project_id=project_id, batch_id=batch_id)
            tracker.settle(conn, rows, added, project_id=project_id, batch_id=batch_id)
            counts.added += added
        if counts.read == 0:
            raise ImportFailed(f"{source} holds no records. Nothing was imported.", file=source)
        # refuses conflicts under on_conflict="fail": the transaction rolls back
        tracker.finish(lambda: {int(b["id"]): str(b["source"])
                                for b in project_store.list_batches(conn, project_id)})
        report = tracker.report()
        dropped = counts.read - counts.kept if prep else 0
        project_store.finish_batch(conn, batch_id, n_read=counts.read, n_added=counts.added)
        detail: dict[str, Any] = {"source": source, "read": counts.read, "added": counts.added}
        if prep:
            detail.update(prep=list(prep), dropped=dropped)
        if meta:
            detail["meta"] = meta
        detail.update(dedup=report["dedup"], on_conflict=report["on_conflict"],
                      **{k: v for k, v in report["counts"].items() if v})
        project_store.audit(
            conn,
            at=now,
            user_id=user_id,
            action="items.import",
            object_type="import_batch",
            object_id=batch_id,
            detail=detail,
        )
    return ImportResult(batch_id, source, fmt, counts.read, counts.added,
                        time.perf_counter() - started, prep, dropped, report,
                        tuple(import_notes(report)))


META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def _check_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if not meta:
        return None
    for key, value in meta.items():
        if not isinstance(key, str) or not META_KEY.match(key):
            raise InvalidInput(
                f"The metadata key {key!r} is not a name; use letters, digits, '_', '.' or "
                "'-' (e.g. language=en).", field="meta")
        if not isinstance(value, str | int | float | bool) or len(str(value)) > 200:
            raise InvalidInput(
                f"The metadata value of {key!r} must be a short string or number (at most "
                "200 characters).", field="meta")
    return dict(meta)


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
    ``fmt="answers"`` (the default for a ``.csv`` name) writes the long answers table, one
    row per item, field, annotator and label, as CSV, JSONL or Parquet by the suffix.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    fmt = fmt or {".jsonl": "jsonl", ".parquet": "parquet", ".pq": "parquet",
                  ".csv": "answers"}.get(suffix, "")
    if not fmt:
        raise InvalidInput(
            f"Cannot tell the export format of {target.name}; "
            "use a .jsonl, .parquet or .csv (answers) name, or pass the format."
        )
    container = ANSWER_CONTAINERS.get(suffix, "csv") if fmt == "answers" else None
    if not target.parent.is_dir():
        raise InvalidInput(f"Folder {target.parent} does not exist; create it first.")
    started = time.perf_counter()
    n_items = n_anns = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = writer_for(fmt, fh, schema=schema, container=container)
            try:
                with db.read() as conn:
                    for batch in item_store.iter_export_batches(
                        conn, project_id, only_labeled=only_labeled
                    ):
                        writer.write(batch)
                        n_items += len(batch.items)
                        n_anns += len(batch.annotations)
                        if progress is not None:
                            progress(n_items, total)  # may raise: a cancelled job
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.close()  # closed while its file is open (the file goes anyway)
                raise
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
