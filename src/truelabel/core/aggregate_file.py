"""``truelabel aggregate`` on answer files from any tool: one label per item from a long-format
answers file (item, annotator, label), by any registered truth-inference method, with a
calibrated confidence (see :mod:`truelabel.core.answers` for agreement)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from truelabel import quality as q
from truelabel.domain.errors import InvalidInput
from truelabel.formats.answers import (
    out_format,
    write_table,
)
from truelabel.quality.methods import TruthMethod

from .answer_common import (
    _choice,
    _engine_errors,
    _gold_section,
    _jsonable,
    _load,
    _num,
    _ratings,
    _sample,
    _shown,
    _union_classes,
)
from .calibrated import calibrate_fit, calibration_summary
from .inference import DEFAULT_METHOD, fit_report, resolve_method, run_method

__all__ = ["aggregate_from_file"]

TIES = ("lowest", "random")


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
