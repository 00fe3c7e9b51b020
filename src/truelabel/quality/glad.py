"""GLAD: annotator ability and item difficulty (Whitehill et al., NIPS 2009).

Model: item ``i`` has a hidden true class ``z_i ~ p``; annotator ``a`` answers it correctly with
probability ``σ(α_a β_i)``, where ``α_a`` (any real) is the annotator's ability — negative for
an annotator who is systematically wrong — and ``β_i = exp(b_i) > 0`` the item's inverse
difficulty (β → 0: a coin toss for everyone). A wrong answer is uniform over the other
``K − 1`` classes. Priors as in the paper: ``α_a ~ N(μ_α, σ_α²)`` and ``b_i = log β_i ~
N(μ_β, σ_β²)`` (defaults μ = 1, σ = 1).

Fit: EM for the maximum a posteriori estimate. The E-step is exact (the posterior over each
item's class); the M-step sets ``p`` to the mean posterior and maximises the expected complete
log-likelihood plus the log priors over ``(α, b)`` with L-BFGS from the current values, keeping
the old values if the optimiser does not improve on them, so the monitored objective — the log
posterior ``log P(answers | α, β, p) + log N(α) + log N(b)`` per answer — never decreases.
Everything is vectorised over integer codes: one evaluation of the M-step objective and its
gradient is a few passes over the answers and two ``bincount`` scatters.

Reference: J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma, J. Movellan (2009), Whose vote should
count more: optimal integration of labels from labelers of unknown expertise, NIPS 22.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from .aggregate import AggregationResult
from .crowd_em import as_fit, check_prior, e_step, finish, per_answer_mean, prepare
from .encode import RatingsLike
from .methods import TruthMethod

__all__ = ["GLAD", "glad", "glad_answer_model"]

_LOG_2PI = float(np.log(2 * np.pi))


def _log_normal(x: np.ndarray, mean: float, sd: float) -> float:
    z = (x - mean) / sd
    return float(-0.5 * (z @ z) - x.shape[0] * (np.log(sd) + 0.5 * _LOG_2PI))


def expit(s: np.ndarray) -> np.ndarray:
    """σ(s) = 1 / (1 + e^(−s)), without overflow warnings for large |s|."""
    e = np.exp(-np.abs(s))
    out: np.ndarray = np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def _log_sigmoid(s: np.ndarray) -> np.ndarray:
    """log σ(s), stable for any s (faster than scipy's log_expit)."""
    out: np.ndarray = np.minimum(s, 0.0) - np.log1p(np.exp(-np.abs(s)))
    return out


def _log_other(k: int) -> float:
    """log(K − 1): a wrong answer is uniform over the other classes."""
    return float(np.log(max(k - 1, 1)))


def _group_q(s: np.ndarray, x: np.ndarray, group: np.ndarray, right: np.ndarray, w: np.ndarray,
             mean: float, sd: float) -> np.ndarray:
    """The M-step objective split by parameter (each ability, or each item's log β, is a
    separate one-dimensional problem once the other block is held fixed)."""
    per_answer = w * _log_sigmoid(s) - (w - right) * s  # log σ(-s) = log σ(s) - s
    q: np.ndarray = np.bincount(group, weights=per_answer, minlength=x.shape[0])
    return q - 0.5 * ((x - mean) / sd) ** 2


def _newton_block(
    x: np.ndarray, group: np.ndarray, other: np.ndarray, exponential: bool, right: np.ndarray,
    w: np.ndarray, mean: float, sd: float,
) -> np.ndarray:
    """One safeguarded Newton step on every parameter of a block at once.

    ``s = x[group] * other`` (abilities) or ``s = other * exp(x[group])`` (log β). Each
    parameter's step is halved until its own objective does not decrease (up to 20 times;
    then it stays put), so the M-step never lowers the expected complete log posterior."""
    n = x.shape[0]

    def scores(values: np.ndarray) -> np.ndarray:
        v = values[group]
        out: np.ndarray = other * np.exp(v) if exponential else v * other
        return out

    s = scores(x)
    sig = expit(s)
    g_s = right - w * sig                            # dQ/ds
    h_s = w * sig * (1.0 - sig)                      # -d2Q/ds2
    ds = s if exponential else other                 # ds/dx
    grad = np.bincount(group, weights=g_s * ds, minlength=n) - (x - mean) / sd**2
    curv = np.bincount(group, weights=h_s * ds * ds, minlength=n) + 1.0 / sd**2
    if exponential:  # d2s/dx2 = s adds a term of either sign; keep the step's curvature > 0
        curv = np.maximum(curv - np.bincount(group, weights=g_s * s, minlength=n),
                          1.0 / sd**2)
    step = grad / curv
    q0 = _group_q(s, x, group, right, w, mean, sd)
    out = x.copy()
    todo = np.ones(n, dtype=bool)
    for _ in range(20):
        trial = np.where(todo, x + step, out)
        q1 = _group_q(scores(trial), trial, group, right, w, mean, sd)
        ok = todo & (q1 >= q0) & np.isfinite(q1)
        out[ok] = trial[ok]
        step = step * 0.5
        todo &= ~ok & (np.abs(step) > 1e-9)  # a vanishing step: stay put
        if not todo.any():
            break
    return out


def glad(
    ratings: RatingsLike,
    *,
    gold: Mapping[Any, Hashable] | None = None,
    answer_weights: Sequence[float] | np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    ability_prior: tuple[float, float] = (1.0, 1.0),
    difficulty_prior: tuple[float, float] = (1.0, 1.0),
    m_step_iter: int = 3,
    fit_prior: bool = False,
    warn: bool = True,
) -> AggregationResult:
    """Aggregate labels with GLAD (annotator ability × item inverse difficulty, EM).

    Args:
        ratings: :class:`~truelabel.quality.encode.Ratings` (or a reliability matrix).
        gold: Item id → known label; those items' classes are clamped during EM (their
            answers then inform abilities and difficulties against the known truth) and come
            back with confidence 1.
        answer_weights: One weight per answer, default 1: an answer of weight w counts w
            times in the likelihood (and so in the M-step).
        max_iter: Maximum EM iterations.
        tol: Stop when the log posterior per answer improves by less than this (0: run
            ``max_iter`` iterations).
        ability_prior: ``(mean, sd)`` of the Gaussian prior on each ability ``α``.
        difficulty_prior: ``(mean, sd)`` of the Gaussian prior on ``log β`` per item.
        m_step_iter: Rounds of (abilities, then difficulties) Newton steps per M-step.
        fit_prior: Estimate the class prior ``p`` in the M-step. The paper keeps it fixed
            (uniform here): estimated, it can drift to one class on small data sets, where
            hard items then go to the majority class.
        warn: Issue :class:`ConvergenceWarning` when ``max_iter`` is reached.

    Returns:
        :class:`AggregationResult` with posteriors, the class prior, each annotator's mean
        probability of a correct answer on the items they labelled, ``objective_trace`` and
        ``params``: ``ability`` (per annotator), ``inverse_difficulty`` (β per item),
        ``n_classes``.

    Raises:
        NotEnoughData: no answers, or no item answered by two different annotators.
        InvalidInput: bad ``max_iter``, ``tol``, priors or answer weights.
        UnknownLabel: a gold label outside the classes.
    """
    d = prepare("GLAD", ratings, gold, answer_weights, max_iter, tol)
    (mu_a, sd_a), (mu_b, sd_b) = ability_prior, difficulty_prior
    for name, value, low in (("ability prior mean", mu_a, -np.inf),
                             ("ability prior sd", sd_a, 1e-12),
                             ("difficulty prior mean", mu_b, -np.inf),
                             ("difficulty prior sd", sd_b, 1e-12),
                             ("m_step_iter", m_step_iter, 1)):
        check_prior("GLAD", name, float(value), low)
    k, n_ann = d.k, d.n_ann
    log_other = _log_other(k)
    w = d.weight

    def terms(alpha: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = alpha[d.ann] * np.exp(b[d.unit])
        return w * _log_sigmoid(s), w * (_log_sigmoid(-s) - log_other)

    def log_prior_density(alpha: np.ndarray, b: np.ndarray) -> float:
        return _log_normal(alpha, mu_a, sd_a) + _log_normal(b, mu_b, sd_b)

    def m_step(post: np.ndarray, alpha: np.ndarray, b: np.ndarray) -> tuple[
        np.ndarray, np.ndarray
    ]:
        right = w * post[d.unit, d.lab]  # expected weight of "this answer is correct"
        for _ in range(int(m_step_iter)):
            alpha = _newton_block(alpha, d.ann, np.exp(b)[d.unit], False, right, w,
                                  mu_a, sd_a)
            b = _newton_block(b, d.unit, alpha[d.ann], True, right, w, mu_b, sd_b)
        return alpha, b

    def class_prior(post: np.ndarray) -> np.ndarray:
        if not fit_prior:
            return np.full(k, 1.0 / k)
        p: np.ndarray = post[d.has].sum(axis=0) / max(int(d.has.sum()), 1)
        return p

    alpha = np.full(n_ann, float(mu_a))
    b = np.full(d.n_items, float(mu_b))
    post = d.vote_shares()
    alpha, b = m_step(post, alpha, b)
    p = class_prior(post)
    trace: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, int(max_iter) + 1):
        right_t, wrong_t = terms(alpha, b)
        post, loglik = e_step(d, right_t, wrong_t, np.log(np.maximum(p, 1e-300)))
        trace.append((loglik + log_prior_density(alpha, b)) / d.n)
        if tol > 0 and n_iter > 1 and trace[-1] - trace[-2] < tol:
            converged = True
            break
        if n_iter == max_iter:
            break
        alpha, b = m_step(post, alpha, b)
        p = class_prior(post)

    beta = np.exp(b)
    accuracy = per_answer_mean(d, expit(alpha[d.ann] * beta[d.unit]))
    return finish(
        "glad", d, post, prior=p, annotator_accuracy=accuracy, n_iter=n_iter,
        converged=converged, trace=trace, max_iter=max_iter, tol=tol, warn=warn,
        params={"ability": alpha, "inverse_difficulty": beta, "n_classes": k},
    )


def glad_answer_model(
    result: AggregationResult, unit: np.ndarray, annotator: np.ndarray
) -> np.ndarray:
    """P(answer = l | true class = k) for answers by ``annotator[j]`` on item ``unit[j]``:
    ``σ(α β)`` on the diagonal, the rest spread evenly over the other classes."""
    k = len(result.classes)
    alpha = np.asarray(result.params["ability"])
    beta = np.asarray(result.params["inverse_difficulty"])
    right = expit(alpha[annotator] * beta[unit])
    wrong = (1.0 - right) / max(k - 1, 1)
    out = np.repeat(wrong[:, None, None], k, axis=1).repeat(k, axis=2)
    idx = np.arange(k)
    out[:, idx, idx] = right[:, None]
    return out


GLAD = TruthMethod("glad", as_fit(glad), iterative=True,
                   summary="GLAD EM: annotator ability x item difficulty (Whitehill et al. 2009)",
                   answer_model=glad_answer_model)
