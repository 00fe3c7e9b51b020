"""Streaming export writers: JSONL and Parquet, one batch at a time.

Input batches come from ``store.items.iter_export_batches``: item tuples ``(id, external_id,
data_json)`` and annotation tuples ``(item_id, id, annotator, value_json, created_at,
schema_version, origin)`` sorted by item id. JSON values are spliced in as text, never re-parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any, Protocol

import orjson

from truelabel.domain.errors import UnknownComponent

ItemT = tuple[Any, ...]
AnnT = tuple[Any, ...]


def _arrow() -> tuple[Any, Any]:
    # pyarrow is imported on first use: it costs ~40 MB and a JSONL export never needs it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def annotation_type() -> Any:
    pa, _ = _arrow()
    return pa.struct(
        [
            ("id", pa.int64()),
            ("annotator", pa.string()),
            ("value", pa.string()),
            ("created_at", pa.timestamp("ms", tz="UTC")),
            ("schema_version", pa.int32()),
            ("origin", pa.string()),
        ]
    )


def parquet_schema() -> Any:
    """Items with a list<struct> of annotations; ``data`` and ``value`` hold JSON text."""
    pa, _ = _arrow()
    return pa.schema(
        [
            ("id", pa.int64()),
            ("external_id", pa.string()),
            ("data", pa.string()),
            ("annotations", pa.list_(annotation_type())),
            ("ground_truth", pa.string()),
            ("gold", pa.string()),
        ],
        metadata={
            b"truelabel.format": b"items-with-annotations/1",
            b"truelabel.note": b"data, annotations.value, ground_truth and gold hold JSON text",
        },
    )


class Batch(Protocol):
    """What a writer reads (``store.items.ExportBatch``); read-only, so lists conform."""

    @property
    def items(self) -> Sequence[ItemT]: ...
    @property
    def annotations(self) -> Sequence[AnnT]: ...
    @property
    def ground_truth(self) -> Sequence[tuple[Any, ...]]: ...
    @property
    def gold(self) -> dict[int, str]: ...


class Writer(Protocol):
    def write(self, batch: Batch) -> None: ...
    def close(self) -> None: ...


def _q(s: str | None) -> str:
    return "null" if s is None else orjson.dumps(s).decode()


class JsonlWriter:
    """One JSON object per item: ``{"id", "external_id", "data", "annotations": [...]}``."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh

    def write(self, batch: Batch) -> None:
        items, anns = batch.items, batch.annotations
        truth = _truth_json(batch.ground_truth)
        by_item: dict[int, list[str]] = {}
        for item_id, aid, who, value, created, sv, origin in anns:
            by_item.setdefault(item_id, []).append(
                f'{{"id":{aid},"annotator":{_q(who)},"value":{value},'
                f'"created_at":{created!r},"schema_version":{sv},"origin":{_q(origin)}}}'
            )
        out = []
        for item_id, ext, data in items:
            a = by_item.get(item_id)
            out.append(
                f'{{"id":{item_id},"external_id":{_q(ext)},"data":{data},'
                f'"annotations":[{",".join(a) if a else ""}],'
                f'"ground_truth":{truth.get(item_id, "{}")},'
                f'"gold":{batch.gold.get(item_id, "null")}}}\n'
            )
        self.fh.write("".join(out).encode())

    def close(self) -> None:
        self.fh.flush()


class ParquetWriter:
    """Items with a list<struct> column of their annotations (see :func:`parquet_schema`)."""

    def __init__(self, fh: IO[bytes]) -> None:
        _, pq = _arrow()
        self._schema = parquet_schema()
        self._ann_fields = list(self._schema.field("annotations").type.value_type)
        self._w = pq.ParquetWriter(fh, self._schema, compression="zstd")

    def write(self, batch: Batch) -> None:
        pa, _ = _arrow()
        items, anns = batch.items, batch.annotations
        truth = _truth_json(batch.ground_truth)
        ids = [r[0] for r in items]
        # offsets: annotations are sorted by item id, items too
        counts: dict[int, int] = {}
        for a in anns:
            counts[a[0]] = counts.get(a[0], 0) + 1
        offsets = [0]
        for i in ids:
            offsets.append(offsets[-1] + counts.get(i, 0))
        cols: list[Any] = list(zip(*anns, strict=True)) if anns else [[]] * 7
        struct = pa.StructArray.from_arrays(
            [
                pa.array(cols[1], pa.int64()),
                pa.array(cols[2], pa.string()),
                pa.array(cols[3], pa.string()),
                pa.array([int(t * 1000) for t in cols[4]], pa.int64()).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                pa.array(cols[5], pa.int32()),
                pa.array(cols[6], pa.string()),
            ],
            fields=self._ann_fields,
        )
        lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)
        batch = pa.record_batch(
            [
                pa.array(ids, pa.int64()),
                pa.array([r[1] for r in items], pa.string()),
                pa.array([r[2] for r in items], pa.string()),
                lists,
                pa.array([truth.get(i) for i in ids], pa.string()),
                pa.array([batch.gold.get(i) for i in ids], pa.string()),
            ],
            schema=self._schema,
        )
        self._w.write_batch(batch)

    def close(self) -> None:
        self._w.close()


WRITERS: dict[str, type[JsonlWriter] | type[ParquetWriter]] = {
    "jsonl": JsonlWriter,
    "parquet": ParquetWriter,
}


def writer_for(fmt: str, fh: IO[bytes]) -> Writer:
    try:
        cls = WRITERS[fmt]
    except KeyError:
        raise UnknownComponent(
            f"Unknown export format {fmt!r}. Known formats: {sorted(WRITERS)}.",
            known=sorted(WRITERS),
        ) from None
    return cls(fh)


def _truth_json(rows: Sequence[tuple[Any, ...]]) -> dict[int, str]:
    """item id → ``{"field": {"value", "confidence", "method"}}`` as JSON text."""
    out: dict[int, list[str]] = {}
    for item_id, field, value, conf, method in rows:
        out.setdefault(item_id, []).append(
            f'{_q(field)}:{{"value":{value},"confidence":{"null" if conf is None else conf!r},'
            f'"method":{_q(method)}}}'
        )
    return {k: "{" + ",".join(v) + "}" for k, v in out.items()}
