"""Agreement and aggregation on answer files from any tool (``truelabel agreement/aggregate``).

Reads a long-format answers file (item, annotator, label) and optionally a gold file with
:mod:`truelabel.formats.answers`, runs the engines of :mod:`truelabel.quality` and returns plain,
JSON-able dicts. Engine errors (:class:`truelabel.quality.QualityError`) come out as
:class:`truelabel.domain.errors.InvalidInput` with the same message.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
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
    out_format,
    read_answers,
    read_gold,
    write_table,
)
from truelabel.quality.methods import TruthMethod

from .calibrated import calibrate_fit, calibration_summary
from .inference import DEFAULT_METHOD, fit_report, resolve_method, run_method

__all__ = [
    "AGGREGATION_METHODS",
    "LEVELS",
    "METRICS",
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
TIES = ("lowest", "random")
DUPLICATES = ("first", "last", "error")

_METRIC_NAMES = {
    "alpha": "Krippendorff's alpha",
    "fleiss": "Fleiss' kappa",
    "cohen": "Cohen's kappa",
    "percent": "percent agreement",
}


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


def aggregate_from_file(
    path: str | Path,
    *,
    method: str = DEFAULT_METHOD,
    gold: str | Path | None = None,
    out: str | Path | None = None,
    tie: str = "lowest",
    seed: int = 0,
    max_iter: int | None = None,
    tol: float | None = None,
    item_col: str | None = None,
    annotator_col: str | None = None,
    label_col: str | None = None,
    gold_item_col: str | None = None,
    gold_label_col: str | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """One label per item from an answers file, with its confidence.

    Args:
        path: Long-format answers (CSV/TSV, JSONL, Parquet): item, annotator, label.
        method: A registered truth-inference method (``registry.truth_methods``): ``auto``
            (default: the method with the best held-out score, see docs/quality.md),
            ``majority`` (vote share as confidence), ``weighted`` (votes weighted by each
            annotator's accuracy on gold; needs ``gold``), ``dawid_skene`` (EM over confusion
            matrices), ``gold_dawid_skene`` (Dawid-Skene with gold items fixed; needs
            ``gold``), ``one_coin``, ``bayesian_dawid_skene``, or a plug-in's. With
            ``weighted``, an item whose annotators all scored 0 on gold gets the unweighted
            vote, flagged ``unweighted_fallback`` (per item and counted).
        gold: Optional gold file (item, label): adds accuracy on gold and per-annotator gold
            accuracy.
        out: Write the per-item labels here (``.csv``, ``.jsonl`` or ``.parquet``), atomically.
        tie: ``lowest`` (first label in sorted order) or ``random`` (seeded) among labels
            tied for the top posterior.
        seed: Seed for ``tie="random"`` and for ``auto``'s held-out folds.
        max_iter: Iterative methods: at most this many iterations (default: the method's).
        tol: Iterative methods: stop when the objective (per answer) improves by at most
            this much; 0 runs to a fixed point or ``max_iter``.
        item_col: Item column; default ``item`` or an alias.
        annotator_col: Annotator column; default ``annotator`` or an alias.
        label_col: Label column; default ``label`` or an alias.
        gold_item_col: Item column of the gold file.
        gold_label_col: Label column of the gold file.
        field: The question to aggregate in a file of several (a ``field`` column).

    Returns:
        A JSON-able dict: summary counts, ``annotators`` (estimated accuracy; gold accuracy
        with gold), ``gold`` (accuracy of the aggregated labels on gold items), the fit
        (``iterations``, ``converged``, ``objective``, ``objective_trace``; ``auto``: the
        choice and every candidate's score) and ``results`` (one row per item: ``item``,
        ``label``, ``confidence``, ``answers``, ``tied``, and ``unweighted_fallback`` with
        ``weighted``).

    Raises:
        InvalidInput: a bad option, a file problem (file and line named), a method that needs
            gold without it, or data the method cannot use (e.g. Dawid-Skene with one
            annotator: use majority).
    """
    tm = resolve_method(method)
    _choice("tie", tie, TIES)
    if tm.needs_gold and gold is None:
        raise InvalidInput(
            f"Method {method} needs known answers: pass --gold FILE (item, label columns), or "
            "use majority or dawid_skene.",
            field="method",
        )
    if out is not None:
        out_format(out)  # fail before the work on an unknown suffix
    table, g, labels, gold_labels = _load(
        path, gold, item_col=item_col, annotator_col=annotator_col, label_col=label_col,
        gold_item_col=gold_item_col, gold_label_col=gold_label_col, field=field,
    )
    with _engine_errors():
        classes = _union_classes(labels, gold_labels) if g is not None else None
        r = _ratings(table, labels, classes=classes)
        gold_part = scores = None
        if g is not None:
            gold_part, scores = _gold_section(r, g, gold_labels)
            if tm.needs_gold and not gold_part["items_answered"]:
                raise InvalidInput(f"Method {method} needs gold items that were answered; "
                                   f"{gold_part['note']}.", field="gold")
    known = gold_labels if tm.needs_gold or tm.uses_gold else None  # else gold only scores
    res = run_method(method, r, gold=known or None, max_iter=max_iter, tol=tol, seed=seed,
                     tie=tie)
    # the fitted result: one place to post-process it (e.g. calibrate its confidences)
    res = calibrate_fit(res, r, method=method, gold=gold_labels, seed=seed,
                        fitted_with_gold=bool(known))
    items = [_jsonable(i) for i in res.items.tolist()]
    shown = [_shown(table, c) for c in res.classes]
    out_labels = [shown[c] if c >= 0 else None for c in res.codes.tolist()]
    conf = [_num(c) for c in res.confidence.tolist()]
    n_answers = [int(n) for n in res.n_answers.tolist()]
    tied = [bool(t) for t in res.tied.tolist()]
    has_label = res.codes >= 0
    fallback = res.params.get("unweighted_fallback")
    no_label = [i for i, lab in zip(items, out_labels, strict=True) if lab is None]
    given = np.bincount(r.annotator, minlength=r.n_annotators)
    annotators: list[dict[str, Any]] = []
    for k, a in enumerate(r.annotators.tolist()):
        row: dict[str, Any] = {
            "annotator": _jsonable(a),
            "answers": int(given[k]),
            "estimated_accuracy": _num(res.annotator_accuracy[k], 4),
        }
        if scores is not None:
            row["gold_answers"] = int(scores.n_gold[k])
            row["gold_accuracy"] = _num(scores.accuracy[k], 4)
        annotators.append(row)
    if gold_part is not None:
        scored = [(lab, gold_labels[i]) for i, lab in zip(items, out_labels, strict=True)
                  if lab is not None and i in gold_labels]
        gold_part["items_scored"] = len(scored)
        gold_part["correct"] = sum(1 for a, b in scored if a == b)
        gold_part["accuracy"] = _num(gold_part["correct"] / len(scored), 4) if scored else None
        gold_part.update(_gold_note(tm, res))
    columns: dict[str, list[Any]] = {
        "item": items, "label": out_labels, "confidence": conf, "answers": n_answers,
        "tied": tied,
    }
    if fallback is not None:  # items whose annotators all weigh 0: the unweighted vote
        columns["unweighted_fallback"] = [bool(x) for x in fallback.tolist()]
    written = None
    if out is not None:
        write_table(out, columns)
        written = str(out)
    summary: dict[str, Any] = {
        "file": table.path,
        "columns": table.columns,
        "method": method,
        "engine": res.method,
        "items": len(items),
        "items_labelled": int(has_label.sum()),
        "items_without_label": len(no_label),
        "items_without_label_sample": _sample(no_label),
        "answers": r.n_ratings,
        "answers_without_label": table.n_missing,
        "annotators_count": r.n_annotators,
        "labels": [_shown(table, c) for c in r.classes],
        "mean_confidence": _num(res.confidence[has_label].mean(), 4) if has_label.any()
        else None,
        "tied": int(res.tied.sum()),
        "calibration": calibration_summary(res),
        **fit_report(res),
        "annotators": annotators,
        "out": written,
        "results": [dict(zip(columns, row, strict=True))
                    for row in zip(*columns.values(), strict=True)],
    }
    if "default_weight" in res.params:
        summary["default_weight"] = _num(res.params["default_weight"], 4)
    if fallback is not None:
        summary["unweighted_fallback"] = int(fallback.sum())
    if gold_part is not None:
        summary["gold"] = gold_part
    return summary


def _gold_note(tm: TruthMethod, res: q.AggregationResult) -> dict[str, str]:
    """Why accuracy on gold is optimistic when the method used the gold items (to fit, to
    anchor or, for auto, to choose)."""
    if tm.needs_gold or tm.uses_gold:
        return {"note": f"{res.method} used these gold items, so this is optimistic"}
    return {}
