"""Answer tables from any labelling tool: long-format answers and gold answers, in and out.

An *answers* file has one row per answer: an item id, an annotator id and a label. A *gold*
file has one row per item with a known label. Both come as CSV/TSV, JSONL or Parquet (told
apart by the file name). Column names are settable; when a name is not given, the default
(``item``/``annotator``/``label``) is used, or failing that a common alias such as
``question``/``task``/``id``, ``worker``, ``answer`` (see :data:`ALIASES`).

Ids are read as text (``7`` in a JSONL file and ``"7"`` in a CSV file are the same item). An
empty label cell (or JSON ``null``) is a missing label: its item is kept and reported as having
no label. Labels stay text until :func:`coerce_labels` turns all-numeric label sets into numbers.

Every error names the file, and the line when one line is at fault.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from truelabel.domain.errors import ImportFailed, InvalidInput, NotFound, UnknownComponent

from .readers import Record, detect_format, open_records

__all__ = [
    "ALIASES",
    "GOLD_LABEL_ALIASES",
    "OUT_FORMATS",
    "AnswerTable",
    "GoldTable",
    "coerce_labels",
    "csv_cell",
    "out_format",
    "read_answers",
    "read_gold",
    "write_table",
]

ALIASES: dict[str, tuple[str, ...]] = {
    "item": (
        "item", "item_id", "question", "question_id", "task", "task_id", "unit", "unit_id",
        "example", "example_id", "id", "q",
    ),
    "annotator": (
        "annotator", "annotator_id", "worker", "worker_id", "rater", "coder", "labeler",
        "labeller", "user", "username", "user_id", "judge", "performer",
    ),
    "label": (
        "label", "answer", "response", "value", "rating", "class", "category", "judgment",
        "annotation", "choice", "output",
    ),
}
"""Column names tried, in order, when a column is not named explicitly."""

GOLD_LABEL_ALIASES: tuple[str, ...] = (
    "label", "truth", "gold", "gold_label", "true_label", "ground_truth", "answer", "value",
    "class", "category",
)
"""Label columns tried in a gold file when none is named."""

FIELD_COLUMN = "field"
"""The column naming the question in a file of several (truelabel's answers export)."""

OUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
               ".pq": "parquet"}
"""File suffixes :func:`write_table` understands."""


@dataclass(eq=False)
class AnswerTable:
    """Answers read from one file, as parallel columns.

    Attributes:
        path: The file read.
        columns: Role (``item``/``annotator``/``label``) → the column name used.
        found: Every column name of the file (of its first record for JSONL).
        items: Item id per answer (text).
        annotators: Annotator id per answer (text).
        labels: Label per answer (text), ``None`` where the cell was empty.
        lines: File line (CSV/JSONL) or row (Parquet) of each answer.
    """

    path: str
    columns: dict[str, str]
    found: list[str]
    items: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def n_missing(self) -> int:
        """Answers whose label cell was empty."""
        return sum(1 for v in self.labels if v is None)


@dataclass(eq=False)
class GoldTable:
    """Known answers read from one file.

    Attributes:
        path: The file read.
        columns: Role (``item``/``label``) → the column name used.
        labels: Item id (text) → gold label (text), in file order.
        n_missing: Rows skipped because their label cell was empty.
    """

    path: str
    columns: dict[str, str]
    labels: dict[str, Any]
    n_missing: int = 0


def _id(value: Any) -> str:
    """Ids as text, so 7, 7.0 and "7" from different formats name the same item."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def _label(value: Any) -> Any:
    """A hashable label as text, or None when missing; lists (multi-choice) become ``a|b``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list):
        return "|".join(_id(v) for v in value) if value else "(none)"
    text = _id(value)
    return text if text != "" else None


def _is_missing_id(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _resolve(
    path: str, found: Sequence[str], role: str, given: str | None, candidates: Sequence[str],
    option: str,
) -> str:
    """The column to use for ``role``: the one given, else the first candidate present."""
    if given:
        if given in found:
            return given
        raise ImportFailed(
            f"{path}: no column {given!r} for the {role}; the columns are {list(found)}. "
            f"Pass the right name with {option}.",
            file=path, columns=list(found),
        )
    for name in candidates:
        if name in found:
            return name
    lower = {c.lower(): c for c in found}
    for name in candidates:
        if name in lower:
            return lower[name]
    raise ImportFailed(
        f"{path}: no {role} column; looked for {list(candidates)} but the columns are "
        f"{list(found)}. Name the column with {option}.",
        file=path, columns=list(found),
    )


def _batches(path: str, fmt: str | None) -> Iterator[list[Record]]:
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"No such file: {path}. Check the path.", file=path)
    kind = detect_format(path, fmt)
    if kind == "text":
        raise UnknownComponent(
            f"{path}: answers must be a table (CSV/TSV, JSONL or Parquet), not plain text. "
            "Use one row per answer with item, annotator and label columns.",
            known=["csv", "jsonl", "parquet"],
        )
    with p.open("rb") as fh:
        try:
            yield from open_records(fh, kind, path=path)
        except ImportFailed as exc:
            # The readers were written for imports; nothing is imported here.
            raise ImportFailed(
                exc.message.removesuffix(" Nothing was imported."), **exc.detail
            ) from None


def _fail(path: str, line: int, what: str, hint: str) -> ImportFailed:
    return ImportFailed(f"{path}, line {line}: {what}. {hint}", file=path, line=line)


def read_answers(
    path: str | Path,
    *,
    item_col: str | None = None,
    annotator_col: str | None = None,
    label_col: str | None = None,
    fmt: str | None = None,
    field: str | None = None,
) -> AnswerTable:
    """Read a long-format answers file (one row per annotator's answer on an item).

    A file with a ``field`` column (truelabel's answers export) holds several questions:
    ``field`` picks one; without it, a file of more than one field is refused (listed).

    Args:
        path: CSV/TSV, JSONL or Parquet file.
        item_col: Column of item ids; default ``item`` or an alias (``question``, ``task``,
            ``id``, ...).
        annotator_col: Column of annotator ids; default ``annotator`` or an alias (``worker``...).
        label_col: Column of labels; default ``label`` or an alias (``answer``, ``value``...).
        fmt: ``csv``, ``jsonl`` or ``parquet``; default from the file name.
        field: The question to read from a file with a ``field`` column.

    Raises:
        NotFound: the file does not exist.
        ImportFailed: a column is missing (the message lists the columns found), a line is
            malformed, or a row has no item or annotator id (file and line named).
        InvalidInput: the file holds no answers.
    """
    spath = str(path)
    table: AnswerTable | None = None
    names = ("item", "annotator", "label")
    by_field = False
    fields_seen: dict[str, int] = {}
    for batch in _batches(spath, fmt):
        if table is None:
            found = list(batch[0].data)
            given = {"item": item_col, "annotator": annotator_col, "label": label_col}
            options = {r: f"--{r}-col" for r in names}
            cols = {r: _resolve(spath, found, r, given[r], ALIASES[r], options[r]) for r in names}
            if len(set(cols.values())) < 3:
                raise ImportFailed(
                    f"{spath}: one column cannot be two things; the columns chosen are {cols}. "
                    "Name them with --item-col, --annotator-col and --label-col.",
                    file=spath,
                )
            table = AnswerTable(spath, cols, found)
            by_field = FIELD_COLUMN in found and FIELD_COLUMN not in cols.values()
            if field is not None and not by_field:
                raise ImportFailed(
                    f"{spath}: --field {field!r} needs a {FIELD_COLUMN!r} column; the columns "
                    f"are {found}. Leave --field out for a file of one question.", file=spath)
        ic, ac, lc = table.columns["item"], table.columns["annotator"], table.columns["label"]
        items, anns, labels, lines = table.items, table.annotators, table.labels, table.lines
        for rec in batch:
            d = rec.data
            if by_field:
                name = str(d.get(FIELD_COLUMN))
                fields_seen[name] = fields_seen.get(name, 0) + 1
                if field is None:
                    if len(fields_seen) > 1:
                        raise InvalidInput(
                            f"{spath} holds answers to several fields ({sorted(fields_seen)}); "
                            "agreement and aggregation take one at a time: pick one with "
                            "--field NAME.", file=spath, fields=sorted(fields_seen))
                elif name != field:
                    continue
            item, ann = d.get(ic), d.get(ac)
            if _is_missing_id(item) or _is_missing_id(ann):
                role, col = ("item", ic) if _is_missing_id(item) else ("annotator", ac)
                raise _fail(
                    spath, rec.line, f"no {role} id (column {col!r} is empty or absent)",
                    "Every answer needs an item and an annotator; fill the cell or drop the row.",
                )
            items.append(_id(item))
            anns.append(_id(ann))
            labels.append(_label(d.get(lc)))
            lines.append(rec.line)
    if table is not None and field is not None and not table.items:
        raise InvalidInput(
            f"{spath} holds no answers to the field {field!r}; its fields are "
            f"{sorted(fields_seen)}. Pick one with --field.", file=spath,
            fields=sorted(fields_seen))
    if table is None or not table.items:
        raise InvalidInput(
            f"{spath} holds no answers. Give one row per answer with item, annotator and "
            "label columns.",
            file=spath,
        )
    return table


def read_gold(
    path: str | Path,
    *,
    item_col: str | None = None,
    label_col: str | None = None,
    item_hint: str | None = None,
    fmt: str | None = None,
) -> GoldTable:
    """Read known answers: one row per item with its true label.

    Args:
        path: CSV/TSV, JSONL or Parquet file.
        item_col: Column of item ids; default: ``item_hint``, ``item`` or an alias.
        label_col: Column of labels; default ``label``, ``truth``, ``gold`` or an alias.
        item_hint: The item column name of the answers file, tried first.
        fmt: Format name; default from the file name.

    Raises:
        NotFound: the file does not exist.
        ImportFailed: a column is missing, a line is malformed, an item id is empty, or one
            item has two different gold labels.
        InvalidInput: the file holds no gold labels.
    """
    spath = str(path)
    cols: dict[str, str] = {}
    labels: dict[str, Any] = {}
    where: dict[str, int] = {}
    n_missing = 0
    for batch in _batches(spath, fmt):
        if not cols:
            found = list(batch[0].data)
            item_names = tuple(dict.fromkeys([*([item_hint] if item_hint else []),
                                              *ALIASES["item"]]))
            cols["item"] = _resolve(spath, found, "gold item", item_col, item_names,
                                    "--gold-item-col")
            rest = [c for c in found if c != cols["item"]]
            cols["label"] = _resolve(spath, rest, "gold label", label_col, GOLD_LABEL_ALIASES,
                                     "--gold-label-col")
        ic, lc = cols["item"], cols["label"]
        for rec in batch:
            raw = rec.data.get(ic)
            if _is_missing_id(raw):
                raise _fail(spath, rec.line, f"no item id (column {ic!r} is empty)",
                            "Fill the cell or drop the row.")
            item, label = _id(raw), _label(rec.data.get(lc))
            if label is None:
                n_missing += 1
                continue
            if item in labels and labels[item] != label:
                raise _fail(
                    spath, rec.line,
                    f"item {item!r} has a second gold label {label!r} (line {where[item]} "
                    f"says {labels[item]!r})",
                    "Keep one gold label per item.",
                )
            labels[item] = label
            where.setdefault(item, rec.line)
    if not labels:
        raise InvalidInput(
            f"{spath} holds no gold labels. Give one row per item with item and label columns.",
            file=spath,
        )
    return GoldTable(spath, cols, labels, n_missing)


_INT = re.compile(r"[+-]?\d+")


def _number(text: str, kind: type) -> Any:
    return int(text) if kind is int else float(text)


def coerce_labels(*groups: Sequence[Any]) -> list[list[Any]]:
    """Turn text labels into numbers when every label of every group is a number.

    Labels are compared across files (answers and gold), so the decision is made on all
    groups together: all integers → ``int``, all finite numbers → ``float``, else unchanged.
    ``None`` (missing) stays ``None``. Numbers sort numerically (``2 < 10``), which matters for
    ordinal and interval agreement and weighted kappa.
    """
    present = [v for g in groups for v in g if v is not None]
    if not present or not all(isinstance(v, str) for v in present):
        return [list(g) for g in groups]
    kind: type
    if all(_INT.fullmatch(v) for v in present):
        kind = int
    else:
        try:
            if not all(math.isfinite(float(v)) for v in present):
                return [list(g) for g in groups]
        except ValueError:
            return [list(g) for g in groups]
        kind = float
    return [[None if v is None else _number(v, kind) for v in g] for g in groups]


def out_format(path: str | Path) -> str:
    """The output format for ``path`` from its suffix.

    Raises:
        UnknownComponent: the suffix is not one of :data:`OUT_FORMATS` (they are listed).
    """
    suffix = Path(str(path)).suffix.lower()
    if suffix not in OUT_FORMATS:
        known = sorted(OUT_FORMATS)
        raise UnknownComponent(
            f"Cannot tell the output format of {path}; use one of the suffixes {known}.",
            known=known,
        )
    return OUT_FORMATS[suffix]


def csv_cell(v: Any) -> str:
    """A value as a CSV cell: empty for None/NaN, true/false, floats rounded."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(round(v, 6))
    return str(v)


def _arrow_column(values: list[Any]) -> Any:
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.int64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None or math.isnan(v) else float(v) for v in values],
                        type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_table(path: str | Path, columns: dict[str, list[Any]]) -> str:
    """Write equal-length columns to CSV, JSONL or Parquet (by suffix), atomically.

    The file appears complete or not at all: rows go to a temporary file in the same folder,
    which then replaces ``path``. ``None`` and ``NaN`` are written as an empty CSV cell, JSON
    ``null`` or a Parquet null.

    Returns:
        The format written.

    Raises:
        UnknownComponent: unknown suffix.
        InvalidInput: the folder does not exist.
    """
    import csv

    target = Path(str(path))
    fmt = out_format(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInput(f"Folder {parent} does not exist; create it first.")
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
    try:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            os.close(fd)
            pq.write_table(pa.table({k: _arrow_column(v) for k, v in columns.items()}), tmp)
        elif fmt == "csv":
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(names)
                cols = [columns[k] for k in names]
                for i in range(n):
                    w.writerow([csv_cell(c[i]) for c in cols])
        else:
            with os.fdopen(fd, "wb") as fh:
                cols = [columns[k] for k in names]
                for i in range(n):
                    row = {}
                    for k, c in zip(names, cols, strict=True):
                        v = c[i]
                        row[k] = None if isinstance(v, float) and math.isnan(v) else v
                    fh.write(orjson.dumps(row) + b"\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return fmt
