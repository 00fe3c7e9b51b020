"""The calibration maps: temperature, logistic (Platt) and isotonic, fitted and applied.

NumPy only (the quality engines' import rule): golden-section search for the temperature,
Newton-Raphson for the logistic map, pool-adjacent-violators for the isotonic one. See
:mod:`truelabel.quality.calibration` for how :func:`~truelabel.quality.calibration.calibrate`
uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import InvalidInput

__all__ = [
    "apply_isotonic",
    "apply_logistic",
    "apply_temperature",
    "expit",
    "fit_isotonic",
    "fit_logistic",
    "fit_temperature",
    "logit",
]

#: Probability floor inside logs.
EPS = 1e-12
#: Confidences are clipped to [CLIP, 1 - CLIP] before the logistic map.
CLIP = 1e-4
#: Search range of log T.
LOG_T = (-4.0, 4.0)


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow."""
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """The log-odds ``log(p / (1 − p))``."""
    p = np.asarray(p, dtype=float)
    out: np.ndarray = np.log(p) - np.log1p(-p)
    return out


def golden_section(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-6) -> float:
    """Minimiser of a unimodal ``f`` on ``[lo, hi]`` by golden-section search."""
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit of ``y`` (pool adjacent violators)."""
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        means.append(yi)
        weights.append(wi)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, n2 = means.pop(), weights.pop(), sizes.pop()
            total = weights[-1] + w2
            means[-1] = (means[-1] * weights[-1] + m2 * w2) / total
            weights[-1] = total
            sizes[-1] += n2
    return np.repeat(np.array(means, dtype=float), sizes)


def paired_arrays(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(confidence, dtype=float).ravel()
    y = np.asarray(correct, dtype=float).ravel()
    if c.shape != y.shape:
        raise InvalidInput(f"confidence has {c.size} values but correct has {y.size}; "
                           "pass one of each per item.")
    ok = ~np.isnan(c)
    return c[ok], y[ok]


def apply_temperature(posterior: np.ndarray, temperature: float) -> np.ndarray:
    """``posterior^(1/T)`` renormalised per row (all-zero rows stay zero)."""
    p = np.asarray(posterior, dtype=float)
    logp = np.log(np.clip(p, EPS, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    out: np.ndarray = np.exp(logp)
    out /= out.sum(axis=1, keepdims=True)
    out[p.sum(axis=1) <= 0] = 0.0
    return out


def _nll(posterior: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    p = apply_temperature(posterior, temperature)[np.arange(truth.size), truth]
    return float(-np.log(np.clip(p, EPS, 1.0)).sum())


def fit_temperature(posterior: np.ndarray, truth: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of ``truth`` (class codes)
    under the tempered ``posterior``; searched over ``log T`` in [-4, 4]."""
    truth = np.asarray(truth, dtype=np.int64)
    if truth.size == 0:
        return 1.0
    # the NLL is convex in 1/T, so unimodal in log T
    return float(np.exp(golden_section(lambda lt: _nll(posterior, truth, float(np.exp(lt))),
                                *LOG_T)))


def fit_isotonic(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic (non-decreasing) regression of ``correct`` on ``confidence``: the knots
    ``(x, y)`` of the fitted map, one per distinct confidence."""
    c, y = paired_arrays(confidence, correct)
    if c.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    xs, inverse = np.unique(c, return_inverse=True)
    w = np.bincount(inverse).astype(float)
    means = np.bincount(inverse, weights=y) / w
    return xs, _pava(means, w)


def apply_isotonic(knots: tuple[np.ndarray, np.ndarray], confidence: Any) -> np.ndarray:
    """The isotonic map at ``confidence`` (linear between knots, flat beyond them)."""
    xs, ys = knots
    return np.asarray(np.interp(np.asarray(confidence, dtype=float), xs, ys), dtype=float)


def fit_logistic(confidence: Any, correct: Any, ridge: float = 1.0) -> tuple[float, float]:
    """Logistic (Platt) map of the top-label confidence: ``σ(a·logit(c) + b)`` with ``(a, b)``
    minimising the log-loss of ``correct`` plus ``ridge·((a − 1)² + b²)``, which pulls the map
    towards the identity when there are few items. Confidences are clipped to
    ``[1e-4, 1 − 1e-4]`` first, so a handful of certain-but-wrong items cannot drive it."""
    c, y = paired_arrays(confidence, correct)
    z = logit(np.clip(c, CLIP, 1.0 - CLIP))
    ab = np.array([1.0, 0.0])

    def loss(v: np.ndarray) -> float:
        q = np.clip(expit(v[0] * z + v[1]), EPS, 1.0 - EPS)
        return float(-(y * np.log(q) + (1.0 - y) * np.log(1.0 - q)).sum()
                     + ridge * ((v[0] - 1.0) ** 2 + v[1] ** 2))

    current = loss(ab)
    for _ in range(100):  # Newton-Raphson with step halving; the ridge keeps it convex
        p = expit(ab[0] * z + ab[1])
        r, w = p - y, p * (1.0 - p)
        grad = np.array([(r * z).sum() + 2 * ridge * (ab[0] - 1.0), r.sum() + 2 * ridge * ab[1]])
        hess = np.array([[(w * z * z).sum() + 2 * ridge, (w * z).sum()],
                         [(w * z).sum(), w.sum() + 2 * ridge]])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6:
            cand = ab - t * step
            cand[0] = max(cand[0], 0.0)  # never reverse the order of confidences
            if (value := loss(cand)) <= current:
                break
            t /= 2
        else:
            break
        done = current - value < 1e-10
        ab, current = cand, value
        if done:
            break
    return float(ab[0]), float(ab[1])


def apply_logistic(coef: tuple[float, float], confidence: Any) -> np.ndarray:
    """The logistic map :func:`fit_logistic` fitted, at ``confidence``."""
    z = logit(np.clip(np.asarray(confidence, dtype=float), CLIP, 1.0 - CLIP))
    return np.asarray(expit(coef[0] * z + coef[1]), dtype=float)
