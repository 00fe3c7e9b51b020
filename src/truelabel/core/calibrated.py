"""Every aggregation's confidence goes through :func:`calibrate_fit` right after the fit.

It calibrates a result with :func:`truelabel.quality.calibration.calibrate` (cross-fitted on
gold where there is gold, the held-out-answer rule where there is none; see
``docs/quality.md``), refitting the same registered truth method when the rule needs a refit,
and :func:`calibration_summary` gives the JSON-able part for reports (ECE raw and calibrated,
reliability bins; never the per-item split, which names the gold items).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from truelabel.domain.errors import QualityError, UnknownComponent
from truelabel.domain.plugins import registry
from truelabel.quality import encode_ratings
from truelabel.quality.aggregate import AggregationResult
from truelabel.quality.calibration import calibrate
from truelabel.quality.encode import Ratings

__all__ = ["calibrate_fit", "calibration_summary", "labels_calibration"]


def calibrate_fit(
    result: AggregationResult,
    ratings: Ratings,
    *,
    method: str,
    gold: Mapping[Any, Hashable] | None,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    seed: int = 0,
    fitted_with_gold: bool | None = None,
) -> AggregationResult:
    """``result`` (the fit of the registered truth method ``method`` on ``ratings``) with a
    calibrated confidence. Refits (per gold fold when the method uses gold, once without one
    answer per item otherwise) run the registered method with the same gold; they keep the
    answer weights only on the full ratings (the held-out check drops them) and do not repeat
    caller-specific anchors (e.g. reviewed answers).

    ``auto``'s result is refitted with the method it chose (the choice is not re-made per
    fold). ``fitted_with_gold`` says whether the fit was given the gold answers (default: when
    the method needs or uses gold); then the gold folds are refitted without their own gold,
    so the confidence on a gold item is never one the item's own gold answer produced."""
    chosen = (result.params.get("auto") or {}).get("chosen")
    tm = registry.truth_methods.get(chosen or method)
    if fitted_with_gold is None:
        top = registry.truth_methods.get(method)
        fitted_with_gold = top.needs_gold or top.uses_gold
    with_gold = bool(gold) and fitted_with_gold

    def refit(r: Ratings, g: Mapping[Any, Hashable] | None) -> AggregationResult:
        weights = answer_weights if r.n_ratings == ratings.n_ratings else None
        res: AggregationResult = tm.fit(r, gold=g if with_gold else None,
                                        answer_weights=weights, seed=seed, warn=False)
        return res

    return calibrate(result, gold=dict(gold) if gold else None, seed=seed, refit=refit,
                     gold_in_fit=with_gold)


def _r(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _bins(bins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"lower": _r(b["lower"]), "upper": _r(b["upper"]), "count": b["count"],
             "mean_confidence": _r(b["mean_confidence"]), "accuracy": _r(b["accuracy"])}
            for b in bins]


def calibration_summary(result: AggregationResult) -> dict[str, Any]:
    """What was done to the confidence, JSON-able: ``method`` (``logistic``, ``temperature``,
    ``isotonic``, ``none``, ``heldout_temperature``), the fitted ``temperature`` or map, and on
    gold (out-of-fold) ``ece_raw``, ``ece_calibrated`` and both reliability ``bins``."""
    info = dict(result.params.get("calibration") or {})
    out: dict[str, Any] = {"method": info.get("method", "none")}
    for key in ("temperature", "logistic", "gold_items", "folds", "seed", "gold_in_fit",
                "hidden_answers", "note", "evaluated_on"):
        if key in info:
            out[key] = info[key]
    if "raw" in info:
        out["ece_raw"] = _r(info["raw"]["ece"])
        out["ece_calibrated"] = _r(info["calibrated"]["ece"])
        out["bins_raw"] = _bins(info["raw"]["bins"])
        out["bins_calibrated"] = _bins(info["calibrated"]["bins"])
    raw = result.params.get("raw_confidence")
    ok = result.codes >= 0
    if raw is not None and ok.any():
        out["mean_confidence_raw"] = _r(np.mean(np.asarray(raw)[ok]))
        out["mean_confidence"] = _r(np.mean(result.confidence[ok]))
    return out


def labels_calibration(
    items: Sequence[Any], annotators: Sequence[Any], labels: Sequence[Any],
    gold: Mapping[Any, Hashable], *, method: str = "majority",
) -> dict[str, Any]:
    """:func:`calibration_summary` of the registered truth ``method`` (``majority`` when
    unknown) fitted on long-format answers and calibrated on ``gold``; for the quality report.
    A fit the data cannot support gives ``method: none`` with the reason in ``note``."""
    if not items:
        return {"method": "none", "note": "no labels yet"}
    try:
        registry.truth_methods.get(method)
    except UnknownComponent:
        method = "majority"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm = registry.truth_methods.get(method)
            ratings = encode_ratings(list(items), list(annotators), list(labels))
            res = tm.fit(ratings, gold=dict(gold) if tm.needs_gold and gold else None,
                         warn=False)
            res = calibrate_fit(res, ratings, method=method, gold=gold)
    except QualityError as exc:
        return {"method": "none", "note": str(exc)}
    return {"aggregation": method, **calibration_summary(res)}
