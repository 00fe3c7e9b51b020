"""Inter-annotator agreement coefficients for categorical and numeric labels.

Inputs are a :class:`~truelabel.quality.encode.Ratings` object or a reliability matrix
(annotators × units, ``NaN``/``None`` for missing), except :func:`cohen_kappa`, which takes the
two raters' label sequences.

References:
    Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
    Communication Departmental Papers 43. (coincidence matrices, all four metrics)
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin 76(5), 378-382.
    Cohen, J. (1960, 1968). A coefficient of agreement for nominal scales; Weighted kappa.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .encode import Ratings, RatingsLike, as_ratings, encode_labels
from .errors import InvalidInput, NotEnoughData, NoVariation

__all__ = [
    "AlphaParts",
    "Level",
    "alpha_parts",
    "cohen_kappa",
    "fleiss_kappa",
    "in_order",
    "krippendorff_alpha",
    "krippendorff_alpha_from_counts",
    "percent_agreement",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _check_level(level: str) -> None:
    if level not in _LEVELS:
        raise InvalidInput(
            f"Unknown level of measurement {level!r}; known levels: {', '.join(_LEVELS)}."
        )


def _delta(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """Squared difference function δ²(c, k) of Krippendorff (2011), as a V × V matrix."""
    v = values.astype(float)
    if level == "nominal":
        return 1.0 - np.eye(v.shape[0])
    if level == "interval":
        squared: np.ndarray = (v[:, None] - v[None, :]) ** 2
        return squared
    if level == "ratio":
        s = v[:, None] + v[None, :]
        d = v[:, None] - v[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(s == 0, 0.0, (d / np.where(s == 0, 1.0, s)) ** 2)
        return out
    # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 over values in rank order
    order = np.argsort(v, kind="stable")
    n_sorted = n_c[order]
    cum = np.cumsum(n_sorted)
    i = np.arange(v.shape[0])
    lo = np.minimum(i[:, None], i[None, :])
    hi = np.maximum(i[:, None], i[None, :])
    between = cum[hi] - cum[lo] + n_sorted[lo]
    d_sorted = (between - (n_sorted[:, None] + n_sorted[None, :]) / 2.0) ** 2
    out = np.empty_like(d_sorted)
    out[np.ix_(order, order)] = d_sorted
    return out


@dataclass(frozen=True)
class AlphaParts:
    """The pieces of Krippendorff's alpha for one data set.

    Attributes:
        alpha: ``1 - observed / expected``.
        observed: Observed disagreement D_o.
        expected: Expected disagreement D_e.
        n_pairable: Number of pairable values n (values in units with two or more ratings).
        n_units: Number of units with two or more ratings.
    """

    alpha: float
    observed: float
    expected: float
    n_pairable: int
    n_units: int


def alpha_parts(
    counts: np.ndarray,
    *,
    level: Level = "nominal",
    value_domain: Sequence[float] | np.ndarray | None = None,
) -> AlphaParts:
    """Krippendorff's alpha and its parts from a units × values count table.

    Args:
        counts: ``counts[u, c]`` = number of coders who gave unit ``u`` the value ``c``.
        level: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
        value_domain: Numeric value of each column (needed for interval and ratio; for ordinal
            it gives the rank order). Default: ``0, 1, 2, ...``.

    Raises:
        InvalidInput: ``level="ratio"`` with a negative value in use (use ``"interval"``).
        NotEnoughData: no unit has two or more ratings.
        NoVariation: every pairable value is identical.
    """
    _check_level(level)
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2:
        raise InvalidInput(
            f"counts must be 2-D (units × values); got shape {c.shape}. Build it with "
            "`Ratings.value_counts()`."
        )
    values = (
        np.arange(c.shape[1], dtype=float)
        if value_domain is None
        else np.asarray(value_domain, dtype=float)
    )
    if values.shape[0] != c.shape[1]:
        raise InvalidInput(
            f"value_domain has {values.shape[0]} values but counts has {c.shape[1]} columns; "
            "give one value per column."
        )
    if level == "ratio":
        check_ratio_values(values, c.sum(axis=0))
    m_u = c.sum(axis=1)
    keep = m_u >= 2
    c = c[keep]
    m_u = m_u[keep]
    if c.shape[0] == 0:
        raise NotEnoughData(
            "Krippendorff's alpha needs at least one unit with two or more ratings; got none. "
            "Add overlapping annotations (several annotators on the same items)."
        )
    observed, expected, n = _disagreements(c, m_u, values, level)
    return AlphaParts(
        alpha=1.0 - observed / expected,
        observed=observed,
        expected=expected,
        n_pairable=int(round(n)),
        n_units=int(c.shape[0]),
    )


def check_ratio_values(values: np.ndarray, used: np.ndarray) -> None:
    """A ratio scale has a true zero: every value used must be 0 or more."""
    negative = values[(used > 0) & (values < 0)]
    if negative.size:
        shown = ", ".join(f"{v:g}" for v in np.unique(negative)[:5])
        raise InvalidInput(
            f"level='ratio' needs values of 0 or more (a ratio scale has a true zero); got "
            f"{negative.size} negative value(s): {shown}. Use level='interval' for values that "
            "can be negative (differences, scores centred on 0)."
        )


def _disagreements(
    c: np.ndarray, m_u: np.ndarray, values: np.ndarray, level: str,
    unit_weights: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Observed and expected disagreement of pairable counts ``c`` (units with m_u >= 2).

    ``unit_weights`` multiplies each unit's contribution (bootstrap resampling counts).
    """
    scale = 1.0 / (m_u - 1.0) if unit_weights is None else unit_weights / (m_u - 1.0)
    weighted = c * scale[:, None]
    # Coincidence matrix: o_ck = sum_u (n_uc n_uk - [c == k] n_uc) / (m_u - 1)
    o = weighted.T @ c
    o[np.diag_indices_from(o)] -= weighted.sum(axis=0)
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    delta = _delta(values, n_c, level)
    observed = float((o * delta).sum() / n)
    expected = float((np.outer(n_c, n_c) * delta).sum() / (n * (n - 1.0)))
    if expected <= 0.0:
        raise NoVariation(
            f"All {int(round(n))} pairable ratings have the same value, so expected "
            "disagreement is 0 and Krippendorff's alpha is undefined. Agreement cannot be told "
            "apart from chance without variation; report percent agreement instead or add more "
            "varied units."
        )
    return observed, expected, n


def krippendorff_alpha_from_counts(
    counts: np.ndarray,
    *,
    level: Level = "nominal",
    value_domain: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Krippendorff's alpha from a units × values count table.

    Args:
        counts: ``counts[u, c]`` = number of coders who gave unit ``u`` the value ``c``.
        level: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
        value_domain: Numeric value of each column; default ``0, 1, 2, ...``.
    """
    return alpha_parts(counts, level=level, value_domain=value_domain).alpha


def in_order(data: RatingsLike, order: Sequence[Hashable]) -> Ratings:
    """The ratings with their classes re-coded in ``order`` (lowest rank first).

    For ordinal agreement on labels whose sorted order is not their rank (``bad, ok, good``
    sorts as ``bad, good, ok``). A label matches an entry of ``order`` by value, else by its
    text, so ``"3"`` given on a command line matches the number 3. Entries nobody used are
    kept (they still sit between the others).

    Raises:
        InvalidInput: an entry is repeated, or a label is not in ``order``.
    """
    r = as_ratings(data)
    order = list(order)
    texts = [str(o) for o in order]
    if len(set(texts)) != len(texts):
        twice = sorted({t for t in texts if texts.count(t) > 1})
        raise InvalidInput(f"The label order names {twice} more than once; name each once.")
    classes: list[Hashable] = list(order)
    code: list[int] = []
    missing = []
    for label in r.classes:
        if label in order:
            k = order.index(label)
        elif str(label) in texts:
            k = texts.index(str(label))
        else:
            missing.append(label)
            continue
        classes[k] = label
        code.append(k)
    if missing:
        raise InvalidInput(
            f"The label order {texts} leaves out {missing[:10]!r}; give every label used, "
            "lowest first."
        )
    recode = np.asarray(code, dtype=np.int64)
    label_codes = recode[r.label] if r.label.size else r.label
    return Ratings(r.unit, r.annotator, label_codes, r.units, r.annotators, tuple(classes))


def _counts_and_domain(
    data: RatingsLike, what: str, order: Sequence[Hashable] | None = None
) -> tuple[np.ndarray, np.ndarray, Ratings]:
    """Counts per unit and value, each value's place on the scale, and the ratings. With an
    ``order`` the values are ranks 0, 1, 2... in that order; else numbers keep their value."""
    r = in_order(data, order) if order is not None else as_ratings(data)
    r.require_unique(what)
    numeric = None if order is not None else r.numeric_classes()
    domain = numeric if numeric is not None else np.arange(r.n_classes, dtype=float)
    return r.value_counts(), domain, r


def krippendorff_alpha(
    data: RatingsLike, *, level: Level = "nominal", order: Sequence[Hashable] | None = None
) -> float:
    """Krippendorff's alpha reliability coefficient, with missing values.

    Follows the coincidence-matrix computation of Krippendorff (2011). Units with fewer than
    two ratings carry no pairable values and are ignored.

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units, ``NaN``/``None`` for
            missing).
        level: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``. Interval and ratio
            need numeric labels; ordinal uses ``order``, else the sorted order of the labels.
        order: For ordinal: every label, lowest rank first (see :func:`in_order`).

    Returns:
        Alpha: 1 is perfect agreement, 0 is chance, negative is systematic disagreement.

    Raises:
        NotEnoughData: no unit has two or more ratings.
        NoVariation: all pairable ratings are the same value.
        DuplicateRatings: an annotator rated a unit twice (drop duplicates first).
        InvalidInput: ``level="ratio"`` with negative values (a ratio scale has a true zero;
            use ``level="interval"``), or non-numeric labels for interval/ratio.

    Example:
        >>> krippendorff_alpha([[1, 2, 3, 3], [1, 2, 3, 4]], level="nominal")
        0.6956521739130435
    """
    _check_level(level)
    if order is not None and level != "ordinal":
        raise InvalidInput(f"A label order applies to level='ordinal', not {level!r}.")
    counts, domain, r = _counts_and_domain(data, "Krippendorff's alpha", order)
    if level in ("interval", "ratio") and r.numeric_classes() is None:
        raise InvalidInput(
            f"level={level!r} needs numeric labels; got labels such as {r.classes[:5]!r}. "
            "Use level='nominal' or 'ordinal', or pass numbers."
        )
    return alpha_parts(counts, level=level, value_domain=domain).alpha


def percent_agreement(data: RatingsLike) -> float:
    """Mean pairwise percent agreement.

    For each unit with at least two ratings, the share of ordered pairs of its ratings that
    agree; then the unweighted mean over those units. Not chance-corrected.

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).

    Raises:
        NotEnoughData: no unit has two or more ratings.
    """
    counts, _, _ = _counts_and_domain(data, "Percent agreement")
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        raise NotEnoughData(
            "Percent agreement needs at least one unit with two or more ratings; got none. "
            "Add overlapping annotations."
        )
    c, m = counts[keep], m[keep]
    return float(np.mean((c * (c - 1.0)).sum(axis=1) / (m * (m - 1.0))))


def fleiss_kappa(data: RatingsLike, *, counts: bool = False) -> float:
    """Fleiss' kappa for a fixed number of raters per item (Fleiss 1971).

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units); or, with
            ``counts=True``, an items × categories table of rating counts.
        counts: Treat ``data`` as an items × categories count table.

    Raises:
        InvalidInput: items have different numbers of ratings (use Krippendorff's alpha).
        NotEnoughData: fewer than two ratings per item.
        NoVariation: every rating is the same category.

    Example:
        >>> round(fleiss_kappa([[0, 2], [2, 0], [1, 1]], counts=True), 3)
        0.333
    """
    if counts:
        table = np.asarray(data, dtype=float)
        if table.ndim != 2:
            raise InvalidInput(
                f"A count table must be 2-D (items × categories); got shape {table.shape}."
            )
    else:
        table, _, _ = _counts_and_domain(data, "Fleiss' kappa")
    n_i = table.sum(axis=1)
    table = table[n_i > 0]
    n_i = n_i[n_i > 0]
    if table.shape[0] == 0:
        raise NotEnoughData("Fleiss' kappa needs rated items; got none. Add ratings.")
    n = n_i[0]
    if not np.all(n_i == n):
        raise InvalidInput(
            f"Fleiss' kappa needs the same number of ratings on every item; got between "
            f"{int(n_i.min())} and {int(n_i.max())}. Use krippendorff_alpha, which handles "
            "missing ratings, or drop incomplete items."
        )
    if n < 2:
        raise NotEnoughData(
            "Fleiss' kappa needs at least two ratings per item; got 1. Add overlapping ratings."
        )
    p_items = ((table * table).sum(axis=1) - n) / (n * (n - 1.0))
    p_bar = float(p_items.mean())
    p_j = table.sum(axis=0) / (table.shape[0] * n)
    p_e = float((p_j * p_j).sum())
    if p_e >= 1.0:
        raise NoVariation(
            "Every rating is the same category, so chance agreement is 1 and Fleiss' kappa is "
            "undefined. Report percent agreement instead or add more varied items."
        )
    return (p_bar - p_e) / (1.0 - p_e)


def cohen_kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    labels: Sequence[Hashable] | None = None,
    classes: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa between two raters, optionally weighted (Cohen 1960, 1968).

    Items where either rater has no label (``None``/``NaN``) are skipped.

    The weights of weighted kappa are distances between positions on the label scale, and the
    scale is the measured field's: ``labels`` when given (e.g. the schema's order), else every
    label either rater used, *paired or not*, sorted. A label that only occurs in an unpaired
    answer still holds its place between its neighbours, so a distance never depends on which
    items happen to be paired (see docs/quality.md, "Weighted Cohen's kappa"). ``truelabel
    agreement --metric cohen --weights ...`` uses the same scale, so both give the same number.
    Unweighted kappa does not depend on the label set.

    Args:
        rater_a: First rater's label per item.
        rater_b: Second rater's label per item (same items, same order).
        weights: ``None`` (unweighted), ``"linear"`` (|i - j|) or ``"quadratic"`` ((i - j)²),
            where i, j are positions in ``labels``.
        labels: The label scale, lowest first; must hold every label used. Default: every
            label of either rater (paired or not), sorted.
        classes: Former name of ``labels`` (kept for existing callers).

    Raises:
        InvalidInput: lengths differ, ``weights`` is unknown, ``labels`` repeats a label, or
            ``labels`` and ``classes`` are both given and differ.
        UnknownLabel: a label used by a rater is not in ``labels`` (the message names it).
        NotEnoughData: no item has labels from both raters.
        NoVariation: both raters used one and the same label throughout.

    Example:
        >>> cohen_kappa(["y", "y", "n", "n"], ["y", "n", "n", "n"])
        0.5
    """
    if len(rater_a) != len(rater_b):
        raise InvalidInput(
            f"Both raters must label the same items; got {len(rater_a)} and {len(rater_b)} "
            "labels. Align the two sequences item by item (None for a missing label)."
        )
    if weights not in (None, "linear", "quadratic"):
        raise InvalidInput(
            f"Unknown weights {weights!r}; use None, 'linear' or 'quadratic'."
        )
    scale = _kappa_scale(labels, classes)
    # Encode every answer, paired or not, on one scale (see the docstring).
    codes, found = encode_labels(_as_list(list(rater_a) + list(rater_b)), classes=scale)
    ca, cb = codes[: len(rater_a)], codes[len(rater_a):]
    both = (ca >= 0) & (cb >= 0)
    if not both.any():
        raise NotEnoughData(
            "Cohen's kappa needs at least one item labelled by both raters; got none. "
            "Have both raters label some of the same items."
        )
    k = len(found)
    ca, cb = ca[both], cb[both]
    n = int(both.sum())
    observed = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k) / n
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    idx = np.arange(k)
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights == "linear":
        w = np.abs(idx[:, None] - idx[None, :]).astype(float)
    else:
        w = ((idx[:, None] - idx[None, :]) ** 2).astype(float)
    denom = float((w * expected).sum())
    if denom <= 0.0:
        raise NoVariation(
            "Both raters gave one and the same label to every item, so chance agreement is 1 "
            "and Cohen's kappa is undefined. Report percent agreement instead."
        )
    return 1.0 - float((w * observed).sum()) / denom


def _kappa_scale(
    labels: Sequence[Hashable] | None, classes: Sequence[Hashable] | None
) -> list[Hashable] | None:
    """The label scale given to :func:`cohen_kappa` (``labels``, or its former name)."""
    if labels is not None and classes is not None and list(labels) != list(classes):
        raise InvalidInput(
            "cohen_kappa got both labels= and classes= and they differ; classes is the former "
            "name of labels, so pass only labels=."
        )
    scale = list(labels) if labels is not None else (
        list(classes) if classes is not None else None)
    if scale is not None and len(set(scale)) != len(scale):
        twice = sorted({str(x) for x in scale if scale.count(x) > 1})
        raise InvalidInput(f"The label order names {twice} more than once; name each once.")
    return scale


def _as_list(values: list[Hashable]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
