"""What ``truelabel agreement`` and ``truelabel aggregate`` share: loading an answers file (and
gold) into ratings, engine errors as :class:`~truelabel.domain.errors.InvalidInput`, and the
JSON-able helpers of their reports."""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from truelabel import quality as q
from truelabel.domain.errors import InvalidInput
from truelabel.formats.answers import (
    AnswerTable,
    GoldTable,
    coerce_labels,
    label_order,
    read_answers,
    read_gold,
)


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Engine errors become InvalidInput with the same message; engine warnings are silenced
    (convergence is reported in the result instead)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", q.QualityWarning)
            yield
    except q.QualityError as exc:
        raise InvalidInput(str(exc)) from None


def _choice(name: str, value: Any, known: Sequence[Any]) -> None:
    if value not in known:
        raise InvalidInput(
            f"Unknown {name} {value!r}; known: {', '.join(map(str, known))}.",
            field=name, known=list(known),
        )


def _num(x: Any, digits: int | None = None) -> float | None:
    """A float for JSON: None for NaN, optionally rounded."""
    if x is None:
        return None
    f = float(x)
    if math.isnan(f):
        return None
    return f if digits is None else round(f, digits)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _load(
    path: str | Path,
    gold: str | Path | None,
    *,
    item_col: str | None,
    annotator_col: str | None,
    label_col: str | None,
    gold_item_col: str | None,
    gold_label_col: str | None,
    field: str | None = None,
) -> tuple[AnswerTable, GoldTable | None, list[Any], dict[Hashable, Hashable]]:
    """Answers and gold, with labels coerced to numbers together when all are numeric.

    The third value is the answers' distinct labels, coerced: ``labels[k]`` is
    ``table.label_values[k]``. A label made a float keeps its text in ``table.label_text``."""
    table = read_answers(path, item_col=item_col, annotator_col=annotator_col,
                         label_col=label_col, field=field)
    g = None
    if gold is not None:
        g = read_gold(gold, item_col=gold_item_col, label_col=gold_label_col,
                      item_hint=table.columns["item"])
    gold_items = list(g.labels) if g else []
    texts = [*table.label_values, *(g.labels.values() if g else [])]
    labels, gold_labels = coerce_labels(table.label_values, list(g.labels.values()) if g else [])
    table.label_text = {v: t for v, t in zip([*labels, *gold_labels], texts, strict=True)
                        if isinstance(v, float)}
    gold_map: dict[Hashable, Hashable] = dict(zip(gold_items, gold_labels, strict=True))
    return table, g, labels, gold_map


def _ratings(table: AnswerTable, labels: list[Any],
             classes: Sequence[Hashable] | None = None) -> q.Ratings:
    """The table's answers as ratings, its labels replaced by ``labels`` (see :func:`_load`)."""
    return q.encode_coded(table.item_codes, table.item_ids, table.annotator_codes,
                          table.annotator_ids, table.label_codes, labels,
                          classes=label_order(labels) if classes is None else classes)


def _shown(table: AnswerTable, label: Any) -> Any:
    """A label as the file wrote it (``2`` not ``2.0``)."""
    return table.label_text.get(label, _jsonable(label))


def _items_without_label(r: q.Ratings) -> list[Any]:
    rated = np.bincount(r.unit, minlength=r.n_units) > 0
    return [_jsonable(u) for u in r.units[~rated].tolist()]


def _sample(values: list[Any], n: int = 20) -> list[Any]:
    return values[:n]


def _union_classes(answers: list[Any], gold: dict[Hashable, Hashable]) -> list[Hashable]:
    """Classes covering answer and gold labels (a gold label nobody gave is still a class)."""
    seen = list(dict.fromkeys([v for v in answers if v is not None] + list(gold.values())))
    return label_order(seen)


def _gold_section(
    r: q.Ratings, gold: GoldTable, gold_labels: dict[Hashable, Hashable]
) -> tuple[dict[str, Any], q.GoldScores]:
    scores = q.gold_accuracy(r, gold_labels)
    answered = set(r.units[np.bincount(r.unit, minlength=r.n_units) > 0].tolist())
    matched = sum(1 for i in gold_labels if i in answered)
    n_gold = int(scores.n_gold.sum())
    section: dict[str, Any] = {
        "file": gold.path,
        "columns": gold.columns,
        "items": len(gold_labels),
        "items_answered": matched,
        "answers_on_gold": n_gold,
        "answers_correct_share": _num(scores.n_correct.sum() / n_gold, 4) if n_gold else None,
        "rows_without_label": gold.n_missing,
    }
    if not matched:
        section["note"] = (
            f"none of the {len(gold_labels)} gold items was answered in the answers file; "
            f"check that the item ids match (gold ids such as {list(gold_labels)[:3]!r}, "
            f"answer ids such as {r.units[:3].tolist()!r})"
        )
    return section, scores


# -- agreement ------------------------------------------------------------------------------
