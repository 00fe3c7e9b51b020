"""Agreement and aggregation on answer files from any tool (``truelabel agreement/aggregate``).

Reads a long-format answers file (item, annotator, label) and optionally a gold file with
:mod:`truelabel.formats.answers`, runs the engines of :mod:`truelabel.quality` and returns plain,
JSON-able dicts. Engine errors (:class:`truelabel.quality.QualityError`) come out as
:class:`truelabel.domain.errors.InvalidInput` with the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from truelabel import quality as q
from truelabel.domain.errors import InvalidInput

from .aggregate_file import TIES, aggregate_from_file
from .answer_common import (
    _choice,
    _engine_errors,
    _gold_section,
    _items_without_label,
    _jsonable,
    _load,
    _num,
    _ratings,
    _sample,
    _union_classes,
)

__all__ = [
    "AGGREGATION_METHODS",
    "LEVELS",
    "METRICS",
    "TIES",
    "WEIGHTS",
    "aggregate_from_file",
    "agreement_from_file",
]

METRICS = ("alpha", "fleiss", "cohen", "percent")
"""Agreement metrics: Krippendorff's alpha, Fleiss' kappa, Cohen's kappa, percent agreement."""
LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS = ("linear", "quadratic")
AGGREGATION_METHODS = ("auto", "majority", "weighted", "dawid_skene", "gold_dawid_skene",
                       "one_coin", "bayesian_dawid_skene")
"""The built-in aggregation methods; :func:`truth_method_names` lists every registered one."""
DUPLICATES = ("first", "last", "error")

_METRIC_NAMES = {
    "alpha": "Krippendorff's alpha",
    "fleiss": "Fleiss' kappa",
    "cohen": "Cohen's kappa",
    "percent": "percent agreement",
}


def _cohen_statistic(weights: str | None) -> Callable[[q.Ratings], float]:
    def statistic(r: q.Ratings) -> float:
        # The scale is every label of the field (the file's, or --order), paired or not: the
        # definition of q.cohen_kappa, so the CLI and the API give the same number.
        pair = _two_raters(r)
        return q.cohen_kappa(pair[0], pair[1], weights=weights,  # type: ignore[arg-type]
                             labels=r.classes)

    return statistic


def _two_raters(r: q.Ratings) -> tuple[list[Any], list[Any]]:
    """The two annotators' labels aligned by unit (None where one did not answer)."""
    cols: list[list[Any]] = []
    for a in range(2):
        codes = np.full(r.n_units, -1, dtype=np.int64)
        mine = r.annotator == a
        codes[r.unit[mine]] = r.label[mine]
        cols.append([None if c < 0 else r.classes[c] for c in codes.tolist()])
    return cols[0], cols[1]


def _statistic(metric: str, level: str, weights: str | None,
               order: Sequence[Any] | None = None) -> Callable[[q.Ratings], float]:
    if metric == "alpha":
        return lambda r: q.krippendorff_alpha(r, level=level, order=order)  # type: ignore[arg-type]
    if metric == "fleiss":
        return q.fleiss_kappa
    if metric == "percent":
        return q.percent_agreement
    return _cohen_statistic(weights)


def _per_label(r: q.Ratings, metric: str) -> list[dict[str, Any]]:
    """One-vs-rest agreement per label (nominal); Cohen's kappa for the cohen metric."""
    if metric == "cohen":
        out = []
        for code, label in enumerate(r.classes):
            binary = q.Ratings(r.unit, r.annotator, (r.label == code).astype(np.int64),
                               r.units, r.annotators, (False, True))
            pairs = q.pairwise_agreement(binary, metric="cohen_kappa")
            p = pairs[0] if pairs else None
            out.append({
                "label": _jsonable(label),
                "value": _num(p.value) if p else None,
                "items": p.n_units if p else 0,
                "answers": int((r.label == code).sum()),
                "note": (p.note if p else "the two annotators share no item"),
            })
        return out
    scores = q.per_label_agreement(r, metric=metric)  # type: ignore[arg-type]
    return [
        {
            "label": _jsonable(label),
            "value": _num(s.value),
            "items": s.n_units,
            "answers": int((r.label == r.classes.index(label)).sum()),
            "note": s.note,
        }
        for label, s in scores.items()
    ]


def _scale_order(r: q.Ratings, metric: str, level: str, weights: str | None) -> list[Any] | None:
    """The label order an ordered measure used (lowest first); None for nominal measures."""
    if (metric == "alpha" and level != "nominal") or (metric == "cohen" and weights):
        return [_jsonable(c) for c in r.classes]
    return None


def agreement_from_file(
    path: str | Path,
    *,
    metric: str = "alpha",
    level: str = "nominal",
    weights: str | None = None,
    pairs: bool = False,
    gold: str | Path | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    duplicates: str = "first",
    item_col: str | None = None,
    annotator_col: str | None = None,
    label_col: str | None = None,
    gold_item_col: str | None = None,
    gold_label_col: str | None = None,
    order: Sequence[Any] | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """Inter-annotator agreement of an answers file, with a bootstrap interval.

    Args:
        path: Long-format answers (CSV/TSV, JSONL, Parquet): item, annotator, label.
        metric: ``alpha`` (Krippendorff), ``fleiss``, ``cohen`` (exactly two annotators) or
            ``percent``.
        level: Level of measurement for alpha: ``nominal``, ``ordinal``, ``interval``, ``ratio``.
        weights: Cohen's kappa weights: ``None``, ``linear`` or ``quadratic``.
        pairs: Also score every annotator pair (Cohen's kappa; alpha/percent for those metrics).
        gold: Optional gold file (item, label): adds each annotator's accuracy on gold.
        n_resamples: Bootstrap resamples (items are resampled).
        confidence: Coverage of the interval, e.g. 0.95.
        seed: Bootstrap seed; the same seed gives the same interval.
        duplicates: An annotator who answered an item twice: keep the ``first`` or ``last``
            answer, or fail (``error``).
        item_col: Item column; default ``item`` or an alias (``question``, ``task``, ``id``...).
        annotator_col: Annotator column; default ``annotator`` or an alias (``worker``...).
        label_col: Label column; default ``label`` or an alias (``answer``...).
        gold_item_col: Item column of the gold file.
        gold_label_col: Label column of the gold file (default ``label``, ``truth``, ``gold``...).
        order: For ``level="ordinal"`` and weighted Cohen's kappa: every label, lowest rank
            first (default: the labels sorted); a label used but left out is an error naming
            it. The order used by an ordered measure (ordinal, interval, ratio, weighted
            kappa) is returned as ``order``.
        field: The question to score in a file of several (a ``field`` column, as in
            truelabel's answers export).

    Returns:
        A JSON-able dict: ``value``, ``ci`` (``low``, ``high``, ``confidence``, ...),
        ``per_label``, optional ``pairs`` and ``gold``, and counts.

    Raises:
        InvalidInput: a bad option, a file problem (file and line named) or data the metric
            cannot use (e.g. cohen with three annotators).
    """
    _choice("metric", metric, METRICS)
    _choice("level", level, LEVELS)
    _choice("duplicates", duplicates, DUPLICATES)
    if weights is not None:
        _choice("weights", weights, WEIGHTS)
        if metric != "cohen":
            raise InvalidInput(
                f"weights apply to Cohen's kappa (--metric cohen), not to {metric}. For ordered "
                "labels with alpha use --level ordinal (or interval).",
                field="weights",
            )
    if level != "nominal" and metric != "alpha":
        raise InvalidInput(
            f"level {level!r} applies to Krippendorff's alpha (--metric alpha); {metric} is "
            "nominal. For ordered labels with Cohen's kappa use --weights linear or quadratic.",
            field="level",
        )
    ordered = (metric == "alpha" and level == "ordinal") or (metric == "cohen" and weights)
    if order is not None and not ordered:
        raise InvalidInput(
            "A label order (--order) applies to ordered measures: --metric alpha --level "
            "ordinal, or --metric cohen --weights linear/quadratic (interval and ratio alpha "
            "use the labels' numeric values).", field="order",
        )
    table, g, labels, gold_labels = _load(
        path, gold, item_col=item_col, annotator_col=annotator_col, label_col=label_col,
        gold_item_col=gold_item_col, gold_label_col=gold_label_col, field=field,
    )
    with _engine_errors():
        if n_resamples < 1:
            raise q.InvalidInput(f"resamples must be at least 1; got {n_resamples}.")
        if not 0.0 < confidence < 1.0:
            raise q.InvalidInput(f"confidence must be between 0 and 1, e.g. 0.95; got "
                                 f"{confidence}.")
        full = _ratings(table, labels)
        n_dup = full.duplicate_count()
        if duplicates == "error" and n_dup:
            raise InvalidInput(
                f"{table.path}: {n_dup} answer(s) repeat an (item, annotator) pair, and "
                "agreement counts one answer per annotator and item. Keep the first or last "
                "answer (duplicates='first' or 'last', --duplicates on the command line).",
                field="duplicates",
            )
        r = full.drop_duplicates(keep=duplicates) if n_dup else full  # type: ignore[arg-type]
        if order is not None:
            r = q.in_order(r, order)
        if metric == "cohen" and r.n_annotators != 2:
            shown = ", ".join(map(str, r.annotators[:5].tolist()))
            more = "..." if r.n_annotators > 5 else ""
            raise InvalidInput(
                f"Cohen's kappa compares exactly two annotators; {table.path} has "
                f"{r.n_annotators} ({shown}{more}). Use --metric alpha or fleiss for more "
                "annotators, or add --pairs for Cohen's kappa per annotator pair.",
                field="metric",
            )
        statistic = _statistic(metric, level, weights, order)
        value = float(statistic(r))
        ci: dict[str, Any] | None
        note = None
        try:
            if metric == "alpha":
                boot = q.krippendorff_alpha_ci(r, level=level,  # type: ignore[arg-type]
                                               n_resamples=n_resamples, confidence=confidence,
                                               seed=seed, order=order)
            else:
                boot = q.bootstrap_ci(r, statistic, n_resamples=n_resamples,
                                      confidence=confidence, seed=seed)
            ci = {
                "low": _num(boot.low), "high": _num(boot.high), "confidence": confidence,
                "resamples": n_resamples, "failed": boot.n_failed, "seed": seed,
            }
        except q.NotEnoughData as exc:
            ci, note = None, f"no confidence interval: {exc}"
        per_label = _per_label(r, metric)
        pair_rows = None
        pair_metric = None
        if pairs:
            pair_metric = {"alpha": "alpha", "percent": "percent"}.get(metric, "cohen_kappa")
            pair_rows = [
                {"a": _jsonable(p.annotator_a), "b": _jsonable(p.annotator_b),
                 "items": p.n_units, "value": _num(p.value), "note": p.note}
                for p in q.pairwise_agreement(
                    r, metric=pair_metric,  # type: ignore[arg-type]
                    weights=weights,  # type: ignore[arg-type]
                    level=level if pair_metric == "alpha" else "nominal",  # type: ignore[arg-type]
                )
            ]
        gold_part = None
        if g is not None:
            gr = _ratings(table, labels, classes=_union_classes(labels, gold_labels))
            gold_part, scores = _gold_section(gr, g, gold_labels)
            gold_part["annotators"] = [
                {"annotator": _jsonable(a), "gold_answers": int(n), "correct": int(c),
                 "accuracy": _num(acc)}
                for a, n, c, acc in zip(scores.annotators.tolist(), scores.n_gold.tolist(),
                                        scores.n_correct.tolist(), scores.accuracy.tolist(),
                                        strict=True)
            ]
    m = np.bincount(r.unit, minlength=r.n_units)
    name = _METRIC_NAMES[metric]
    if metric == "alpha":
        name += f" ({level})"
    elif metric == "cohen" and weights:
        name = f"{weights}-weighted {name}"
    no_label = _items_without_label(r)
    out: dict[str, Any] = {
        "file": table.path,
        "columns": table.columns,
        "metric": metric,
        "metric_name": name,
        "level": level if metric == "alpha" else "nominal",
        "order": _scale_order(r, metric, level, weights),
        "order_given": order is not None,
        "weights": weights,
        "value": _num(value),
        "ci": ci,
        "items": r.n_units,
        "items_pairable": int((m >= 2).sum()),
        "items_without_label": len(no_label),
        "items_without_label_sample": _sample(no_label),
        "annotators": r.n_annotators,
        "answers": r.n_ratings,
        "answers_without_label": table.n_missing,
        "duplicates": {"found": n_dup, "kept": duplicates if n_dup else None},
        "labels": [_jsonable(c) for c in r.classes],
        "per_label": per_label,
    }
    if note:
        out["note"] = note
    if pair_rows is not None:
        out["pair_metric"] = pair_metric
        out["pairs"] = pair_rows
    if gold_part is not None:
        out["gold"] = gold_part
    return out


# -- aggregation ----------------------------------------------------------------------------
