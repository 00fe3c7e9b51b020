"""Shared machinery of the per-answer EM aggregators (GLAD, MACE): input checks, the E-step
over integer codes and the result.

Both models give every answer ``j`` (item ``i``, label ``l``) a likelihood that depends on the
true class ``k`` only through whether ``k == l``::

    log P(answer j | z_i = k) = wrong[j] + 1[k == l] * (right[j] - wrong[j])

so the E-step is two ``bincount`` scatters: ``log q_i(k) = log p_k + Σ_j wrong[j] +
Σ_{j: l_j = k} (right[j] - wrong[j])``, normalised with log-sum-exp. Gold items keep a one-hot
posterior on their known label (their class is observed, so their term in the objective is
the complete-data log-likelihood).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .aggregate import AggregationResult, checked_answer_weights, choose, gold_codes
from .encode import Ratings, RatingsLike, as_ratings
from .errors import ConvergenceWarning, InvalidInput, NotEnoughData

__all__ = ["CrowdData", "as_fit", "e_step", "finish", "prepare"]

TINY = 1e-300


@dataclass(frozen=True, eq=False)
class CrowdData:
    """Encoded answers ready for EM (``weight`` is all ones without answer weights)."""

    r: Ratings
    unit: np.ndarray
    ann: np.ndarray
    lab: np.ndarray
    weight: np.ndarray
    weighted: bool
    n_items: int
    n_ann: int
    k: int
    has: np.ndarray
    n_answers: np.ndarray
    g_items: np.ndarray
    g_labels: np.ndarray

    @property
    def n(self) -> int:
        return int(self.unit.shape[0])

    def vote_shares(self) -> np.ndarray:
        """``(n_items, k)`` weighted vote shares (the usual EM starting point), gold clamped."""
        votes = np.bincount(self.unit * self.k + self.lab, weights=self.weight,
                            minlength=self.n_items * self.k).reshape(self.n_items, self.k)
        post = votes / np.maximum(votes.sum(axis=1, keepdims=True), TINY)
        return self.clamp(post)

    def clamp(self, post: np.ndarray) -> np.ndarray:
        post[self.g_items] = 0.0
        post[self.g_items, self.g_labels] = 1.0
        return post


def prepare(
    method: str, ratings: RatingsLike, gold: Mapping[Any, Hashable] | None,
    answer_weights: Sequence[float] | np.ndarray | None, max_iter: int, tol: float,
) -> CrowdData:
    """Check the options and the data and encode them.

    Raises:
        InvalidInput: ``max_iter`` < 1, negative or non-finite ``tol``, bad answer weights.
        NotEnoughData: no answers, or no item answered by two different annotators.
        UnknownLabel: a gold label outside the classes.
    """
    if int(max_iter) != max_iter or max_iter < 1:
        raise InvalidInput(f"{method}: max_iter must be a whole number of at least 1; got "
                           f"{max_iter!r}.")
    if not (np.isfinite(tol) and tol >= 0):
        raise InvalidInput(f"{method}: tol must be a finite number >= 0 (0 runs max_iter "
                           f"iterations); got {tol!r}.")
    r = as_ratings(ratings)
    unit, ann, lab = r.unit, r.annotator, r.label
    n_items, n_ann, k = r.n_units, r.n_annotators, max(r.n_classes, 1)
    if unit.shape[0] == 0:
        raise NotEnoughData(f"{method} needs answers; got none. Collect labels before "
                            "aggregating.")
    lo = np.full(n_items, n_ann)
    hi = np.full(n_items, -1)
    np.minimum.at(lo, unit, ann)
    np.maximum.at(hi, unit, ann)
    if not (hi > lo).any():
        raise NotEnoughData(
            f"{method} needs at least two annotators who labelled some of the same items; no "
            "item has answers from two of them. Use majority_vote instead, or collect "
            "overlapping labels."
        )
    w = checked_answer_weights(r, answer_weights)
    n_answers = np.bincount(unit, minlength=n_items)
    if gold:
        g_items, g_labels = gold_codes(r, gold)
    else:
        g_items = g_labels = np.zeros(0, dtype=np.int64)
    return CrowdData(
        r=r, unit=unit, ann=ann, lab=lab, weight=np.ones(unit.shape[0]) if w is None else w,
        weighted=w is not None, n_items=n_items, n_ann=n_ann, k=k, has=n_answers > 0,
        n_answers=n_answers, g_items=g_items, g_labels=g_labels,
    )


def e_step(
    d: CrowdData, right: np.ndarray, wrong: np.ndarray, log_prior: np.ndarray
) -> tuple[np.ndarray, float]:
    """Posterior ``(n_items, k)`` and the log-likelihood of the answers (summed over items with
    answers; gold items contribute their complete-data term).

    ``right``/``wrong`` are each answer's log-likelihood when the true class is / is not the
    label it gave (already multiplied by the answer weight)."""
    k = d.k
    base = np.bincount(d.unit, weights=wrong, minlength=d.n_items)
    bonus = np.bincount(d.unit * k + d.lab, weights=right - wrong,
                        minlength=d.n_items * k).reshape(d.n_items, k)
    log_joint = bonus + base[:, None] + log_prior[None, :]
    top = log_joint.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1))
    post = np.exp(log_joint - log_norm[:, None])
    post[~d.has] = 0.0
    log_norm[~d.has] = 0.0
    if d.g_items.shape[0]:
        log_norm[d.g_items] = log_joint[d.g_items, d.g_labels]
        post = d.clamp(post)
    return post, float(log_norm.sum())


def finish(
    method: str, d: CrowdData, post: np.ndarray, *, prior: np.ndarray,
    annotator_accuracy: np.ndarray, n_iter: int, converged: bool, trace: list[float],
    params: Mapping[str, Any], max_iter: int, tol: float, warn: bool,
) -> AggregationResult:
    """Build the result (labels by highest posterior, ties to the lowest code) and warn when
    EM stopped at ``max_iter``."""
    if not converged and warn and tol > 0:
        warnings.warn(
            f"{method} stopped after max_iter={max_iter} iterations without reaching "
            f"tol={tol}. Raise max_iter or tol; the labels are usually already stable.",
            ConvergenceWarning, stacklevel=3,
        )
    codes, tied = choose(post)
    confidence = np.full(d.n_items, np.nan)
    ok = codes >= 0
    confidence[ok] = post[ok, codes[ok]]
    name = method + ("+gold" if d.g_items.shape[0] else "")
    return AggregationResult(
        method=name, items=d.r.units, codes=codes, confidence=confidence, posterior=post,
        classes=d.r.classes, annotators=d.r.annotators, annotator_accuracy=annotator_accuracy,
        n_answers=d.n_answers, tied=tied, ratings=d.r, prior=prior, n_iter=n_iter,
        converged=converged, objective_trace=tuple(trace), params=dict(params),
    )


def per_answer_mean(d: CrowdData, values: np.ndarray) -> np.ndarray:
    """Each annotator's (weighted) mean of a per-answer value; NaN without answers."""
    num = np.bincount(d.ann, weights=values * d.weight, minlength=d.n_ann)
    den = np.bincount(d.ann, weights=d.weight, minlength=d.n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def check_prior(method: str, name: str, value: float, minimum: float) -> None:
    if not (np.isfinite(value) and value >= minimum):
        raise InvalidInput(f"{method}: {name} must be a finite number >= {minimum:g}; got "
                           f"{value!r}.")


def as_fit(fn: Callable[..., AggregationResult]) -> Callable[..., AggregationResult]:
    """Wrap an aggregator ``fn(ratings, *, gold, answer_weights, warn, max_iter, tol)`` in the
    :class:`~truelabel.quality.methods.TruthMethod` fit protocol (``None`` = its default)."""

    def fit(
        ratings: RatingsLike, *, gold: Mapping[Any, Hashable] | None = None,
        answer_weights: Sequence[float] | np.ndarray | None = None,
        max_iter: int | None = None, tol: float | None = None, seed: int = 0,
        warn: bool = True,
    ) -> AggregationResult:
        opts: dict[str, Any] = {}
        if max_iter is not None:
            opts["max_iter"] = max_iter
        if tol is not None:
            opts["tol"] = tol
        return fn(ratings, gold=gold, answer_weights=answer_weights, warn=warn, **opts)

    fit.__name__ = fit.__qualname__ = f"fit_{fn.__name__}"
    fit.__doc__ = fn.__doc__
    return fit
