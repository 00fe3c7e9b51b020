"""Agreement broken down per label, per annotator pair and per slice of items.

A breakdown never raises because one group is too small: the group gets ``value = NaN`` and a
``note`` saying why, so a report can show every row.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .agreement import (
    Level,
    _check_level,
    _delta,
    check_ratio_values,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from .encode import Ratings, RatingsLike, as_ratings
from .errors import InvalidInput, QualityError

__all__ = [
    "AgreementScore",
    "PairAgreement",
    "pairwise_agreement",
    "per_label_agreement",
    "slice_agreement",
]

GroupMetric = Literal["alpha", "percent", "fleiss"]
PairMetric = Literal["cohen_kappa", "percent", "alpha"]


@dataclass(frozen=True)
class AgreementScore:
    """Agreement on one group of ratings.

    Attributes:
        value: The coefficient, or ``NaN`` when it is undefined for this group.
        n_units: Units in the group with two or more ratings.
        n_ratings: Ratings in the group.
        note: Why ``value`` is ``NaN`` (``None`` otherwise).
    """

    value: float
    n_units: int
    n_ratings: int
    note: str | None = None


@dataclass(frozen=True)
class PairAgreement:
    """Agreement between two annotators on the units both rated.

    Attributes:
        annotator_a: First annotator id.
        annotator_b: Second annotator id.
        n_units: Units both rated.
        value: The coefficient, or ``NaN`` when undefined.
        note: Why ``value`` is ``NaN`` (``None`` otherwise).
    """

    annotator_a: Hashable
    annotator_b: Hashable
    n_units: int
    value: float
    note: str | None = None


def _group_score(r: Ratings, metric: str, level: Level) -> AgreementScore:
    m = np.bincount(r.unit, minlength=r.n_units)
    n_units = int((m >= 2).sum())
    try:
        if metric == "alpha":
            value = krippendorff_alpha(r, level=level)
        elif metric == "percent":
            value = percent_agreement(r)
        else:
            value = fleiss_kappa(r)
    except QualityError as exc:
        return AgreementScore(float("nan"), n_units, r.n_ratings, str(exc))
    return AgreementScore(float(value), n_units, r.n_ratings)


def _check_metric(metric: str, known: tuple[str, ...]) -> None:
    if metric not in known:
        raise InvalidInput(f"Unknown metric {metric!r}; known metrics: {', '.join(known)}.")


def per_label_agreement(
    data: RatingsLike, *, metric: GroupMetric = "alpha"
) -> dict[Hashable, AgreementScore]:
    """Agreement on each label, one-vs-rest.

    Every rating is turned into "is this label" / "is another label", and the chosen
    coefficient is computed on that binary data (nominal level).

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).
        metric: ``"alpha"`` (Krippendorff), ``"percent"`` or ``"fleiss"``.

    Returns:
        Label → :class:`AgreementScore`, in class order.
    """
    _check_metric(metric, ("alpha", "percent", "fleiss"))
    r = as_ratings(data)
    out: dict[Hashable, AgreementScore] = {}
    for code, label in enumerate(r.classes):
        binary = Ratings(
            r.unit, r.annotator, (r.label == code).astype(np.int64),
            r.units, r.annotators, (False, True),
        )
        out[label] = _group_score(binary, metric, "nominal")
    return out


def slice_agreement(
    data: RatingsLike,
    slices: Sequence[Hashable] | Mapping[Any, Hashable],
    *,
    metric: GroupMetric = "alpha",
    level: Level = "nominal",
) -> dict[Hashable, AgreementScore]:
    """Agreement within each slice of units (e.g. language, source, domain).

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).
        slices: One slice key per unit, in unit order; or a mapping unit id → slice key.
            Units missing from a mapping are left out.
        metric: ``"alpha"``, ``"percent"`` or ``"fleiss"``.
        level: Level of measurement for ``"alpha"``.

    Returns:
        Slice key → :class:`AgreementScore`, keys in first-seen order.

    Raises:
        InvalidInput: a sequence of slices does not have one key per unit.
    """
    _check_metric(metric, ("alpha", "percent", "fleiss"))
    _check_level(level)
    r = as_ratings(data)
    if isinstance(slices, Mapping):
        keys: list[Hashable] = [slices.get(u, _MISSING) for u in r.units.tolist()]
    else:
        keys = list(slices)
        if len(keys) != r.n_units:
            raise InvalidInput(
                f"slices needs one key per unit; got {len(keys)} keys for {r.n_units} units. "
                "Pass a mapping unit id → slice key instead if some units have no slice."
            )
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not _MISSING:
            groups.setdefault(key, []).append(i)
    return {
        key: _group_score(r.take_units(np.asarray(idx, dtype=np.int64)), metric, level)
        for key, idx in groups.items()
    }


_MISSING: Any = object()


def _pairs(r: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of ratings of one unit by two annotators: (ann_a, ann_b, label_a, label_b),
    with ann_a < ann_b."""
    order = np.lexsort((r.annotator, r.unit))
    unit, ann, lab = r.unit[order], r.annotator[order], r.label[order]
    sizes = np.bincount(unit, minlength=r.n_units)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out: list[tuple[np.ndarray, ...]] = []
    for m in np.unique(sizes[sizes >= 2]).tolist():
        base = starts[sizes == m][:, None]
        ia, ib = np.triu_indices(m, k=1)
        rows_a = (base + ia[None, :]).ravel()
        rows_b = (base + ib[None, :]).ravel()
        out.append((ann[rows_a], ann[rows_b], lab[rows_a], lab[rows_b]))
    if not out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))  # type: ignore[return-value]


def pairwise_agreement(
    data: RatingsLike,
    *,
    metric: PairMetric = "cohen_kappa",
    weights: Literal["linear", "quadratic"] | None = None,
    level: Level = "nominal",
    min_overlap: int = 1,
) -> list[PairAgreement]:
    """Agreement of every pair of annotators on the units both rated.

    All pairs are scored at once from a pairs × K × K contingency tensor, so this stays fast
    with hundreds of annotators.

    Args:
        data: :class:`Ratings` or a reliability matrix (annotators × units).
        metric: ``"cohen_kappa"``, ``"percent"`` or ``"alpha"`` (Krippendorff, two coders).
        weights: Kappa weights: ``None``, ``"linear"`` or ``"quadratic"`` (class-order
            positions).
        level: Level of measurement for ``"alpha"``.
        min_overlap: Leave out pairs sharing fewer units than this.

    Returns:
        One :class:`PairAgreement` per pair sharing at least ``min_overlap`` units, ordered by
        the annotators' first appearance.
    """
    _check_metric(metric, ("cohen_kappa", "percent", "alpha"))
    _check_level(level)
    if weights not in (None, "linear", "quadratic"):
        raise InvalidInput(f"Unknown weights {weights!r}; use None, 'linear' or 'quadratic'.")
    r = as_ratings(data)
    r.require_unique("Pairwise agreement")
    numeric = r.numeric_classes()
    if metric == "alpha" and level in ("interval", "ratio") and numeric is None:
        raise InvalidInput(f"level={level!r} needs numeric labels; got {r.classes[:5]!r}.")
    if metric == "alpha" and level == "ratio" and numeric is not None:
        check_ratio_values(numeric, np.bincount(r.label, minlength=r.n_classes))
    k = max(r.n_classes, 1)
    a, b, la, lb = _pairs(r)
    key = a * r.n_annotators + b
    pair_keys, pair_idx = np.unique(key, return_inverse=True)
    n_pairs = pair_keys.shape[0]
    table = np.bincount(
        pair_idx * k * k + la * k + lb, minlength=n_pairs * k * k
    ).reshape(n_pairs, k, k).astype(float)
    n = table.sum(axis=(1, 2))
    keep = n >= max(min_overlap, 1)
    table, n, pair_keys = table[keep], n[keep], pair_keys[keep]
    idx = np.arange(k)
    values, notes = _pair_values(table, n, metric, weights, level, numeric, idx)
    out = []
    for p in range(pair_keys.shape[0]):
        ia, ib = divmod(int(pair_keys[p]), r.n_annotators)
        out.append(PairAgreement(
            r.annotators[ia], r.annotators[ib], int(n[p]), float(values[p]), notes[p]
        ))
    return out


def _pair_values(
    table: np.ndarray, n: np.ndarray, metric: str, weights: str | None, level: Level,
    numeric: np.ndarray | None, idx: np.ndarray,
) -> tuple[np.ndarray, list[str | None]]:
    k = table.shape[1]
    if metric == "percent":
        return np.trace(table, axis1=1, axis2=2) / n, [None] * table.shape[0]
    if metric == "cohen_kappa":
        if weights is None:
            w = 1.0 - np.eye(k)
        elif weights == "linear":
            w = np.abs(idx[:, None] - idx[None, :]).astype(float)
        else:
            w = ((idx[:, None] - idx[None, :]) ** 2).astype(float)
        obs = table / n[:, None, None]
        exp = obs.sum(axis=2)[:, :, None] * obs.sum(axis=1)[:, None, :]
        num = (obs * w).sum(axis=(1, 2))
        den = (exp * w).sum(axis=(1, 2))
        undefined = "both annotators used one and the same label on every shared unit"
    else:
        # Two coders, no missing values: o = T + T^T; pairable n = 2 * units.
        o = table + table.transpose(0, 2, 1)
        n_c = o.sum(axis=2)
        tot = n_c.sum(axis=1)
        values = numeric if numeric is not None else idx.astype(float)
        if level == "ordinal":
            delta = np.stack([_delta(values, n_c[p], level) for p in range(o.shape[0])])
        else:
            delta = np.broadcast_to(_delta(values, np.zeros(k), level), o.shape)
        num = (o * delta).sum(axis=(1, 2)) / tot
        den = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2)) / (tot * (tot - 1))
        undefined = "all shared ratings have the same value (no variation)"
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(den > 0, 1.0 - num / np.where(den > 0, den, 1.0), np.nan)
    notes: list[str | None] = [None if d > 0 else undefined for d in den.tolist()]
    return val, notes
