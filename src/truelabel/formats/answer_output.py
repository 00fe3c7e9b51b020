"""Writing per-item results (``truelabel aggregate --out``): CSV, JSONL or Parquet by suffix,
atomically."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from truelabel.domain.errors import InvalidInput, UnknownComponent

__all__ = ["OUT_FORMATS", "csv_cell", "out_format", "write_table"]

OUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
               ".pq": "parquet"}
"""File suffixes :func:`write_table` understands."""


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
