"""MACE: Multi-Annotator Competence Estimation (Hovy et al., NAACL 2013).

Model: item ``i`` has a hidden true class ``z_i ~ p``; for each answer, annotator ``a`` spams
with probability ``1 − θ_a`` — then the label is drawn from the annotator's own distribution
``ξ_a`` over the classes, whatever the truth — and otherwise gives the true class. So
``P(answer l | z = k) = θ_a 1[l = k] + (1 − θ_a) ξ_a(l)``: a spammer's answer carries no
information, and a spammer who always answers the same label is recognised as such rather
than mistaken for an expert. Priors: ``θ_a ~ Beta(a, b)`` and ``ξ_a ~ Dirichlet(γ, …, γ)``
(defaults a = b = 2, γ = 2: add-one smoothing that keeps every estimate inside (0, 1)).

Fit: EM for the maximum a posteriori estimate, started from the majority-vote shares. E-step:
the posterior over each item's class, and per answer the probability that it was given in
earnest, ``q_i(l) θ / (θ + (1 − θ) ξ(l))``. M-step (closed form): ``θ_a`` = (expected earnest
answers + a − 1) / (answers + a + b − 2), ``ξ_a(l)`` ∝ expected spam answers of label l + γ − 1,
``p`` = mean posterior (the paper fixes ``p`` uniform; ``fit_prior=False`` does the same). The
monitored objective, ``log P(answers | θ, ξ, p) + log Beta(θ) + log Dirichlet(ξ)`` per answer,
never decreases.

Reference: D. Hovy, T. Berg-Kirkpatrick, A. Vaswani, E. Hovy (2013), Learning whom to trust
with MACE, NAACL-HLT 2013, 1120-1130.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from math import lgamma
from typing import Any

import numpy as np

from .aggregate import AggregationResult
from .crowd_em import as_fit, check_prior, e_step, finish, prepare
from .encode import RatingsLike
from .methods import TruthMethod

__all__ = ["MACE", "mace", "mace_answer_model"]


def mace(
    ratings: RatingsLike,
    *,
    gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    competence_prior: tuple[float, float] = (2.0, 2.0),
    spam_prior: float = 2.0,
    fit_prior: bool = True,
    warn: bool = True,
) -> AggregationResult:
    """Aggregate labels with MACE (each annotator's competence and spamming pattern, EM).

    Args:
        ratings: :class:`~truelabel.quality.encode.Ratings` (or a reliability matrix).
        gold: Item id → known label; those items' classes are clamped during EM and come back
            with confidence 1.
        answer_weights: One weight per answer, default 1: an answer of weight w counts w
            times in the likelihood and in the M-step counts.
        max_iter: Maximum EM iterations.
        tol: Stop when the log posterior per answer improves by less than this (0: run
            ``max_iter`` iterations).
        competence_prior: ``(a, b)`` of the Beta prior on each competence ``θ`` (both ≥ 1).
        spam_prior: ``γ`` of the symmetric Dirichlet prior on each spam distribution (≥ 1).
        fit_prior: Estimate the class prior ``p``; False keeps it uniform as in the paper.
        warn: Issue :class:`ConvergenceWarning` when ``max_iter`` is reached.

    Returns:
        :class:`AggregationResult` with posteriors, the class prior, each annotator's
        probability of a correct answer ``θ + (1 − θ) Σ_k p_k ξ(k)``, ``objective_trace`` and
        ``params``: ``competence`` (θ), ``spam_rate`` (1 − θ) and ``spam_distribution``
        (ξ, annotator × class).

    Raises:
        NotEnoughData: no answers, or no item answered by two different annotators.
        InvalidInput: bad ``max_iter``, ``tol``, priors or answer weights.
        UnknownLabel: a gold label outside the classes.
    """
    d = prepare("MACE", ratings, gold, answer_weights, max_iter, tol)
    a0, b0 = competence_prior
    check_prior("MACE", "competence prior a", float(a0), 1.0)
    check_prior("MACE", "competence prior b", float(b0), 1.0)
    check_prior("MACE", "spam prior", float(spam_prior), 1.0)
    k, n_ann, w = d.k, d.n_ann, d.weight
    wl = d.ann * k + d.lab
    n_per = np.bincount(d.ann, weights=w, minlength=n_ann)

    def answer_terms(theta: np.ndarray, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spam = (1.0 - theta[d.ann]) * xi.ravel()[wl]
        return spam, theta[d.ann] + spam

    def m_step(post: np.ndarray, theta: np.ndarray, xi: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray
    ]:
        spam, total = answer_terms(theta, xi)
        earnest = w * post[d.unit, d.lab] * theta[d.ann] / total
        num = np.bincount(d.ann, weights=earnest, minlength=n_ann) + a0 - 1.0
        den = n_per + a0 + b0 - 2.0
        theta = np.where(den > 0, num / np.where(den > 0, den, 1.0), a0 / (a0 + b0))
        spam_counts = np.bincount(wl, weights=w - earnest, minlength=n_ann * k)
        counts = spam_counts.reshape(n_ann, k) + (spam_prior - 1.0)
        sums = counts.sum(axis=1, keepdims=True)
        xi = np.where(sums > 0, counts / np.where(sums > 0, sums, 1.0), 1.0 / k)
        if fit_prior:
            p = post[d.has].sum(axis=0) / max(int(d.has.sum()), 1)
        else:
            p = np.full(k, 1.0 / k)
        return theta, xi, p

    def log_prior_density(theta: np.ndarray, xi: np.ndarray) -> float:
        with np.errstate(divide="ignore"):
            lp = ((a0 - 1.0) * np.log(theta) + (b0 - 1.0) * np.log1p(-theta)).sum()
            lx = ((spam_prior - 1.0) * np.log(xi)).sum() if spam_prior != 1.0 else 0.0
        log_beta_fn = lgamma(a0) + lgamma(b0) - lgamma(a0 + b0)
        norm = n_ann * (lgamma(k * spam_prior) - k * lgamma(spam_prior) - log_beta_fn)
        return float(lp + lx + norm)

    theta0 = np.full(n_ann, a0 / (a0 + b0))
    xi0 = np.full((n_ann, k), 1.0 / k)
    post = d.vote_shares()
    theta, xi, p = m_step(post, theta0, xi0)
    trace: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, int(max_iter) + 1):
        spam, total = answer_terms(theta, xi)
        with np.errstate(divide="ignore"):
            right, wrong = w * np.log(total), w * np.log(spam)
            log_p = np.log(p)
        post, loglik = e_step(d, right, wrong, log_p)
        trace.append((loglik + log_prior_density(theta, xi)) / d.n)
        if tol > 0 and n_iter > 1 and trace[-1] - trace[-2] < tol:
            converged = True
            break
        if n_iter == max_iter:
            break
        theta, xi, p = m_step(post, theta, xi)

    accuracy = theta + (1.0 - theta) * (xi @ p)
    return finish(
        "mace", d, post, prior=p, annotator_accuracy=accuracy, n_iter=n_iter,
        converged=converged, trace=trace, max_iter=max_iter, tol=tol, warn=warn,
        params={"competence": theta, "spam_rate": 1.0 - theta, "spam_distribution": xi},
    )


def mace_answer_model(
    result: AggregationResult, unit: np.ndarray, annotator: np.ndarray
) -> np.ndarray:
    """P(answer = l | true class = k) = θ 1[l = k] + (1 − θ) ξ(l) for each answer."""
    theta = np.asarray(result.params["competence"])[annotator]
    xi = np.asarray(result.params["spam_distribution"])[annotator]  # (n, answered)
    k = xi.shape[1]
    out = np.repeat(((1.0 - theta)[:, None] * xi)[:, None, :], k, axis=1)
    idx = np.arange(k)
    out[:, idx, idx] += theta[:, None]
    return out


MACE = TruthMethod("mace", as_fit(mace), iterative=True,
                   summary="MACE EM: annotator competence and spamming (Hovy et al. 2013)",
                   answer_model=mace_answer_model)
