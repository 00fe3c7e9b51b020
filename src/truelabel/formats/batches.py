"""Items as Arrow record batches: what the readers hand the import, and the prep seam.

A reader's records become an :class:`ItemBatch`: an Arrow ``RecordBatch`` with one row per
item and the columns of :data:`ITEM_SCHEMA` — provenance (``source``, ``line``), the
``external_id`` taken from the id field, and ``data``, the item's canonical JSON (sorted
keys) — plus ``content_hash`` (BLAKE2b-128 of ``data``), the key duplicates are skipped on.

Between reading and inserting, an ordered list of :class:`BatchTransform` (preparation
steps) may rewrite a batch: add columns, drop or change rows. A column a step adds that is not
one of the item columns is slice metadata: it is stored in the item's ``meta`` (JSON), key by
column name. Steps run before any write (see ``core.transfer``), so a step that raises leaves
nothing stored.

When no step changes a batch, the Python values it was built from are inserted directly (no
round trip through Arrow): the seam costs the import almost nothing when it is empty.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from truelabel.domain.errors import ImportFailed
from truelabel.domain.limits import MAX_ITEM_BYTES, RAW_RECORD_FACTOR

from .readers import Record, Warn, open_records

if TYPE_CHECKING:
    import pyarrow as pa

#: the columns of :data:`ITEM_SCHEMA` (a step's other columns become item metadata)
ITEM_COLUMNS = frozenset({"source", "line", "external_id", "data", "content_hash"})


_DUMPS_OPTS = orjson.OPT_SORT_KEYS

Row = tuple[str | None, bytes, str, str | None, int]
"""(external_id, content_hash, data JSON, meta JSON, source line): what ``store.items``
inserts, less the project and import batch."""


@runtime_checkable
class BatchTransform(Protocol):
    """A preparation step: ``RecordBatch -> RecordBatch``, named for the import's record.

    It receives batches of :data:`ITEM_SCHEMA` (plus the columns earlier steps added) and
    returns a batch that still has ``line`` and ``data``; it may drop rows, add columns
    (stored as item metadata) or rewrite ``data`` (the content hash is then recomputed).
    """

    name: str

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch: ...


class ItemBatch:
    """A batch of items as Arrow (:data:`ITEM_SCHEMA`: provenance, external id, canonical
    JSON, content hash) and, while no step changed it, the insertable rows it came from.

    Either side is made from the other on first use: an import without preparation steps
    never pays for the Arrow columns, and one with steps never for rows it replaces."""

    __slots__ = ("_rows", "_table", "max_item_bytes", "meta", "source")

    def __init__(
        self, source: str, max_item_bytes: int, meta: str | None = None, *,
        rows: list[Row] | None = None, table: pa.RecordBatch | None = None,
    ) -> None:
        assert rows is not None or table is not None
        self.source, self.max_item_bytes, self.meta = source, max_item_bytes, meta
        self._rows, self._table = rows, table

    @property
    def table(self) -> pa.RecordBatch:
        if self._table is None:
            assert self._rows is not None
            self._table = _table_from_rows(self._rows, self.source)
        return self._table

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else int(self.table.num_rows)

    def rows(self) -> list[Row]:
        """The batch as insertable rows (computed from the Arrow columns if they changed)."""
        if self._rows is not None:
            return self._rows
        return _rows_from_table(self.table, self.source, self.max_item_bytes, self.meta)

    def transformed(self, steps: Sequence[BatchTransform]) -> ItemBatch:
        """This batch after every step, in order; itself when there are none."""
        if not steps:
            return self
        import pyarrow as pa

        table = self.table
        for step in steps:
            out = step(table)
            if not isinstance(out, pa.RecordBatch) or not {"line", "data"} <= set(out.schema.names):
                raise ImportFailed(
                    f"{self.source}: the preparation step {step.name!r} returned "
                    f"{type(out).__name__} without the 'line' and 'data' columns; a step must "
                    "return a RecordBatch that keeps them. Fix the step. Nothing was imported.",
                    file=self.source,
                )
            table = out
        if table is self.table:
            return self
        return ItemBatch(self.source, self.max_item_bytes, self.meta, table=table)


def _table_from_rows(rows: list[Row], source: str) -> pa.RecordBatch:
    """:data:`ITEM_SCHEMA` columns of checked rows ``(external_id, hash, data, meta, line)``."""
    import numpy as np
    import pyarrow as pa

    n = len(rows)
    exts, hashes, blobs, _, lines = (list(c) for c in zip(*rows, strict=True)) if rows else (
        [], [], [], [], [])
    return pa.RecordBatch.from_arrays(
        [
            pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([source])),
            pa.array(lines, pa.int64()),
            pa.array(exts, pa.string()),
            pa.array(blobs, pa.string()),
            pa.array(hashes, pa.binary(16)),
        ],
        schema=_schemas()["ITEM_SCHEMA"],
    )


def to_item_batch(
    records: list[Record],
    *,
    source: str,
    id_field: str | None,
    max_item_bytes: int = MAX_ITEM_BYTES,
    meta: str | None = None,
) -> ItemBatch:
    """Records read from ``source`` as an :class:`ItemBatch`; refuses (naming the line) an id
    that is an object or longer than 200 characters, data that is not JSON, and an item of
    more than ``max_item_bytes`` bytes of JSON. An empty or all-whitespace id (a CSV's empty
    cell) is no id: the record is matched by content, like one without the id field.
    ``meta`` is the JSON every item's ``meta`` starts from (the import's slice metadata)."""
    blake = hashlib.blake2b
    dumps = orjson.dumps
    rows: list[Row] = []
    for rec in records:
        data = rec.data
        ext = data.pop(id_field, None) if id_field else None
        if ext is not None:  # an empty id (a CSV's empty cell) is no id
            ext = _external_id(ext, source, rec.line, id_field) or None
        try:
            blob = dumps(data, option=_DUMPS_OPTS)
        except TypeError as exc:
            raise ImportFailed(
                f"{source}, line {rec.line}: {exc}. Nothing was imported.",
                file=source,
                line=rec.line,
            ) from None
        if len(blob) > max_item_bytes:
            raise item_too_large(source, rec.line, len(blob), max_item_bytes)
        if b"\\u0000" in blob and _holds_nul(data):
            raise nul_refused(source, rec.line)
        digest = blake(blob, digest_size=16).digest()
        rows.append((ext, digest, blob.decode(), meta, rec.line))
    return ItemBatch(source, max_item_bytes, meta, rows=rows)


def _external_id(ext: Any, source: str, line: int, id_field: str | None) -> str:
    """The id as text; ``""`` when it is empty or only whitespace (the record has none)."""
    if isinstance(ext, dict | list):
        raise ImportFailed(
            f"{source}, line {line}: the id field {id_field!r} holds an "
            "object; ids are strings or numbers. Nothing was imported.",
            file=source,
            line=line,
        )
    ext = text = str(ext)
    if not ext.strip():
        return ""
    if "\x00" in ext:
        raise nul_refused(source, line)
    if len(ext) > 200:
        raise ImportFailed(
            f"{source}, line {line}: the id is {len(ext)} characters; ids are at "
            "most 200. Nothing was imported.", file=source, line=line)
    return text


def item_too_large(source: str, line: int, size: int, limit: int) -> ImportFailed:
    return ImportFailed(
        f"{source}, line {line}: the item is {size:,} bytes of JSON; an item may hold at most "
        f"{limit:,}. Shorten it (store large content as media and reference it), or raise "
        "max_item_bytes for this import (CLI: --max-item-bytes). Nothing was imported.",
        file=source,
        line=line,
        size=size,
        limit=limit,
    )


def _holds_nul(value: Any) -> bool:
    """Whether a NUL character is in a string of ``value`` (keys too), at any depth."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def nul_refused(source: str, line: int) -> ImportFailed:
    return ImportFailed(
        f"{source}, line {line}: the record holds a NUL character (U+0000, written \\u0000 in "
        "JSON), which is not text and which PostgreSQL cannot store or search. Remove it "
        "(e.g. tr -d '\\000' for a raw byte) and import again. Nothing was imported.",
        file=source, line=line)


def _rows_from_table(
    table: pa.RecordBatch, source: str, max_item_bytes: int, meta: str | None
) -> list[Row]:
    """Rows from a batch a step changed: hashes recomputed, metadata columns folded into
    ``meta``, and the item size checked again."""
    names = table.schema.names
    lines = table.column(names.index("line")).to_pylist()
    datas = table.column(names.index("data")).to_pylist()
    n = len(lines)
    exts = (table.column(names.index("external_id")).to_pylist() if "external_id" in names
            else [None] * n)
    extra = [name for name in names if name not in ITEM_COLUMNS]
    base = orjson.loads(meta) if meta else {}
    metas: list[str | None] = [meta] * n
    if extra:
        cols = [table.column(names.index(name)).to_pylist() for name in extra]
        for i in range(n):
            values = dict(base)
            values.update({k: col[i] for k, col in zip(extra, cols, strict=True)
                           if col[i] is not None})
            metas[i] = orjson.dumps(values, option=_DUMPS_OPTS).decode() if values else None
    rows: list[Row] = []
    blake = hashlib.blake2b
    for ext, data, m, line in zip(exts, datas, metas, lines, strict=True):
        if data is None:
            raise ImportFailed(
                f"{source}, line {line}: a preparation step left the item without data; a "
                "step may drop rows, not empty them. Fix the step. Nothing was imported.",
                file=source, line=line)
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            raise ImportFailed(
                f"{source}, line {line}: a preparation step left data that is not a JSON "
                "object; a step must keep 'data' one JSON object per row. Fix the step. "
                "Nothing was imported.", file=source, line=line)
        blob = orjson.dumps(obj, option=_DUMPS_OPTS)
        data = blob.decode()
        if len(blob) > max_item_bytes:
            raise item_too_large(source, line, len(blob), max_item_bytes)
        if b"\\u0000" in blob and _holds_nul(obj):
            raise nul_refused(source, line)
        rows.append((ext, blake(blob, digest_size=16).digest(), data, m, int(line)))
    return rows


def read_item_batches(
    fh: IO[bytes],
    fmt: str,
    *,
    path: str,
    id_field: str | None = "id",
    batch_size: int = 10_000,
    required: tuple[str, ...] = (),
    max_item_bytes: int = MAX_ITEM_BYTES,
    meta: dict[str, Any] | None = None,
    warn: Warn | None = None,
) -> Iterator[ItemBatch]:
    """Stream a file in the named format as item batches (each at most ``batch_size`` items
    and about ``readers.MAX_BATCH_BYTES``); ``meta`` is every item's slice metadata;
    ``warn`` hears what the reader met besides records (``readers.open_records``)."""
    meta_json = orjson.dumps(meta, option=_DUMPS_OPTS).decode() if meta else None
    for records in open_records(fh, fmt, path=path, batch_size=batch_size, required=required,
                                max_record_bytes=RAW_RECORD_FACTOR * max_item_bytes,
                                warn=warn):
        yield to_item_batch(records, source=path, id_field=id_field,
                            max_item_bytes=max_item_bytes, meta=meta_json)





def rows_to_table(rows: list[Row]) -> pa.RecordBatch:
    import pyarrow as pa

    schema = _schemas()["ROW_SCHEMA"]
    cols: list[tuple[Any, ...]] = (list(zip(*rows, strict=True)) if rows
                                   else [() for _ in schema.names])
    return pa.RecordBatch.from_arrays(
        [pa.array(list(c), f.type) for c, f in zip(cols, schema, strict=True)],
        schema=schema,
    )


def table_to_rows(table: pa.RecordBatch) -> list[Row]:
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


@functools.cache
def _schemas() -> dict[str, Any]:
    """The Arrow schemas, built on first use: pyarrow loads only when a batch needs Arrow
    (a preparation step, a staged import), not for every import or server process."""
    import pyarrow as pa

    return {
        # an item batch: provenance, external id, canonical JSON data, content hash
        "ITEM_SCHEMA": pa.schema(
            [
                pa.field("source", pa.dictionary(pa.int32(), pa.string()), nullable=False),
                pa.field("line", pa.int64(), nullable=False),
                pa.field("external_id", pa.string()),
                pa.field("data", pa.string(), nullable=False),
                pa.field("content_hash", pa.binary(16), nullable=False),
            ]
        ),
        # checked, insertable rows: how a prepared import is staged on disk
        "ROW_SCHEMA": pa.schema(
            [
                pa.field("external_id", pa.string()),
                pa.field("content_hash", pa.binary(16)),
                pa.field("data", pa.string()),
                pa.field("meta", pa.string()),
                pa.field("line", pa.int64()),
            ]
        ),
    }


def __getattr__(name: str) -> Any:  # ITEM_SCHEMA, ROW_SCHEMA (PEP 562: built lazily)
    if name in ("ITEM_SCHEMA", "ROW_SCHEMA"):
        return _schemas()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
