"""``auto``: pick the truth-inference method per data set by a held-out criterion.

Candidates are every registered :class:`~truelabel.quality.methods.TruthMethod` that has an
``answer_model`` and does not need gold (majority vote is one of them: its implicit model is
one accuracy shared by every annotator), so a plug-in method joins by registering itself.

**Without gold** (or with fewer than :data:`MIN_GOLD` answered gold items) the criterion is the
held-out *answer* log-likelihood. On every item with at least two answers one answer (drawn at
random) is always kept; every other answer is dealt at random into one of :data:`FOLDS`
folds. For each fold, each candidate is fitted on the answers outside the fold, and each held-out
answer j (annotator a, item i, label l) is scored by the predictive probability
``Σ_k posterior[i, k] · P(l | k, a)``: the item posterior from the item's remaining answers and
the candidate's answer model. The score is the mean log probability per held-out answer
(answer-weighted), each probability floored at ``1e-6`` so one confident miss costs a bounded
``log 1e-6 ≈ -13.8``. Every eligible answer is held out exactly once; the draw is seeded.

**With gold** (at least :data:`MIN_GOLD` answered gold items) the criterion is held-out gold
accuracy (ties: held-out gold log-likelihood of the posterior, floored the same way), by
:data:`FOLDS`-fold cross-validation over the gold items: each candidate is fitted with the
other folds' gold (methods that use gold anchor on it) and scored on the fold's gold items.

Large data: the criterion is computed on a seeded random share of the items holding about
:data:`MAX_CRITERION_ANSWERS` answers (every gold item is kept), recorded as ``subsample``;
the chosen method is then fitted on everything. This bounds the cost of the choice (about
20 extra fits of that size) however large the file.

Majority vote wins unless a candidate scores strictly higher, so the choice is never worse
than majority vote on the criterion. The chosen method is then fitted on all the data; its
result carries ``params["auto"]``: the criterion, every candidate's score, the choice, the
folds and the seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from truelabel.domain.plugins import registry

from .aggregate import AggregationResult, checked_answer_weights, gold_codes
from .encode import Ratings, RatingsLike, as_ratings
from .errors import QualityError
from .methods import TruthMethod

__all__ = ["AUTO", "FOLDS", "MAX_CRITERION_ANSWERS", "MIN_GOLD", "auto", "candidates"]

FOLDS = 5
MIN_GOLD = 10
MAX_CRITERION_ANSWERS = 200_000
_FLOOR = 1e-6
BASELINE = "majority"


def candidates() -> dict[str, TruthMethod]:
    """Registered methods auto chooses among, by alias (or registered name)."""
    out: dict[str, TruthMethod] = {}
    for name, tm in registry.truth_methods.all().items():
        if isinstance(tm, TruthMethod) and tm.answer_model is not None and not tm.needs_gold:
            out[tm.name or name] = tm
    return out


def _subset(r: Ratings, rows: np.ndarray) -> Ratings:
    return Ratings(r.unit[rows], r.annotator[rows], r.label[rows], r.units, r.annotators,
                   r.classes)


def _answer_folds(r: Ratings, rng: np.random.Generator) -> np.ndarray:
    """Fold number per answer row; -1 for answers never held out (one per item)."""
    n = r.unit.shape[0]
    order = rng.permutation(n)
    # the first answer of each item in the random order is the one kept
    first = np.zeros(n, dtype=bool)
    _, idx = np.unique(r.unit[order], return_index=True)
    first[order[idx]] = True
    folds = np.asarray(rng.integers(0, FOLDS, size=n), dtype=np.int64)
    folds[first] = -1
    return folds


def _fit(tm: TruthMethod, r: Ratings, gold: Mapping[Any, Hashable] | None,
         weights: np.ndarray | None, options: dict[str, Any]) -> AggregationResult | None:
    try:
        return tm.fit(r, gold=gold or None, answer_weights=weights, warn=False, **options)
    except QualityError:
        return None  # e.g. not enough overlap in this fold: the candidate sits this one out


def _answer_scores(r: Ratings, cands: dict[str, TruthMethod], weights: np.ndarray | None,
                   options: dict[str, dict[str, Any]], seed: int
                   ) -> tuple[dict[str, float | None], int]:
    folds = _answer_folds(r, np.random.default_rng(seed))
    held_total = int((folds >= 0).sum())
    total = dict.fromkeys(cands, 0.0)
    mass = dict.fromkeys(cands, 0.0)
    for f in range(FOLDS):
        held = np.flatnonzero(folds == f)
        if not held.size:
            continue
        train = np.flatnonzero(folds != f)
        sub = _subset(r, train)
        w_train = None if weights is None else weights[train]
        w_held = np.ones(held.size) if weights is None else weights[held]
        for name, tm in cands.items():
            res = None if total[name] is None else _fit(tm, sub, None, w_train, options[name])
            if res is None:
                total[name] = None  # type: ignore[assignment]
                continue
            assert tm.answer_model is not None
            unit, ann, lab = r.unit[held], r.annotator[held], r.label[held]
            model = tm.answer_model(res, unit, ann)  # (n, true, answered)
            p_lab = model[np.arange(held.size), :, lab]  # (n, true)
            pred = (res.posterior[unit] * p_lab).sum(axis=1)
            total[name] += float((w_held * np.log(np.maximum(pred, _FLOOR))).sum())
            mass[name] += float(w_held.sum())
    return ({n: (None if total[n] is None or not mass[n] else total[n] / mass[n])
             for n in cands}, held_total)


def _gold_scores(r: Ratings, gold: Mapping[Any, Hashable], cands: dict[str, TruthMethod],
                 weights: np.ndarray | None, options: dict[str, dict[str, Any]], seed: int
                 ) -> tuple[dict[str, tuple[float, float] | None], int]:
    g_items, g_labels = gold_codes(r, gold)
    answered = np.bincount(r.unit, minlength=r.n_units)[g_items] > 0
    g_items, g_labels = g_items[answered], g_labels[answered]
    fold = np.random.default_rng(seed).permutation(g_items.shape[0]) % FOLDS
    hits = dict.fromkeys(cands, 0.0)
    logl: dict[str, float | None] = dict.fromkeys(cands, 0.0)
    for f in range(FOLDS):
        test = fold == f
        train_gold = {r.units[i]: r.classes[c] for i, c in
                      zip(g_items[~test].tolist(), g_labels[~test].tolist(), strict=True)}
        for name, tm in cands.items():
            res = None if logl[name] is None else _fit(tm, r, train_gold, weights, options[name])
            if res is None:
                logl[name] = None
                continue
            hits[name] += float((res.codes[g_items[test]] == g_labels[test]).sum())
            p = res.posterior[g_items[test], g_labels[test]]
            logl[name] = (logl[name] or 0.0) + float(np.log(np.maximum(p, _FLOOR)).sum())
    n = g_items.shape[0]
    return ({m: None if (v := logl[m]) is None else (hits[m] / n, v / n) for m in cands}, n)


def _subsample(r: Ratings, weights: np.ndarray | None, gold: Mapping[Any, Hashable] | None,
               seed: int) -> tuple[Ratings, np.ndarray | None, dict[str, int]]:
    """A seeded random share of the items with about MAX_CRITERION_ANSWERS answers, every
    gold item kept."""
    rng = np.random.default_rng([seed, 1])
    keep = rng.random(r.n_units) < MAX_CRITERION_ANSWERS / r.n_ratings
    if gold:
        keep[gold_codes(r, gold)[0]] = True
    keep &= np.bincount(r.unit, minlength=r.n_units) > 0
    rows = np.flatnonzero(keep[r.unit])
    code = np.cumsum(keep) - 1  # old item code -> code among the kept items
    sub = Ratings(code[r.unit[rows]], r.annotator[rows], r.label[rows], r.units[keep],
                  r.annotators, r.classes)
    return (sub, None if weights is None else weights[rows],
            {"items": int(keep.sum()), "answers": int(rows.size)})


def _n_answered_gold(r: Ratings, gold: Mapping[Any, Hashable] | None) -> int:
    if not gold:
        return 0
    g_items, _ = gold_codes(r, gold)
    return int((np.bincount(r.unit, minlength=r.n_units)[g_items] > 0).sum())


def auto(
    ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None, max_iter: int | None = None,
    tol: float | None = None, seed: int = 0, warn: bool = True,
) -> AggregationResult:
    """Fit the candidate that scores best on the held-out criterion (module docstring).

    ``max_iter``/``tol`` apply to the iterative candidates; ``seed`` draws the folds. The
    result is the chosen method's, with ``params["auto"]`` recording the choice.
    """
    r = as_ratings(ratings)
    weights = checked_answer_weights(r, answer_weights)
    cands = candidates()
    options: dict[str, Any] = {}
    if max_iter is not None:
        options["max_iter"] = max_iter
    if tol is not None:
        options["tol"] = tol
    iter_opts = {n: (options if tm.iterative else {}) for n, tm in cands.items()}
    n_gold = _n_answered_gold(r, gold)
    record: dict[str, Any] = {"folds": FOLDS, "seed": seed, "baseline": BASELINE,
                              "candidates": sorted(cands)}
    full, full_weights = r, weights
    if r.n_ratings > MAX_CRITERION_ANSWERS:
        r, weights, record["subsample"] = _subsample(r, weights, gold, seed)
    scores: Mapping[str, Any]  # float per candidate, or (accuracy, log-lik) with gold
    if n_gold >= MIN_GOLD and gold:
        record["criterion"] = "held-out gold accuracy (ties: gold log-likelihood)"
        scores, record["gold_items"] = _gold_scores(r, gold, cands, weights, iter_opts, seed)
    else:
        record["criterion"] = "held-out answer log-likelihood per answer"
        if gold:
            record["note"] = (f"only {n_gold} answered gold item(s), fewer than {MIN_GOLD}: "
                              "scored on held-out answers instead")
        scores, record["held_out_answers"] = _answer_scores(r, cands, weights, iter_opts, seed)
    chosen = BASELINE if BASELINE in cands else next(iter(cands))
    for name in sorted(cands):
        s: Any = scores.get(name)
        best: Any = scores.get(chosen)
        if s is not None and (best is None or s > best):  # floats, or (accuracy, log-lik)
            chosen = name
    record["scores"] = {n: (list(s) if isinstance(s, tuple) else s) for n, s in scores.items()}
    record["chosen"] = chosen
    tm = cands[chosen]
    res = tm.fit(full, gold=gold, answer_weights=full_weights, seed=seed, warn=warn,
                 **iter_opts[chosen])
    return replace(res, method=f"auto:{res.method}", params={**res.params, "auto": record})


AUTO = TruthMethod("auto", auto, iterative=True, uses_gold=True,
                   summary="picks the method with the best held-out likelihood (gold accuracy "
                           "with gold); never below majority vote on that criterion")
