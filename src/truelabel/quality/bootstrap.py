"""Percentile bootstrap confidence intervals that resample units (items).

Units, not single ratings, are the independent draws: each resample picks ``n`` rated units
with replacement (``n`` = number of units with at least one rating) and recomputes the
statistic. Resamples on which the statistic is undefined (e.g. no variation) are counted in
``n_failed`` and left out of the interval.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .agreement import Level, _check_level, _counts_and_domain, _disagreements, alpha_parts
from .encode import Ratings, RatingsLike, as_ratings
from .errors import InvalidInput, NotEnoughData, QualityError

__all__ = ["BootstrapResult", "bootstrap_ci", "krippendorff_alpha_ci"]

Seed = int | np.random.Generator | None


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """A point estimate with its percentile bootstrap interval.

    Attributes:
        estimate: The statistic on the full data.
        low: Lower bound of the interval.
        high: Upper bound of the interval.
        confidence: Nominal coverage, e.g. 0.95.
        n_resamples: Resamples drawn.
        n_failed: Resamples on which the statistic was undefined (excluded).
        distribution: The statistic on each successful resample.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_failed: int
    distribution: np.ndarray = field(repr=False)


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise InvalidInput(f"n_resamples must be at least 1; got {n_resamples}.")
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be between 0 and 1, e.g. 0.95; got {confidence}.")


def _finish(
    estimate: float, dist: list[float], n_resamples: int, confidence: float
) -> BootstrapResult:
    n_failed = n_resamples - len(dist)
    if len(dist) * 2 < n_resamples:
        raise NotEnoughData(
            f"The statistic was undefined on {n_failed} of {n_resamples} bootstrap resamples, "
            "so no interval can be given. Add more units (items) with overlapping ratings."
        )
    arr = np.asarray(dist, dtype=float)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(arr, [tail, 1.0 - tail])
    return BootstrapResult(
        estimate=float(estimate),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        n_failed=n_failed,
        distribution=arr,
    )


def bootstrap_ci(
    data: RatingsLike,
    statistic: Callable[[Ratings], float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval for any statistic of ratings, resampling units.

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).
        statistic: Function of a :class:`Ratings` returning a float, e.g.
            ``lambda r: krippendorff_alpha(r, level="ordinal")``.
        n_resamples: Number of bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed or :class:`numpy.random.Generator`; the same seed gives the same interval.

    Raises:
        NotEnoughData: the statistic is undefined on the full data or on most resamples.
    """
    _check(n_resamples, confidence)
    r = as_ratings(data)
    estimate = statistic(r)
    rng = np.random.default_rng(seed)
    rated = np.flatnonzero(np.bincount(r.unit, minlength=r.n_units))
    dist: list[float] = []
    for _ in range(n_resamples):
        pick = rated[rng.integers(0, rated.shape[0], size=rated.shape[0])]
        try:
            dist.append(float(statistic(r.take_units(pick))))
        except QualityError:
            continue
    return _finish(estimate, dist, n_resamples, confidence)


def _distinct_rows(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a non-negative integer-valued table, and each row's index into
    them (a row read as one number when that fits 63 bits: much faster than sorting rows)."""
    cells = c.astype(np.int64)
    base = int(cells.max(initial=0)) + 1
    if cells.shape[1] * np.log2(base) < 62:
        key = cells @ (base ** np.arange(cells.shape[1], dtype=np.int64))
        _, first, which = np.unique(key, return_index=True, return_inverse=True)
        return c[first], np.ravel(which)
    distinct, which = np.unique(c, axis=0, return_inverse=True)
    return distinct, np.ravel(which)


def krippendorff_alpha_ci(
    data: RatingsLike,
    *,
    level: Level = "nominal",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
    order: Sequence[Hashable] | None = None,
) -> BootstrapResult:
    """Bootstrap interval for Krippendorff's alpha, resampling units (fast path).

    Gives the same resamples, hence the same interval, as
    ``bootstrap_ci(data, lambda r: krippendorff_alpha(r, level=level), seed=seed)``, but
    reweights a units × values count table instead of rebuilding the ratings.

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).
        level: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
        n_resamples: Number of bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed or :class:`numpy.random.Generator`.
        order: For ordinal: every label, lowest rank first (see ``in_order``).
    """
    _check_level(level)
    _check(n_resamples, confidence)
    if order is not None and level != "ordinal":
        raise InvalidInput(f"A label order applies to level='ordinal', not {level!r}.")
    counts, domain, r = _counts_and_domain(data, "Krippendorff's alpha", order)
    if level in ("interval", "ratio") and r.numeric_classes() is None:
        raise InvalidInput(
            f"level={level!r} needs numeric labels; got labels such as {r.classes[:5]!r}."
        )
    estimate = alpha_parts(counts, level=level, value_domain=domain).alpha
    m_all = counts.sum(axis=1)
    rated = np.flatnonzero(m_all > 0)
    pairable = m_all[rated] >= 2
    # Units with the same counts add the same to the coincidence matrix: a resample is how
    # many times each distinct row of counts was drawn (few rows, however many units).
    profiles, which = _distinct_rows(counts[rated][pairable])
    small = np.int16 if profiles.shape[0] < 2**15 - 1 else np.int32  # (gathers fit the cache)
    profile = np.full(rated.shape[0], profiles.shape[0], dtype=small)  # last bin: unpaired
    profile[pairable] = np.ravel(which)
    m_p = profiles.sum(axis=1)
    rng = np.random.default_rng(seed)
    dist: list[float] = []
    for _ in range(n_resamples):
        draw = rng.integers(0, rated.shape[0], size=rated.shape[0])
        w = np.bincount(profile[draw], minlength=profiles.shape[0] + 1)[:-1].astype(float)
        if not w.any():
            continue
        try:
            observed, expected, _ = _disagreements(profiles, m_p, domain, level, unit_weights=w)
        except QualityError:
            continue
        dist.append(1.0 - observed / expected)
    return _finish(estimate, dist, n_resamples, confidence)
