"""Calibrated confidence: make an aggregator's confidence mean what it says, and measure it.

A confidence is *calibrated* when, among the items given confidence ``c``, a share ``c`` of the
labels is right. Dawid-Skene's posteriors are not: on real crowds they are over-confident (the
model assumes answers are independent given the truth, which crowds are not). This module
measures calibration and corrects it, for any
:class:`~truelabel.quality.aggregate.AggregationResult`.

Measuring — :func:`reliability_bins` and :func:`expected_calibration_error`: the items are
put in ``n_bins`` bins by confidence (``strategy="uniform"``: equal-width bins
``[0, 0.1), [0.1, 0.2), … [0.9, 1]``; ``"quantile"``: equal-mass bins of about the same number
of items); the ECE is the item-weighted mean of ``|accuracy − mean confidence|`` over the bins.

Correcting with gold — :func:`calibrate` with ``gold``. The candidate maps:

* ``temperature``: the posterior becomes ``p^(1/T)`` renormalised, with ``T`` minimising the
  negative log-likelihood of the gold labels (one parameter; ``T > 1`` softens);
* ``logistic`` (Platt): top-label confidence ``σ(a·logit(c) + b)``, log-loss with a small ridge
  towards the identity, confidences clipped to [1e-4, 1 − 1e-4] so a few certain-but-wrong
  items cannot drive it (they make the temperature explode);
* ``isotonic``: a non-decreasing map of the top-label confidence (pool-adjacent-violators,
  linear between the fitted points), considered only with at least :data:`ISOTONIC_MIN_GOLD`
  gold items (it has many free steps and overfits few items);
* ``none``: the raw confidence.

``method="auto"`` chooses the candidate with the lowest out-of-fold Brier score. The fit is
**cross-fitted**: the gold items are split into ``folds`` folds by a seeded permutation; each
gold item's calibrated confidence comes from a map fitted on the other folds (out-of-fold, so
the ECE reported on gold is honest), and the other items get the map fitted on all gold. With
``gold_in_fit=True`` (the aggregator itself used the gold, e.g. gold-anchored Dawid-Skene or a
gold-weighted vote) the gold items' raw confidences are themselves out-of-fold: the method is
refitted once per fold with that fold's gold hidden. The split (fold of every gold item, seed)
is recorded in ``params["calibration"]``.

Without gold — a held-out-answer check. One answer is hidden on every item with at least three
answers (seeded choice; on more than :data:`MAX_HELDOUT_ITEMS` such items, on a seeded sample
of that many, the refit seeing only their answers) and the method is refitted without them.
For each hidden answer the refitted model predicts it:
``Σ_k p_T(k | item) · P(answer | true k, annotator)``, with the annotator's confusion matrix
when the method estimates one and the one-coin model (their estimated accuracy, errors spread
evenly) otherwise. ``T ≥ 1`` is chosen to maximise the
log-likelihood of the hidden answers and applied to the full fit, and no confidence is ever
raised (``min(raw, calibrated)``). If the answer model is right, a calibrated posterior gives
``T = 1`` (the log score is proper), so ``T > 1`` measures over-confidence; the rule never
sharpens, so it cannot make an under-confident method look better than its evidence. Its limit:
it trusts the answer model; correlated annotator errors that the model does not know about stay
hidden. Gold is the only check that sees them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

import numpy as np

from .aggregate import AggregationResult
from .calibration_maps import (
    EPS,
    LOG_T,
    apply_isotonic,
    apply_logistic,
    apply_temperature,
    fit_isotonic,
    fit_logistic,
    fit_temperature,
    golden_section,
    paired_arrays,
)
from .encode import Ratings
from .errors import InvalidInput, QualityError

__all__ = [
    "ISOTONIC_MIN_GOLD",
    "MAPS",
    "MAX_HELDOUT_ITEMS",
    "MIN_GOLD",
    "apply_isotonic",
    "apply_logistic",
    "apply_temperature",
    "calibrate",
    "expected_calibration_error",
    "fit_isotonic",
    "fit_logistic",
    "fit_temperature",
    "reliability_bins",
]

#: Fewest answered gold items for a gold calibration; below it the no-gold rule applies.
MIN_GOLD = 20
#: Most items the no-gold held-out-answer check refits on (a seeded sample beyond).
MAX_HELDOUT_ITEMS = 20_000
#: Fewest answered gold items for ``method="auto"`` to consider the isotonic map.
ISOTONIC_MIN_GOLD = 500

Refit = Callable[[Ratings, Mapping[Any, Hashable] | None], AggregationResult]
Strategy = Literal["uniform", "quantile"]
#: The calibration maps fitted on gold.
MAPS = ("temperature", "logistic", "isotonic")


def reliability_bins(
    confidence: Any, correct: Any, *, n_bins: int = 10, strategy: Strategy = "uniform"
) -> list[dict[str, float | int]]:
    """Reliability-diagram bins: per bin ``lower``, ``upper``, ``count``,
    ``mean_confidence`` and ``accuracy`` (the last two ``NaN`` for an empty bin).

    ``strategy="uniform"``: equal-width bins over [0, 1], each closed on the left, the last
    also on the right. ``"quantile"``: bins cut at confidence quantiles (equal mass; ties may
    leave a bin empty). Items with a ``NaN`` confidence are left out.
    """
    if n_bins < 1:
        raise InvalidInput(f"n_bins must be at least 1, got {n_bins}.")
    c, y = paired_arrays(confidence, correct)
    if strategy == "uniform":
        edges = np.arange(n_bins + 1) / n_bins  # exact b/n: 0.6 falls in [0.6, 0.7)
    elif strategy == "quantile":
        edges = np.quantile(c, np.linspace(0.0, 1.0, n_bins + 1)) if c.size else \
            np.linspace(0.0, 1.0, n_bins + 1)
        edges[0], edges[-1] = min(edges[0], 0.0), max(edges[-1], 1.0)
    else:
        raise InvalidInput(f"Unknown strategy {strategy!r}; use 'uniform' or 'quantile'.")
    which = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    sum_c = np.bincount(which, weights=c, minlength=n_bins)
    sum_y = np.bincount(which, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c, acc = sum_c / count, sum_y / count
    return [
        {"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": int(count[b]),
         "mean_confidence": float(mean_c[b]), "accuracy": float(acc[b])}
        for b in range(n_bins)
    ]


def expected_calibration_error(
    confidence: Any, correct: Any, *, n_bins: int = 10, strategy: Strategy = "uniform"
) -> float:
    """ECE: the item-weighted mean over :func:`reliability_bins` of
    ``|accuracy − mean confidence|``; ``NaN`` when there are no items."""
    bins = reliability_bins(confidence, correct, n_bins=n_bins, strategy=strategy)
    n = sum(int(b["count"]) for b in bins)
    if not n:
        return float("nan")
    return float(sum(int(b["count"]) * abs(float(b["accuracy"]) - float(b["mean_confidence"]))
                     for b in bins if b["count"]) / n)


def _with_top(posterior: np.ndarray, codes: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The posterior with the chosen label's probability set to ``top``, the rest scaled."""
    out = np.array(posterior, dtype=float)
    rows = np.flatnonzero(codes >= 0)
    if rows.size == 0:
        return out
    rest = out[rows].sum(axis=1) - out[rows, codes[rows]]
    some = rest > 1e-9
    scale = np.where(some, (1.0 - top[rows]) / np.where(some, rest, 1.0), 0.0)
    out[rows] *= scale[:, None]
    k = out.shape[1]
    flat = ~some & (k > 1)  # (almost) nothing left to scale: spread the rest evenly
    if flat.any():
        out[rows[flat]] = ((1.0 - top[rows[flat]]) / (k - 1))[:, None]
    out[rows, codes[rows]] = top[rows]
    return out


def _top(posterior: np.ndarray, codes: np.ndarray) -> np.ndarray:
    conf = np.full(codes.shape[0], np.nan)
    ok = codes >= 0
    conf[ok] = posterior[np.flatnonzero(ok), codes[ok]]
    return conf


class _Map:
    """A fitted calibration map (temperature or isotonic) applied to posteriors."""

    def __init__(self, kind: str, posterior: np.ndarray, codes: np.ndarray,
                 truth: np.ndarray) -> None:
        self.kind = kind
        known = truth >= 0
        if kind == "none":
            pass
        elif kind == "temperature":
            self.temperature = fit_temperature(posterior[known], truth[known])
        elif kind == "logistic":
            self.coef = fit_logistic(_top(posterior, codes), codes == truth)
        else:
            self.knots = fit_isotonic(_top(posterior, codes), codes == truth)

    def posterior(self, posterior: np.ndarray, codes: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return np.array(posterior, dtype=float)
        if self.kind == "temperature":
            return apply_temperature(posterior, self.temperature)
        top = np.full(codes.shape[0], np.nan)
        ok = codes >= 0
        raw = _top(posterior, codes)[ok]
        top[ok] = apply_logistic(self.coef, raw) if self.kind == "logistic" else \
            apply_isotonic(self.knots, raw)
        return _with_top(posterior, codes, top)

    def describe(self) -> dict[str, Any]:
        if self.kind == "none":
            return {}
        if self.kind == "temperature":
            return {"temperature": round(self.temperature, 6)}
        if self.kind == "logistic":
            return {"logistic": {"a": round(self.coef[0], 6), "b": round(self.coef[1], 6)}}
        return {"isotonic": {"x": [round(float(v), 6) for v in self.knots[0]],
                             "y": [round(float(v), 6) for v in self.knots[1]]}}


def _gold_codes(result: AggregationResult, gold: Mapping[Any, Hashable]) -> np.ndarray:
    """Gold class code per item: -1 for no gold, -2 for a gold label outside the classes."""
    index = {c: k for k, c in enumerate(result.classes)}
    out = np.full(result.items.shape[0], -1, dtype=np.int64)
    if not gold:
        return out
    for row, item in enumerate(result.items.tolist()):
        if item in gold:
            out[row] = index.get(gold[item], -2)
    return out


def _ece_block(conf: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    return {"ece": round(expected_calibration_error(conf, correct), 6),
            "bins": reliability_bins(conf, correct)}


def calibrate(
    result: AggregationResult,
    *,
    gold: Mapping[Any, Hashable] | None = None,
    seed: int = 0,
    method: Literal["auto", "temperature", "logistic", "isotonic"] = "auto",
    refit: Refit | None = None,
    gold_in_fit: bool = False,
    folds: int = 5,
) -> AggregationResult:
    """The result with calibrated ``confidence`` and ``posterior`` (labels unchanged).

    Args:
        result: Any aggregator's result.
        gold: Item id → known label. With at least :data:`MIN_GOLD` answered gold items the
            confidence is calibrated on them (cross-fitted, see the module docstring);
            otherwise the no-gold held-out-answer rule applies.
        seed: Seeds the fold split and the choice of hidden answers.
        method: ``auto`` (the candidate map with the lowest out-of-fold Brier score) or one
            of :data:`MAPS`; the no-gold rule is always a temperature ≥ 1.
        refit: ``refit(ratings, gold)`` fits the same method with the same options again;
            needed for the no-gold rule and for ``gold_in_fit``. Without it and without gold
            the confidence is left as it is (``params["calibration"]["method"] == "none"``).
        gold_in_fit: The method used ``gold`` in its fit, so gold items' raw confidences must
            come from refits with their fold's gold hidden.
        folds: Number of cross-fitting folds (at most the number of gold items).

    Returns:
        A copy of ``result``: ``params["raw_confidence"]`` holds the raw confidence and
        ``params["calibration"]`` the method, fitted map, split and ECE before/after.
    """
    if method not in ("auto", *MAPS):
        raise InvalidInput(f"Unknown calibration method {method!r}; use auto, "
                           f"{', '.join(MAPS)}.", field="method")
    if folds < 2:
        raise InvalidInput(f"folds must be at least 2, got {folds}.", field="folds")
    truth = _gold_codes(result, gold or {})
    on_gold = np.flatnonzero((truth != -1) & (result.codes >= 0))
    kinds: list[str] = [method] if method != "auto" else [
        "none", "temperature", "logistic",
        *(["isotonic"] if on_gold.size >= ISOTONIC_MIN_GOLD else [])]
    if on_gold.size >= MIN_GOLD:
        if gold_in_fit and refit is None:
            raise InvalidInput("gold_in_fit needs refit=...: gold items' raw confidences must "
                               "come from fits that did not see their gold.", field="refit")
    note = (f"only {on_gold.size} answered gold items (fewer than {MIN_GOLD}); "
            if gold else "no gold; ")
    if on_gold.size < MIN_GOLD and refit is None:
        return _finish(result, result.posterior, {
            "method": "none", "note": note + "no refit given, so left uncalibrated"})
    try:
        if on_gold.size >= MIN_GOLD:
            return _calibrate_on_gold(result, gold or {}, truth, on_gold, kinds, seed, refit,
                                      gold_in_fit, folds)
        assert refit is not None
        return _calibrate_heldout(result, refit, gold, seed, note)
    except QualityError as exc:  # a refit on less data can fail (e.g. too few answers)
        return _finish(result, result.posterior, {
            "method": "none", "note": f"left uncalibrated: a refit failed ({exc})"})


def _finish(result: AggregationResult, posterior: np.ndarray, info: dict[str, Any],
            ceiling: bool = False) -> AggregationResult:
    raw = result.confidence
    conf = _top(posterior, result.codes)
    if ceiling:
        conf = np.where(np.isnan(raw), raw, np.minimum(conf, raw))
        posterior = _with_top(posterior, result.codes, conf)
    params = {**result.params, "raw_confidence": raw, "calibration": info}
    return dataclasses.replace(result, confidence=conf, posterior=posterior, params=params)


def _calibrate_on_gold(
    result: AggregationResult, gold: Mapping[Any, Hashable], truth: np.ndarray,
    on_gold: np.ndarray, kinds: list[str], seed: int, refit: Refit | None, gold_in_fit: bool,
    folds: int,
) -> AggregationResult:
    k = min(folds, on_gold.size)
    fold = np.random.default_rng(seed).permutation(on_gold.size) % k
    # raw out-of-fold posteriors and labels of the gold items
    post, codes = result.posterior[on_gold].copy(), result.codes[on_gold].copy()
    if gold_in_fit and refit is not None:
        for f in range(k):
            hidden = set(result.items[on_gold[fold == f]].tolist())
            res_f = refit(result.ratings, {i: v for i, v in gold.items() if i not in hidden})
            rows = fold == f
            post[rows], codes[rows] = res_f.posterior[on_gold[rows]], res_f.codes[on_gold[rows]]
    t = truth[on_gold]
    correct = codes == t
    scores: dict[str, float] = {}
    best: tuple[float, str, np.ndarray] | None = None
    for kind in kinds:
        oof = np.empty_like(post)
        for f in range(k):
            test = fold == f
            oof[test] = _Map(kind, post[~test], codes[~test], t[~test]).posterior(
                post[test], codes[test])
        scores[kind] = float(np.mean((_top(oof, codes) - correct) ** 2))
        if best is None or scores[kind] < best[0] - 1e-12:
            best = (scores[kind], kind, oof)
    assert best is not None
    _, kind, oof = best
    full = _Map(kind, post, codes, t)
    posterior = full.posterior(result.posterior, result.codes)
    if not gold_in_fit:  # gold items: their out-of-fold calibration
        posterior[on_gold] = oof
    items = result.items[on_gold].tolist()
    info = {
        "method": kind, **full.describe(), "gold_items": int(on_gold.size), "folds": k,
        "seed": seed, "gold_in_fit": gold_in_fit,
        "split": {"fold": dict(zip(items, fold.tolist(), strict=True))},
        "raw": _ece_block(_top(post, codes), correct),
        "calibrated": _ece_block(_top(oof, codes), correct),
        "evaluated_on": "gold items, out-of-fold",
        "brier_out_of_fold": {n: round(v, 6) for n, v in scores.items()},
    }
    return _finish(result, posterior, info)


def _hide_one(r: Ratings, seed: int) -> tuple[Ratings, np.ndarray, np.ndarray]:
    """Ratings with one answer hidden on every item with ≥ 3 answers; the hidden rows. Past
    :data:`MAX_HELDOUT_ITEMS` such items, a seeded sample of that many items (with all their
    answers) is kept instead of the whole set, so the refit costs the same at any size. Also
    the unit code of every original unit in the returned ratings (-1 when left out)."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(r.unit, minlength=r.n_units)
    eligible = np.flatnonzero(counts >= 3)
    unit_map = np.arange(r.n_units)
    if eligible.size > MAX_HELDOUT_ITEMS:
        sample = np.sort(rng.choice(eligible, size=MAX_HELDOUT_ITEMS, replace=False))
        unit_map = np.full(r.n_units, -1)
        unit_map[sample] = np.arange(sample.size)
        in_sample = np.zeros(r.n_units, dtype=bool)  # a byte per unit: no answer-sized int temp
        in_sample[sample] = True
        rows = np.flatnonzero(in_sample[r.unit])
    else:
        rows = np.arange(r.n_ratings)
    unit = r.unit[rows]
    order = np.lexsort((rng.random(rows.size), unit))
    units = unit[order]
    first = np.ones(units.size, dtype=bool)
    first[1:] = units[1:] != units[:-1]
    hidden = rows[order[first & (counts[units] >= 3)]]
    keep = np.zeros(r.n_ratings, dtype=bool)
    keep[rows] = True
    keep[hidden] = False
    kept = dataclasses.replace(r, unit=unit_map[r.unit[keep]], annotator=r.annotator[keep],
                               label=r.label[keep], units=r.units[unit_map >= 0])
    return kept, hidden, unit_map


def _answer_probs(res: AggregationResult, annotator: np.ndarray, label: np.ndarray
                  ) -> np.ndarray:
    """P(answer = label | true k) per hidden answer, ``(n, n_classes)``."""
    if res.confusion is not None:
        return np.asarray(res.confusion[annotator, :, label], dtype=float)
    k = len(res.classes)
    acc = np.clip(np.nan_to_num(res.annotator_accuracy[annotator], nan=1.0 / k), 0.01, 0.99)
    out = np.repeat(((1.0 - acc) / max(k - 1, 1))[:, None], k, axis=1)
    out[np.arange(label.size), label] = acc
    return out


def _calibrate_heldout(result: AggregationResult, refit: Refit,
                       gold: Mapping[Any, Hashable] | None, seed: int, note: str
                       ) -> AggregationResult:
    kept, hidden, unit_map = _hide_one(result.ratings, seed)
    info: dict[str, Any] = {"method": "heldout_temperature", "seed": seed,
                            "hidden_answers": int(hidden.size)}
    if hidden.size == 0:
        info.update(method="none", note=note + "no item has 3 or more answers to hold one out")
        return _finish(result, result.posterior, info)
    res_h = refit(kept, gold)
    unit = unit_map[result.ratings.unit[hidden]]
    ok = res_h.codes[unit] >= 0
    unit, who, lab = unit[ok], result.ratings.annotator[hidden][ok], \
        result.ratings.label[hidden][ok]
    like = _answer_probs(res_h, who, lab)
    post = res_h.posterior[unit]

    def nll(log_t: float) -> float:
        p = (apply_temperature(post, float(np.exp(log_t))) * like).sum(axis=1)
        return float(-np.log(np.clip(p, EPS, 1.0)).sum())

    fitted = float(np.exp(golden_section(nll, 0.0, LOG_T[1])))
    temperature = max(1.0, fitted)
    info.update(temperature=round(temperature, 6), note=note + (
        "temperature ≥ 1 that best predicts one held-out answer per item; never raises a "
        "confidence"))
    return _finish(result, apply_temperature(result.posterior, temperature), info, ceiling=True)
