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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from truelabel.domain.errors import ImportFailed, InvalidInput, NotFound

from .answer_columns import Coded, Table, open_table
from .answer_output import OUT_FORMATS, csv_cell, out_format, write_table

__all__ = [
    "ALIASES",
    "GOLD_LABEL_ALIASES",
    "OUT_FORMATS",
    "AnswerTable",
    "GoldTable",
    "coerce_labels",
    "label_order",
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
ANSWER_ID_COLUMN = "annotation_id"
"""The column of truelabel's answers export naming the answer a row belongs to: several rows
of one answer are the choices of a multi-choice field."""


@dataclass(eq=False)
class AnswerTable:
    """Answers read from one file, coded: ids and labels as integer codes into their values.

    Attributes:
        path: The file read.
        columns: Role (``item``/``annotator``/``label``) → the column name used.
        found: Every column name of the file.
        item_codes: Per answer, the index of its item in ``item_ids``.
        item_ids: Item ids (text), in first-seen order.
        annotator_codes: Per answer, the index of its annotator in ``annotator_ids``.
        annotator_ids: Annotator ids (text), in first-seen order.
        label_codes: Per answer, the index of its label in ``label_values``; -1 where the
            label cell was empty.
        label_values: The distinct labels (text), in first-seen order.
        label_text: A label turned into a number → the text the file wrote it as, where
            they differ in print (``2.0`` was ``2``); set by whoever turns them.
    """

    path: str
    columns: dict[str, str]
    found: list[str]
    item_codes: np.ndarray
    item_ids: list[str]
    annotator_codes: np.ndarray
    annotator_ids: list[str]
    label_codes: np.ndarray
    label_values: list[Any]
    label_text: dict[Any, str] = field(default_factory=dict)

    @property
    def n_answers(self) -> int:
        """Answers read (rows, with or without a label)."""
        return int(self.item_codes.shape[0])

    @property
    def n_missing(self) -> int:
        """Answers whose label cell was empty."""
        return int((self.label_codes < 0).sum())

    @property
    def items(self) -> list[str]:
        """Item id per answer (a list as long as the file: for small files and tests)."""
        return [self.item_ids[c] for c in self.item_codes.tolist()]

    @property
    def annotators(self) -> list[str]:
        """Annotator id per answer."""
        return [self.annotator_ids[c] for c in self.annotator_codes.tolist()]

    @property
    def labels(self) -> list[Any]:
        """Label per answer, ``None`` where the cell was empty."""
        return [None if c < 0 else self.label_values[c] for c in self.label_codes.tolist()]


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
    """A hashable label as text, or None when missing. A list (a multi-choice answer) is a
    set: its choices sorted and without repeats, joined by ``|`` (``["y","x","x"]`` → ``x|y``);
    an empty list is ``(none)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list):
        return "|".join(sorted({_id(v) for v in value})) if value else "(none)"
    text = _id(value)
    return text if text != "" else None


def _is_missing_id(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _id_or_none(value: Any) -> str | None:
    return None if _is_missing_id(value) else _id(value)


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


def _fail(path: str, line: int, what: str, hint: str) -> ImportFailed:
    return ImportFailed(f"{path}, line {line}: {what}. {hint}", file=path, line=line)


_ANSWER_ROLES = ("item", "annotator", "label")
_HEADER_WORDS = frozenset(
    [*ALIASES["item"], *ALIASES["annotator"], *ALIASES["label"], *GOLD_LABEL_ALIASES,
     FIELD_COLUMN]
)


def _table(spath: str, fmt: str | None, roles: Sequence[str], given: Sequence[str | None]
           ) -> Table:
    """The file's columns (fast, whole-column) or its records, whichever reads it exactly."""
    p = Path(spath)
    if not p.is_file():
        raise NotFound(f"No such file: {spath}. Check the path.", file=spath)
    return open_table(spath, fmt, list(roles), _HEADER_WORDS | {g for g in given if g})


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
    A ``.txt``, ``.tab`` or ``.tsv`` file may be separated by tabs or runs of spaces, and may
    have no header: three values per line are then item, annotator and label (as in the
    classic crowd data sets). A ``.gz`` name is read decompressed.

    Large files are read whole-column through Arrow and coded without a Python object per
    answer; see :mod:`truelabel.formats.answer_columns`.

    Args:
        path: CSV/TSV, JSONL, Parquet or whitespace-separated text file.
        item_col: Column of item ids; default ``item`` or an alias (``question``, ``task``,
            ``id``, ...).
        annotator_col: Column of annotator ids; default ``annotator`` or an alias (``worker``...).
        label_col: Column of labels; default ``label`` or an alias (``answer``, ``value``...).
        fmt: ``csv``, ``jsonl`` or ``parquet``; default from the file name.
        field: The question to read from a file with a ``field`` column.

    Raises:
        NotFound: the file does not exist.
        ImportFailed: a column is missing (the message lists the columns found), a line is
            malformed (a quote never closed names the line where it opened), or a row has no
            item or annotator id (file and line named).
        InvalidInput: the file holds no answers.
    """
    spath = str(path)
    given = {"item": item_col, "annotator": annotator_col, "label": label_col}
    src = _table(spath, fmt, _ANSWER_ROLES, list(given.values()))
    found = src.found
    if not found:
        raise _no_answers(spath)
    options = {r: f"--{r}-col" for r in _ANSWER_ROLES}
    cols = {r: _resolve(spath, found, r, given[r], ALIASES[r], options[r])
            for r in _ANSWER_ROLES}
    if len(set(cols.values())) < 3:
        raise ImportFailed(
            f"{spath}: one column cannot be two things; the columns chosen are {cols}. "
            "Name them with --item-col, --annotator-col and --label-col.",
            file=spath,
        )
    by_field = FIELD_COLUMN in found and FIELD_COLUMN not in cols.values()
    if field is not None and not by_field:
        raise ImportFailed(
            f"{spath}: --field {field!r} needs a {FIELD_COLUMN!r} column; the columns "
            f"are {found}. Leave --field out for a file of one question.", file=spath)
    choices = by_field and ANSWER_ID_COLUMN in found
    coded = src.coded([cols["item"], cols["annotator"], cols["label"],
                       *([ANSWER_ID_COLUMN] if choices else []),
                       *([FIELD_COLUMN] if by_field else [])],
                      [_id_or_none, _id_or_none, _label, *([str] if choices else []),
                       *([str] if by_field else [])])
    rows = None
    if by_field:
        names = coded.pop()
        fields_seen = sorted(names.values)
        if field is None and len(fields_seen) > 1:
            raise InvalidInput(
                f"{spath} holds answers to several fields ({fields_seen}); agreement and "
                "aggregation take one at a time: pick one with --field NAME.", file=spath,
                fields=fields_seen)
        if field is not None:
            keep = names.codes == (names.values.index(field) if field in names.values else -2)
            rows = np.flatnonzero(keep)
            coded = [c.take(keep) for c in coded]
            if not rows.size:
                raise InvalidInput(
                    f"{spath} holds no answers to the field {field!r}; its fields are "
                    f"{fields_seen}. Pick one with --field.", file=spath, fields=fields_seen)
    if choices:
        coded, rows = _one_row_per_answer(coded, rows)
    items, anns, labels = coded
    bad_item, bad_ann = items.first_missing(), anns.first_missing()
    if bad_item is not None or bad_ann is not None:
        at = min(r for r in (bad_item, bad_ann) if r is not None)
        role, col = ("item", cols["item"]) if at == bad_item else ("annotator", cols["annotator"])
        raise _fail(spath, src.line(at if rows is None else int(rows[at])),
                    f"no {role} id (column {col!r} is empty or absent)",
                    "Every answer needs an item and an annotator; fill the cell or drop the row.")
    if not len(items.codes):
        raise _no_answers(spath)
    return AnswerTable(spath, cols, found, items.codes, items.values, anns.codes, anns.values,
                       labels.codes, labels.values)


def _one_row_per_answer(coded: list[Coded], rows: np.ndarray | None
                        ) -> tuple[list[Coded], np.ndarray | None]:
    """truelabel's answers export gives a multi-choice answer one row per choice, all with
    its ``annotation_id``: they become one label, the set of choices (as :func:`_label` makes
    of a list), on the first of the rows."""
    items, anns, labels, answer = coded
    order = np.argsort(answer.codes, kind="stable")
    key = answer.codes[order]
    start = np.concatenate([[True], key[1:] != key[:-1]]) | (key < 0)
    if start.all():
        return [items, anns, labels], rows
    group = np.cumsum(start) - 1
    firsts = order[start]
    values = list(labels.values)
    index = {v: i for i, v in enumerate(values)}
    sets: dict[int, set[str]] = {}
    for g, row in zip(group.tolist(), order.tolist(), strict=True):
        c = int(labels.codes[row])
        if c >= 0:
            sets.setdefault(g, set()).update(values[c].split("|"))
    codes = labels.codes.copy()
    for g, first in enumerate(firsts.tolist()):
        if g in sets:
            text = "|".join(sorted(sets[g]))
            codes[first] = index.setdefault(text, len(index))
    keep = np.zeros(codes.shape[0], dtype=bool)
    keep[np.sort(firsts)] = True
    merged = Coded(codes, list(index))
    return ([items.take(keep), anns.take(keep), merged.take(keep)],
            np.flatnonzero(keep) if rows is None else rows[keep])


def _no_answers(spath: str) -> InvalidInput:
    return InvalidInput(
        f"{spath} holds no answers. Give one row per answer with item, annotator and "
        "label columns.",
        file=spath,
    )


def read_gold(
    path: str | Path,
    *,
    item_col: str | None = None,
    label_col: str | None = None,
    item_hint: str | None = None,
    fmt: str | None = None,
) -> GoldTable:
    """Read known answers: one row per item with its true label.

    Read as :func:`read_answers` reads (a ``.txt`` file of ``item label`` lines without a
    header is fine).

    Args:
        path: CSV/TSV, JSONL, Parquet or whitespace-separated text file.
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
    src = _table(spath, fmt, ("item", "label"), [item_col, label_col, item_hint])
    found = src.found
    if not found:
        raise InvalidInput(f"{spath} holds no gold labels. Give one row per item with item "
                           "and label columns.", file=spath)
    item_names = tuple(dict.fromkeys([*([item_hint] if item_hint else []), *ALIASES["item"]]))
    cols = {"item": _resolve(spath, found, "gold item", item_col, item_names,
                             "--gold-item-col")}
    rest = [c for c in found if c != cols["item"]]
    cols["label"] = _resolve(spath, rest, "gold label", label_col, GOLD_LABEL_ALIASES,
                             "--gold-label-col")
    ic, lc = cols["item"], cols["label"]
    items, lab = src.coded([ic, lc], [_id_or_none, _label])
    bad = items.first_missing()
    if bad is not None:
        raise _fail(spath, src.line(bad), f"no item id (column {ic!r} is empty)",
                    "Fill the cell or drop the row.")
    labels: dict[str, Any] = {}
    where: dict[str, int] = {}
    n_missing = 0
    for row, (i, code) in enumerate(zip(items.codes.tolist(), lab.codes.tolist(),
                                        strict=True)):
        if code < 0:
            n_missing += 1
            continue
        item, label = items.values[i], lab.values[code]
        if item in labels and labels[item] != label:
            raise _fail(
                spath, src.line(row),
                f"item {item!r} has a second gold label {label!r} (line {where[item]} "
                f"says {labels[item]!r})",
                "Keep one gold label per item.",
            )
        labels[item] = label
        where.setdefault(item, src.line(row))
    if not labels:
        raise InvalidInput(
            f"{spath} holds no gold labels. Give one row per item with item and label columns.",
            file=spath,
        )
    return GoldTable(spath, cols, labels, n_missing)


_INT = re.compile(r"0|-?[1-9]\d*")
"""An integer as Python prints it: no sign ``+``, no leading zero, no ``-0``."""
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _is_number(text: Any) -> bool:
    return isinstance(text, str) and _NUMBER.fullmatch(text) is not None


def coerce_labels(*groups: Sequence[Any]) -> list[list[Any]]:
    """Turn text labels into numbers when every label of every group is a number, and never
    merge two different texts.

    Labels are compared across files (answers and gold), so the decision is made on all
    groups together: all integers written as Python writes them (``7``, ``-3``; not ``07``,
    ``+7`` or ``-0``) → ``int``; else all finite numbers whose texts all name different numbers
    → ``float``; else unchanged. So ``01`` and ``1`` stay two labels (text, ordered as numbers by
    :func:`label_order`), and ``2`` beside ``2.5`` is 2.0 and 2.5 (print it as the file wrote it).
    ``None`` (missing) stays ``None``. Numbers sort numerically (``2 < 10``), which matters for
    ordinal and interval agreement and weighted kappa.
    """
    present = {v for g in groups for v in g if v is not None}
    if not present or not all(isinstance(v, str) for v in present):
        return [list(g) for g in groups]
    kind: type
    if all(_INT.fullmatch(v) for v in present):
        kind = int
    elif all(_is_number(v) for v in present):
        values = {float(v) for v in present}
        if len(values) != len(present) or not all(math.isfinite(v) for v in values):
            return [list(g) for g in groups]
        kind = float
    else:
        return [list(g) for g in groups]
    return [[None if v is None else kind(v) for v in g] for g in groups]


def label_order(values: Sequence[Any]) -> list[Any]:
    """The distinct ``values`` in label order: numbers, and texts that all read as numbers
    (``01``, ``1``, ``2``, ``10``), by value (then text); other labels sorted; first-seen order
    when they cannot be compared."""
    seen = list(dict.fromkeys(v for v in values if v is not None))
    if seen and all(_is_number(v) for v in seen):
        return sorted(seen, key=lambda v: (float(v), v))
    try:
        return sorted(seen)
    except TypeError:
        return seen
