"""Every aggregation's confidence goes through :func:`calibrate_fit` right after the fit.

It calibrates a result with :func:`truelabel.quality.calibration.calibrate` (cross-fitted on
gold where there is gold, the held-out-answer rule where there is none; see
``docs/quality.md``), refitting the same registered truth method when the rule needs a refit,
and :func:`calibration_summary` gives the JSON-able part for reports (ECE raw and calibrated,
reliability bins; never the per-item split, which names the gold items).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from truelabel.domain.plugins import registry
from truelabel.quality.aggregate import AggregationResult
from truelabel.quality.calibration import calibrate
from truelabel.quality.encode import Ratings

__all__ = ["calibrate_fit", "calibration_summary"]


def calibrate_fit(
    result: AggregationResult,
    ratings: Ratings,
    *,
    method: str,
    gold: Mapping[Any, Hashable] | None,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    seed: int = 0,
) -> AggregationResult:
    """``result`` (the fit of the registered truth method ``method`` on ``ratings``) with a
    calibrated confidence. Refits (per gold fold when the method uses gold, once without one
    answer per item otherwise) run the registered method with the same gold; they keep the
    answer weights only on the full ratings (the held-out check drops them) and do not repeat
    caller-specific anchors (e.g. reviewed answers)."""
    tm = registry.truth_methods.get(method)

    def refit(r: Ratings, g: Mapping[Any, Hashable] | None) -> AggregationResult:
        weights = answer_weights if r.n_ratings == ratings.n_ratings else None
        return tm.fit(r, gold=g if tm.needs_gold else None, answer_weights=weights,
                      seed=seed, warn=False)

    return calibrate(result, gold=dict(gold) if gold else None, seed=seed, refit=refit,
                     gold_in_fit=tm.needs_gold)


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
