"""Streaming export writers: JSONL and Parquet, one batch at a time.

Input batches come from ``store.items.iter_export_batches``: item tuples ``(id, external_id,
data_json, meta_json)`` and annotation tuples ``(item_id, id, annotator, value_json, created_at,
schema_version, origin)`` sorted by item id. JSONL splices JSON values in as text, never
re-parsed. Parquet given the label schema is typed: one column per field with the field
kind's Arrow type (``FieldSpec.arrow_type``), in the annotations' ``value``, ``ground_truth``
and ``gold`` structs.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import IO, Any, Protocol

import orjson

from truelabel.domain.fields import FieldSpec
from truelabel.domain.plugins import registry
from truelabel.domain.schema import LabelSchema

ItemT = tuple[Any, ...]
AnnT = tuple[Any, ...]


def _arrow() -> tuple[Any, Any]:
    # pyarrow is imported on first use: it costs ~40 MB and a JSONL export never needs it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def value_type(fields: Sequence[FieldSpec]) -> Any:
    """One annotation value: a struct with one child per field, of the kind's Arrow type."""
    pa, _ = _arrow()
    return pa.struct([pa.field(f.name, f.arrow_type()) for f in fields])


def truth_type(fields: Sequence[FieldSpec]) -> Any:
    """Ground truth of an item: per field ``{value, confidence, method}``."""
    pa, _ = _arrow()
    return pa.struct([
        pa.field(f.name, pa.struct([("value", f.arrow_type()), ("confidence", pa.float64()),
                                    ("method", pa.string())]))
        for f in fields
    ])


def annotation_type(fields: Sequence[FieldSpec] = ()) -> Any:
    pa, _ = _arrow()
    return pa.struct(
        [
            ("id", pa.int64()),
            ("annotator", pa.string()),
            ("value", value_type(fields) if fields else pa.string()),
            ("created_at", pa.timestamp("ms", tz="UTC")),
            ("schema_version", pa.int32()),
            ("origin", pa.string()),
        ]
    )


def parquet_schema(fields: Sequence[FieldSpec] = ()) -> Any:
    """Items with a list<struct> of annotations; ``data`` holds JSON text.

    With ``fields`` (the label schema's), ``annotations.value``, ``ground_truth`` and ``gold``
    are structs with one typed column per field; without, JSON text (format version 1).
    """
    pa, _ = _arrow()
    if not fields:
        return pa.schema(
            [
                ("id", pa.int64()),
                ("external_id", pa.string()),
                ("data", pa.string()),
                ("annotations", pa.list_(annotation_type())),
                ("ground_truth", pa.string()),
                ("gold", pa.string()),
                ("meta", pa.string()),
            ],
            metadata={
                b"truelabel.format": b"items-with-annotations/1",
                b"truelabel.note": b"data, annotations.value, ground_truth, gold, meta: JSON text",
            },
        )
    kinds = orjson.dumps({f.name: f.kind or f.type for f in fields})
    return pa.schema(
        [
            ("id", pa.int64()),
            ("external_id", pa.string()),
            ("data", pa.string()),
            ("annotations", pa.list_(annotation_type(fields))),
            ("ground_truth", truth_type(fields)),
            ("gold", value_type(fields)),
            ("meta", pa.string()),
        ],
        metadata={
            b"truelabel.format": b"items-with-annotations/2",
            b"truelabel.note": b"data and meta hold JSON text; one typed column per field",
            b"truelabel.field_kinds": kinds,
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

    def __init__(self, fh: IO[bytes], *, schema: LabelSchema | None = None) -> None:
        self.fh = fh  # JSONL splices the stored JSON: it needs no schema

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
        for item_id, ext, data, meta in items:
            a = by_item.get(item_id)
            out.append(
                f'{{"id":{item_id},"external_id":{_q(ext)},"data":{data},'
                + (f'"meta":{meta},' if meta else "") +
                f'"annotations":[{",".join(a) if a else ""}],'
                f'"ground_truth":{truth.get(item_id, "{}")},'
                f'"gold":{batch.gold.get(item_id, "null")}}}\n'
            )
        self.fh.write("".join(out).encode())

    def close(self) -> None:
        self.fh.flush()


class ParquetWriter:
    """Items with a list<struct> column of their annotations (see :func:`parquet_schema`)."""

    def __init__(self, fh: IO[bytes], *, schema: LabelSchema | None = None) -> None:
        _, pq = _arrow()
        self._fields = list(schema.fields) if schema is not None else []
        self._schema = parquet_schema(self._fields)
        self._ann_fields = list(self._schema.field("annotations").type.value_type)
        self._w = pq.ParquetWriter(fh, self._schema, compression="zstd")

    def write(self, batch: Batch) -> None:
        pa, _ = _arrow()
        items, anns = batch.items, batch.annotations
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
                self._values(cols[3]),
                pa.array([int(t * 1000) for t in cols[4]], pa.int64()).cast(
                    pa.timestamp("ms", tz="UTC")
                ),
                pa.array(cols[5], pa.int32()),
                pa.array(cols[6], pa.string()),
            ],
            fields=self._ann_fields,
        )
        lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)
        out = pa.record_batch(
            [
                pa.array(ids, pa.int64()),
                pa.array([r[1] for r in items], pa.string()),
                pa.array([r[2] for r in items], pa.string()),
                lists,
                *self._truth_and_gold(batch, ids),
                pa.array([r[3] for r in items], pa.string()),
            ],
            schema=self._schema,
        )
        self._w.write_batch(out)

    def _values(self, values: Sequence[str]) -> Any:
        if not self._fields:
            pa, _ = _arrow()
            return pa.array(values, pa.string())
        return _typed_struct(self._fields, [orjson.loads(v) for v in values])

    def _truth_and_gold(self, batch: Batch, ids: list[int]) -> list[Any]:
        pa, _ = _arrow()
        if not self._fields:
            truth = _truth_json(batch.ground_truth)
            return [pa.array([truth.get(i) for i in ids], pa.string()),
                    pa.array([batch.gold.get(i) for i in ids], pa.string())]
        by_item: dict[int, dict[str, tuple[Any, Any, Any]]] = {}
        for item_id, name, value, conf, method in batch.ground_truth:
            by_item.setdefault(item_id, {})[name] = (orjson.loads(value), conf, method)
        children = []
        for f in self._fields:
            cells = [by_item.get(i, {}).get(f.name) for i in ids]
            children.append(pa.StructArray.from_arrays(
                [_typed_column(f, [c[0] if c else None for c in cells]),
                 pa.array([c[1] if c else None for c in cells], pa.float64()),
                 pa.array([c[2] if c else None for c in cells], pa.string())],
                names=["value", "confidence", "method"],
                mask=pa.array([c is None for c in cells], pa.bool_()),
            ))
        truth = pa.StructArray.from_arrays(
            children, fields=list(self._schema.field("ground_truth").type),
            mask=pa.array([i not in by_item for i in ids], pa.bool_()),
        )
        gold_raw = [batch.gold.get(i) for i in ids]
        gold = _typed_struct(self._fields, [None if g is None else orjson.loads(g)
                                            for g in gold_raw])
        return [truth, gold]

    def close(self) -> None:
        self._w.close()


def _typed_column(f: FieldSpec, values: Sequence[Any]) -> Any:
    """One field's values (``None``: no value) as an Arrow array of the kind's type.

    A value the kind cannot convert (made under an older schema version where the field was
    of another kind) becomes null rather than failing the export; JSONL keeps it as it is.
    """
    pa, _ = _arrow()
    t = f.arrow_type()
    try:
        return pa.array([None if v is None else f.to_arrow(v) for v in values], t)
    except (pa.ArrowException, TypeError, ValueError, KeyError, OverflowError):
        out = []
        for v in values:
            try:
                cell = None if v is None else f.to_arrow(v)
                pa.array([cell], t)
            except (pa.ArrowException, TypeError, ValueError, KeyError, OverflowError):
                cell = None
            out.append(cell)
        return pa.array(out, t)


def _typed_struct(fields: Sequence[FieldSpec], values: Sequence[dict[str, Any] | None]) -> Any:
    """Annotation values (mappings field -> value; ``None``: none) as a struct array."""
    pa, _ = _arrow()
    mask = pa.array([v is None for v in values], pa.bool_()) if None in values else None
    rows = [v or {} for v in values]
    return pa.StructArray.from_arrays(
        [_typed_column(f, [r.get(f.name) for r in rows]) for f in fields],
        fields=[pa.field(f.name, f.arrow_type()) for f in fields],
        mask=mask,
    )


def writer_for(fmt: str, fh: IO[bytes], *, schema: LabelSchema | None = None,
               container: str | None = None) -> Writer:
    """The registered writer ``fmt`` names (``jsonl``, ``parquet``, ``answers`` or a
    plug-in's) on ``fh``.

    ``schema`` (the project's label schema) lets a typed writer give each field its column;
    ``container`` is the file format of a writer that has several (``answers``: csv, jsonl
    or parquet).
    """
    cls = registry.writers.get(fmt)
    params = inspect.signature(cls).parameters
    kwargs: dict[str, Any] = {}
    if "schema" in params:
        kwargs["schema"] = schema
    if container is not None and "container" in params:  # e.g. "answers": csv/jsonl/parquet
        kwargs["container"] = container
    writer: Writer = cls(fh, **kwargs)
    return writer


def _truth_json(rows: Sequence[tuple[Any, ...]]) -> dict[int, str]:
    """item id → ``{"field": {"value", "confidence", "method"}}`` as JSON text."""
    out: dict[int, list[str]] = {}
    for item_id, field, value, conf, method in rows:
        out.setdefault(item_id, []).append(
            f'{_q(field)}:{{"value":{value},"confidence":{"null" if conf is None else conf!r},'
            f'"method":{_q(method)}}}'
        )
    return {k: "{" + ",".join(v) + "}" for k, v in out.items()}


ANSWER_COLUMNS = ("item", "item_id", "field", "annotator", "label", "annotation_id",
                  "created_at", "schema_version", "origin")
"""The long "answers" export: one row per item, field, annotator and label."""
ANSWER_CONTAINERS = ("csv", "jsonl", "parquet")


def answer_rows(batch: Batch) -> list[tuple[Any, ...]]:
    """The current annotations of a batch as :data:`ANSWER_COLUMNS` rows.

    ``item`` is the item's own id (its external id, else truelabel's id as text). A field
    holding a list of plain values (multi-choice) gives one row per value; a structured value
    (spans, a list of objects) one row with its JSON text; an empty field no row."""
    ext = {r[0]: (r[1] if r[1] is not None else str(r[0])) for r in batch.items}
    rows: list[tuple[Any, ...]] = []
    for item_id, aid, who, value, created, sv, origin in batch.annotations:
        answer = orjson.loads(value)
        if not isinstance(answer, dict):
            continue
        for name, v in answer.items():
            if v is None or v == [] or v == "":
                continue
            labels = (v if isinstance(v, list) and all(
                isinstance(x, str | int | float | bool) for x in v) else [v])
            for label in labels:
                if isinstance(label, dict | list):
                    label = orjson.dumps(label, option=orjson.OPT_SORT_KEYS).decode()
                rows.append((ext.get(item_id, str(item_id)), item_id, name, who, label, aid,
                             created, sv, origin))
    return rows


class AnswersWriter:
    """The long "answers" table (:data:`ANSWER_COLUMNS`) as CSV (default), JSONL or Parquet:
    what ``truelabel agreement`` and ``aggregate`` read as they are."""

    def __init__(self, fh: IO[bytes], *, container: str = "csv") -> None:
        if container not in ANSWER_CONTAINERS:
            raise ValueError(f"container must be one of {ANSWER_CONTAINERS}")
        self.fh, self.container = fh, container
        self._pq: Any = None
        if container == "csv":
            import csv
            import io

            self._text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
            self._csv = csv.writer(self._text)
            self._csv.writerow(ANSWER_COLUMNS)

    def write(self, batch: Batch) -> None:
        rows = answer_rows(batch)
        if self.container == "csv":
            from .answers import csv_cell

            self._csv.writerows([[csv_cell(c) for c in r] for r in rows])
        elif self.container == "jsonl":
            self.fh.write(b"".join(orjson.dumps(dict(zip(ANSWER_COLUMNS, r, strict=True)))
                                   + b"\n" for r in rows))
        else:
            self._write_parquet(rows)

    def _write_parquet(self, rows: list[tuple[Any, ...]]) -> None:
        pa, pq = _arrow()
        schema = pa.schema([("item", pa.string()), ("item_id", pa.int64()),
                            ("field", pa.string()), ("annotator", pa.string()),
                            ("label", pa.string()), ("annotation_id", pa.int64()),
                            ("created_at", pa.float64()), ("schema_version", pa.int32()),
                            ("origin", pa.string())])
        if self._pq is None:
            self._pq = pq.ParquetWriter(self.fh, schema, compression="zstd")
        cols: list[Any] = list(zip(*rows, strict=True)) if rows else [[]] * len(schema)
        labels = [v if isinstance(v, str) else orjson.dumps(v).decode() for v in cols[4]]
        self._pq.write_batch(pa.record_batch(
            [pa.array(list(c), f.type) for c, f in
             zip([*cols[:4], labels, *cols[5:]], schema, strict=True)], schema=schema))

    def close(self) -> None:
        if self.container == "csv":
            self._text.flush()
            self._text.detach()
        elif self.container == "parquet":
            if self._pq is None:
                self._write_parquet([])
            self._pq.close()
        self.fh.flush()
