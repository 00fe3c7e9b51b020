"""Dawid-Skene EM (full confusion matrices, or one accuracy per annotator), optionally
anchored on gold items and regularised by Dirichlet priors (MAP).

Model: item i has a hidden true class z_i ~ π; annotator a answers class l with probability
``θ[a, z_i, l]`` independently of the others. ``model="full"`` gives every annotator a full
confusion matrix (Dawid & Skene 1979); ``model="one_coin"`` one accuracy ``p_a`` with errors
spread uniformly over the other classes, ``θ[a, k, l] = p_a`` if ``l == k`` else
``(1 - p_a) / (K - 1)``.

EM starts from the majority-vote shares (as in Dawid & Skene 1979 and crowd-kit), then
repeats

* M-step: ``π ∝ Σ_i posterior[i] + γ``; ``θ[a, k, l] ∝ Σ_{answers of a with label l}
  w · posterior[item, k] + β + α·[l = k]`` (one-coin: ``p_a = (C_a + α') / (T_a + α' + β')``
  with C_a, T_a the expected correct and total answers and α', β' the diagonal and
  off-diagonal pseudo-counts of the row); ``w`` is the answer weight (times ``gold_weight``
  on gold items);
* E-step: ``log posterior[i, k] = log π_k + Σ_{answers of i} w · log θ[a, k, l]``, normalised
  with log-sum-exp; gold items keep a one-hot posterior on their known class.

**The monitored objective** (:attr:`AggregationResult.objective_trace`) is the quantity EM
provably never decreases: the observed-data log-likelihood, per answer row,

    F = (1/n) [ Σ_{i not gold} log Σ_k π_k Π_{answers j of i} θ[a_j, k, l_j]^{w_j}
              + Σ_{i gold, class g} (log π_g + gold_weight · Σ_j w_j log θ[a_j, g, l_j])
              + log p(θ, π) ]

where ``log p(θ, π) = Σ (β + α·I) log θ + γ Σ log π`` is the log density (up to a constant)
of the Dirichlet priors whose pseudo-counts are ``smoothing`` (β), ``diagonal`` (α) and
``prior_smoothing`` (γ); with no pseudo-counts F is the plain log-likelihood, otherwise the
MAP objective. Each iteration is one M-step followed by one E-step, and the E-step's
log-sum-exp is exactly the likelihood of the new parameters, so F costs nothing extra. EM
stops when F improves by at most ``tol`` (absolute, per answer) from one iteration to the
next; ``tol=0`` runs until F stops increasing at all (an exact fixed point in floating
point) or ``max_iter``.

Everything is vectorised over integer codes (``bincount`` gathers and scatters), so 100k
answers take tens of milliseconds per iteration or less.

Reference: A. P. Dawid and A. M. Skene (1979), Maximum likelihood estimation of observer
error-rates using the EM algorithm, Applied Statistics 28(1):20-28.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .aggregate import AggregationResult, checked_answer_weights, choose, gold_codes
from .encode import Ratings, RatingsLike, as_ratings
from .errors import ConvergenceWarning, InvalidInput, NotEnoughData

__all__ = ["dawid_skene"]

_EPS = 1e-10
Model = Literal["full", "one_coin"]


def _check_overlap(unit: np.ndarray, ann: np.ndarray, n_units: int, n_ann: int) -> None:
    if unit.shape[0] == 0:
        raise NotEnoughData(
            "Dawid-Skene needs answers; got none. Collect labels before aggregating."
        )
    lo = np.full(n_units, n_ann)
    hi = np.full(n_units, -1)
    np.minimum.at(lo, unit, ann)
    np.maximum.at(hi, unit, ann)
    if not (hi > lo).any():  # no item answered by two different annotators
        n = int((np.bincount(ann, minlength=n_ann) > 0).sum())
        raise NotEnoughData(
            "Dawid-Skene needs at least two annotators who labelled some of the same items; "
            f"got {n} annotator(s) and no item with answers from two of them. Use "
            "majority_vote (or weighted_vote) instead, or collect overlapping labels."
        )


def _best_given(
    post: np.ndarray, unit: np.ndarray, lab: np.ndarray, weight: np.ndarray | None,
    g_items: np.ndarray, g_labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the label with the highest posterior among those it was given (answers or
    gold); ties go to the label with more (weighted) answers, then the lowest code."""
    n_items, k = post.shape
    given = np.zeros((n_items, k), dtype=bool)
    given[unit, lab] = True
    given[g_items, g_labels] = True
    support = np.bincount(unit * k + lab, weights=weight, minlength=n_items * k)
    support = support.reshape(n_items, k).astype(float)
    masked = np.where(given, post, -1.0)
    best = masked.max(axis=1) if k else np.zeros(n_items)
    is_top = given & (masked >= best[:, None] - 1e-12)
    codes = np.argmax(np.where(is_top, support, -1.0), axis=1).astype(np.int64)
    codes = np.where(given.any(axis=1), codes, -1)
    return codes, is_top.sum(axis=1) > 1


def check_iter_options(max_iter: Any, tol: Any) -> None:
    """Refuse a ``max_iter`` below 1 (or not a whole number) and a negative or non-finite
    ``tol``, with a message that says what to pass instead."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidInput(
            f"max_iter must be a whole number of at least 1; got {max_iter!r}. It caps the EM "
            "iterations (default 100)."
        )
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (
        math.isfinite(tol) and tol >= 0
    ):
        raise InvalidInput(
            f"tol must be a finite number >= 0; got {tol!r}. EM stops when the objective "
            "(log-likelihood per answer) improves by at most tol; tol=0 runs until it stops "
            "improving at all, or to max_iter."
        )


def _one_coin_theta(counts: np.ndarray, k: int, alpha: float, beta: float) -> np.ndarray:
    """One-coin M-step: ``counts`` (true, annotator, answered) → θ (true, annotator,
    answered) with one accuracy per annotator, and the accuracies."""
    n_ann = counts.shape[1]
    correct = np.einsum("kak->a", counts)
    total = counts.sum(axis=(0, 2))
    # the row's pseudo-counts: α + β on the diagonal, β on each of the K-1 other cells
    good, bad = k * (alpha + beta), k * (k - 1) * beta
    p = (correct + good) / np.maximum(total + good + bad, _EPS)
    p = np.clip(p, _EPS, 1 - _EPS) if k > 1 else np.ones(n_ann)
    off = (1 - p) / max(k - 1, 1)
    theta = np.broadcast_to(off[None, :, None], (k, n_ann, k)).copy()
    idx = np.arange(k)
    theta[idx, :, idx] = p[None, :]
    return theta


def dawid_skene(
    ratings: RatingsLike,
    *,
    gold: Mapping[Any, Hashable] | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.0,
    diagonal: float = 0.0,
    prior_smoothing: float | None = None,
    model: Model = "full",
    gold_weight: float = 1.0,
    warn: bool = True,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    answered_only: bool = False,
) -> AggregationResult:
    """Aggregate labels with the Dawid-Skene model (EM; see the module docstring).

    Args:
        ratings: :class:`~truelabel.quality.encode.Ratings` (or a reliability matrix).
        gold: Item id → known label. Those items' posteriors are clamped to the truth during
            EM ("gold-anchored" Dawid-Skene) and returned with confidence 1.
        max_iter: Maximum EM iterations (at least 1).
        tol: Stop when the objective (log-likelihood per answer, see the module docstring)
            improves by at most this much (absolute); 0 runs to an exact fixed point or
            ``max_iter``.
        smoothing: Dirichlet pseudo-count β added to every confusion-matrix cell (0 = maximum
            likelihood, as in the original paper and crowd-kit).
        diagonal: Extra Dirichlet pseudo-count α on each confusion row's diagonal cell: a
            prior belief that annotators are better than chance.
        prior_smoothing: Dirichlet pseudo-count γ on the class prior (default: ``smoothing``).
        model: ``"full"`` (a confusion matrix per annotator) or ``"one_coin"`` (one accuracy
            per annotator, errors uniform over the other classes).
        gold_weight: How much each gold item counts, relative to other items, when the
            confusion matrices are re-estimated. 1 is plain clamping. Raise it (e.g. 10) when the
            gold is trustworthy and a consistent but wrong majority is possible: it stops EM
            from settling on a label-swapped solution, at some cost on ordinary data.
        warn: Issue :class:`ConvergenceWarning` when ``max_iter`` is reached.
        answer_weights: One weight per answer (row of ``ratings``), default 1: an answer of
            weight w counts w times when the confusion matrices are re-estimated, and its
            likelihood term is raised to the power w in the posterior (stronger evidence,
            e.g. a reviewer-accepted answer or a reviewer's correction).
        answered_only: Guard against degenerate estimates: an item's label is chosen only
            among the labels it was actually given (its answers, or its gold answer). An
            annotator whose estimated confusion matrix says they are always wrong (accuracy
            0 on a few gold items) otherwise turns their lone answer into a label nobody gave.
            The confidence stays the model's posterior of the label chosen (low, then).

    Returns:
        :class:`AggregationResult` with posteriors, per-annotator confusion matrices
        ``(annotator, true, answered)``, accuracies ``Σ_k prior_k θ[a, k, k]``, ``n_iter``,
        ``converged`` and ``objective_trace`` (F after each iteration).

    Raises:
        NotEnoughData: fewer than two annotators overlap on any item (use majority vote).
        InvalidInput: bad ``max_iter``, ``tol``, pseudo-counts, ``model`` or ``gold_weight``.
    """
    check_iter_options(max_iter, tol)
    gamma = smoothing if prior_smoothing is None else prior_smoothing
    if not (min(smoothing, diagonal, gamma) >= 0 and gold_weight > 0):
        raise InvalidInput(
            "smoothing, diagonal and prior_smoothing must be non-negative and gold_weight "
            f"positive; got smoothing={smoothing}, diagonal={diagonal}, "
            f"prior_smoothing={gamma}, gold_weight={gold_weight}."
        )
    if model not in ("full", "one_coin"):
        raise InvalidInput(f"model must be 'full' or 'one_coin'; got {model!r}.")
    r = as_ratings(ratings)
    _check_overlap(r.unit, r.annotator, r.n_units, r.n_annotators)
    fit = _EM(r, gold, smoothing, diagonal, gamma, model, gold_weight,
              checked_answer_weights(r, answer_weights))
    post_t, log_theta_t, log_prior, trace, converged = fit.run(max_iter, tol)
    if not converged and warn:
        warnings.warn(
            f"Dawid-Skene stopped after max_iter={max_iter} iterations without reaching "
            f"tol={tol}. Raise max_iter or tol; the labels are usually already stable.",
            ConvergenceWarning,
            stacklevel=2,
        )
    post = np.ascontiguousarray(post_t.T)
    if answered_only:
        codes, tied = _best_given(post, r.unit, r.label, fit.weight, fit.g_items, fit.g_labels)
    else:
        codes, tied = choose(post)
    confidence = np.full(r.n_units, np.nan)
    ok = codes >= 0
    confidence[ok] = post[ok, codes[ok]]
    k = fit.k
    theta = np.exp(log_theta_t).reshape(k, r.n_annotators, k)  # (true, annotator, answered)
    confusion = np.ascontiguousarray(theta.transpose(1, 0, 2))  # (annotator, true, answered)
    prior = np.exp(log_prior)
    accuracy = (np.diagonal(confusion, axis1=1, axis2=2) * prior[None, :]).sum(axis=1)
    method = ("one_coin_dawid_skene" if model == "one_coin" else "dawid_skene") + (
        "+gold" if fit.g_items.shape[0] else "")
    if smoothing or diagonal or gamma:
        method += f"(smoothing={smoothing:g}, diagonal={diagonal:g}, prior={gamma:g})"
    return AggregationResult(
        method=method, items=r.units, codes=codes, confidence=confidence, posterior=post,
        classes=r.classes, annotators=r.annotators, annotator_accuracy=accuracy,
        n_answers=fit.n_answers, tied=tied, ratings=r, confusion=confusion, prior=prior,
        n_iter=len(trace), converged=converged, objective_trace=tuple(trace),
        params={"model": model, "max_iter": max_iter, "tol": tol, "smoothing": smoothing,
                "diagonal": diagonal, "prior_smoothing": gamma,
                "objective": "log-likelihood per answer" + (
                    " + log Dirichlet prior (MAP)" if smoothing or diagonal or gamma else "")},
    )


class _EM:
    """One EM fit's fixed data (codes, weights, gold) and its two steps."""

    def __init__(
        self, r: Ratings, gold: Mapping[Any, Hashable] | None, beta: float, alpha: float,
        gamma: float, model: Model, gold_weight: float, weight: np.ndarray | None,
    ) -> None:
        self.unit, self.lab = r.unit, r.label
        self.n_items, self.n_ann, self.k = r.n_units, r.n_annotators, max(r.n_classes, 1)
        self.beta, self.alpha, self.gamma, self.model = beta, alpha, gamma, model
        self.weight = weight
        k = self.k
        self.wl = r.annotator * k + r.label
        self.n_rows = self.unit.shape[0]
        self.n_answers = np.bincount(self.unit, minlength=self.n_items)
        self.has = self.n_answers > 0
        if gold:
            self.g_items, self.g_labels = gold_codes(r, gold)
        else:
            self.g_items = self.g_labels = np.zeros(0, dtype=np.int64)
        self.g_onehot_t = np.zeros((k, self.g_items.shape[0]))
        self.g_onehot_t[self.g_labels, np.arange(self.g_items.shape[0])] = 1.0
        self.free = self.has.copy()
        self.free[self.g_items] = False
        self.gold_weight = gold_weight
        row_weight: np.ndarray | None = None
        if self.g_items.shape[0] and gold_weight != 1.0:
            item_weight = np.ones(self.n_items)
            item_weight[self.g_items] = gold_weight
            row_weight = item_weight[self.unit]
        if weight is not None:
            row_weight = weight if row_weight is None else row_weight * weight
        self.row_weight = row_weight
        # the Dirichlet pseudo-counts of one confusion row, as a (true, answered) matrix
        self.pseudo = np.full((k, k), beta) + alpha * np.eye(k)

    def initial_posterior(self) -> np.ndarray:
        """Majority-vote shares, class-major ``(k, n_items)``, gold clamped. Arrays are kept
        class-major so every gather and scatter is a 1-D take + bincount."""
        k = self.k
        votes = np.bincount(self.unit * k + self.lab, minlength=self.n_items * k)
        votes = votes.reshape(self.n_items, k).astype(float)
        post_t = np.ascontiguousarray(
            (votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)).T
        )
        post_t[:, self.g_items] = self.g_onehot_t
        return post_t

    def m_step(self, post_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(log θ as (true, annotator*answered), log π, log prior density)``."""
        k, n_ann = self.k, self.n_ann
        counts = np.stack([
            np.bincount(self.wl, weights=self._gather(post_t[c]), minlength=n_ann * k)
            for c in range(k)
        ]).reshape(k, n_ann, k)  # (true, annotator, answered)
        if self.model == "one_coin":
            theta = _one_coin_theta(counts, k, self.alpha, self.beta)
        else:
            theta = np.maximum(counts + self.pseudo[:, None, :], _EPS)
            theta /= theta.sum(axis=2, keepdims=True)  # over answered labels
        prior = (post_t[:, self.has].sum(axis=1) + self.gamma) / (
            int(self.has.sum()) + k * self.gamma)
        log_theta = np.log(np.maximum(theta, _EPS))
        log_prior = np.log(np.maximum(prior, _EPS))
        density = self.gamma * float(log_prior.sum())
        if self.alpha or self.beta:
            density += float((self.pseudo[:, None, :] * log_theta).sum())
        return log_theta.reshape(k, n_ann * k), log_prior, density

    def _gather(self, values: np.ndarray) -> np.ndarray:
        taken: np.ndarray = values.take(self.unit)
        return taken if self.row_weight is None else taken * self.row_weight

    def e_step(self, log_theta_t: np.ndarray, log_prior: np.ndarray) -> tuple[np.ndarray, float]:
        """``(posterior (k, n_items), data log-likelihood)`` of the given parameters."""
        k = self.k
        loglik = np.stack([
            np.bincount(self.unit, weights=self._term(log_theta_t[c]), minlength=self.n_items)
            for c in range(k)
        ])  # Σ_answers w · log θ, per (class, item)
        joint = loglik + log_prior[:, None]
        top = joint.max(axis=0, keepdims=True)
        log_norm = top + np.log(np.exp(joint - top).sum(axis=0, keepdims=True))
        post_t = np.exp(joint - log_norm)
        post_t[:, ~self.has] = 0.0
        total = float(log_norm[0, self.free].sum())
        if self.g_items.shape[0]:
            g_ll = loglik[self.g_labels, self.g_items]
            total += float((log_prior[self.g_labels] + self.gold_weight * g_ll).sum())
            post_t[:, self.g_items] = self.g_onehot_t
        return post_t, total

    def _term(self, values: np.ndarray) -> np.ndarray:
        """An answer's log-likelihood term, raised to its answer weight."""
        taken: np.ndarray = values.take(self.wl)
        return taken if self.weight is None else taken * self.weight

    def run(self, max_iter: int, tol: float) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, list[float], bool
    ]:
        """EM from the majority-vote shares: ``(posterior, log θ, log π, trace, converged)``."""
        post_t = self.initial_posterior()
        trace: list[float] = []
        log_theta_t = log_prior = np.zeros(0)
        for _ in range(max_iter):
            log_theta_t, log_prior, density = self.m_step(post_t)
            post_t, loglik = self.e_step(log_theta_t, log_prior)
            trace.append((loglik + density) / self.n_rows)
            if len(trace) > 1 and trace[-1] - trace[-2] <= tol:
                return post_t, log_theta_t, log_prior, trace, True
        return post_t, log_theta_t, log_prior, trace, False
