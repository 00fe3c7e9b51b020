"""Turn long-format labels into integer-coded arrays.

Every engine in ``truelabel.quality`` works on one representation, :class:`Ratings`: three
parallel integer arrays (unit, annotator, label code) plus the ids and class values they index.
Build it from long format with :func:`encode_ratings`, or from a reliability matrix
(annotators × units, ``NaN``/``None`` for missing) with :meth:`Ratings.from_matrix`.

Example:
    >>> r = encode_ratings(["i1", "i1", "i2"], ["ann", "bob", "ann"], ["cat", "dog", "cat"])
    >>> r.classes, r.label.tolist()
    (('cat', 'dog'), [0, 1, 0])
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import DuplicateRatings, InvalidInput, UnknownLabel

__all__ = [
    "Ratings",
    "RatingsLike",
    "ReliabilityMatrix",
    "encode_coded",
    "encode_labels",
    "encode_ratings",
    "is_missing",
    "reliability_matrix",
]


def is_missing(value: object) -> bool:
    """Return True for the missing-value markers ``None`` and float ``NaN``."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _object_array(values: Iterable[Any]) -> np.ndarray:
    seq = list(values)
    out = np.empty(len(seq), dtype=object)
    out[:] = seq
    return out


def _sorted_or_seen(values: Iterable[Hashable]) -> list[Hashable]:
    """Sorted unique values; first-seen order when the values cannot be compared."""
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen)  # type: ignore[type-var]
    except TypeError:
        return seen


def _factorize(values: Sequence[Hashable], first: Iterable[Hashable] = ()) -> tuple[
    np.ndarray, list[Hashable]
]:
    """Codes in first-seen order (optionally seeded with ``first``)."""
    index: dict[Hashable, int] = {}
    for v in first:
        index.setdefault(v, len(index))
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
    )
    return codes, list(index)


def _class_index(present: list[Hashable], classes: Sequence[Hashable] | None
                 ) -> tuple[list[Hashable], dict[Hashable, int]]:
    """The classes in code order (``classes``, else the labels sorted) and label → code.

    Raises:
        UnknownLabel: a label is not in ``classes``.
    """
    ordered = list(classes) if classes is not None else _sorted_or_seen(present)
    index = {v: i for i, v in enumerate(ordered)}
    unknown = [v for v in dict.fromkeys(present) if v not in index]
    if unknown:
        raise UnknownLabel(
            f"{len(unknown)} label(s) are not among the declared classes, e.g. "
            f"{unknown[:5]!r}; known classes: {ordered[:20]!r}. Add them to `classes` "
            "or fix the labels."
        )
    return ordered, index


def encode_labels(
    labels: Sequence[Hashable] | np.ndarray, *, classes: Sequence[Hashable] | None = None
) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """Map arbitrary hashable labels to integer codes.

    Args:
        labels: One label per rating. ``None`` and ``NaN`` mean "missing" and get code -1.
        classes: The label set, in code order. Default: the distinct labels, sorted (or in
            first-seen order when they cannot be compared, e.g. mixed ``str`` and ``int``).

    Returns:
        ``(codes, classes)``: an ``int64`` array of codes and the tuple of class values.

    Raises:
        UnknownLabel: a label is not in ``classes``.
    """
    # Lists go through an object array: np.asarray would turn [1, "a"] into strings.
    arr = labels if isinstance(labels, np.ndarray) else _object_array(labels)
    if arr.ndim != 1:
        arr = _object_array(labels)
    if arr.dtype.kind in "iub":
        uniques, codes = np.unique(arr, return_inverse=True)
        found: list[Hashable] = uniques.tolist()
        if classes is None:
            return codes.astype(np.int64), tuple(found)
    elif arr.dtype.kind == "f":
        ok = ~np.isnan(arr)
        uniques, inv = np.unique(arr[ok], return_inverse=True)
        codes = np.full(arr.shape[0], -1, dtype=np.int64)
        codes[ok] = inv
        found = [int(v) if float(v).is_integer() else float(v) for v in uniques.tolist()]
        if classes is None:
            return codes, tuple(found)
    else:
        values = arr.tolist()
        ordered, index = _class_index([v for v in values if not is_missing(v)], classes)
        codes = np.fromiter(
            (-1 if is_missing(v) else index[v] for v in values),
            dtype=np.int64,
            count=len(values),
        )
        return codes, tuple(ordered)
    # Numeric input with declared classes: remap the sorted uniques onto the declared order.
    declared = list(classes)
    index = {v: i for i, v in enumerate(declared)}
    unknown = [v for v in found if v not in index]
    if unknown:
        raise UnknownLabel(
            f"{len(unknown)} label(s) are not among the declared classes, e.g. {unknown[:5]!r}; "
            f"known classes: {declared[:20]!r}. Add them to `classes` or fix the labels."
        )
    remap = np.array([index[v] for v in found], dtype=np.int64)
    out = np.full(codes.shape[0], -1, dtype=np.int64)
    ok = codes >= 0
    out[ok] = remap[codes[ok]] if remap.size else codes[ok]
    return out, tuple(declared)


@dataclass(frozen=True, eq=False)
class Ratings:
    """Integer-coded long-format ratings: row ``r`` says annotator ``annotator[r]`` gave unit
    ``unit[r]`` the class ``classes[label[r]]``.

    Attributes:
        unit: ``int64`` unit (item) code per rating, indexing ``units``.
        annotator: ``int64`` annotator code per rating, indexing ``annotators``.
        label: ``int64`` class code per rating, indexing ``classes``.
        units: Unit ids (object array). Units may have no ratings at all.
        annotators: Annotator ids (object array).
        classes: Class values in code order (sorted when sortable).
    """

    unit: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    units: np.ndarray
    annotators: np.ndarray
    classes: tuple[Hashable, ...]

    @property
    def n_ratings(self) -> int:
        """Number of ratings (rows)."""
        return int(self.unit.shape[0])

    @property
    def n_units(self) -> int:
        """Number of units, including units without ratings."""
        return int(self.units.shape[0])

    @property
    def n_annotators(self) -> int:
        """Number of annotators."""
        return int(self.annotators.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @classmethod
    def from_matrix(
        cls, matrix: Any, *, classes: Sequence[Hashable] | None = None
    ) -> Ratings:
        """Build ratings from a reliability matrix (annotators × units).

        Args:
            matrix: 2-D array-like; ``NaN`` or ``None`` marks a missing rating.
            classes: Optional label set in code order (see :func:`encode_labels`).

        Raises:
            InvalidInput: ``matrix`` is not two-dimensional.
        """
        arr = matrix if isinstance(matrix, np.ndarray) else np.asarray(matrix, dtype=object)
        if arr.dtype == object and all(
            v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool))
            for v in arr.ravel().tolist()
        ):
            arr = arr.astype(float)  # None -> NaN
        if arr.ndim != 2:
            raise InvalidInput(
                f"A reliability matrix must be 2-D (annotators × units); got shape {arr.shape}. "
                "Pass one row per annotator and one column per unit, NaN for missing."
            )
        n_ann, n_units = arr.shape
        codes, found = encode_labels(arr.ravel(), classes=classes)
        codes = codes.reshape(arr.shape)
        ann, unit = np.nonzero(codes >= 0)
        return cls(
            unit=unit.astype(np.int64),
            annotator=ann.astype(np.int64),
            label=codes[ann, unit],
            units=_object_array(range(n_units)),
            annotators=_object_array(range(n_ann)),
            classes=found,
        )

    def numeric_classes(self) -> np.ndarray | None:
        """The classes as a float array when they are all real numbers (none at all counts:
        no ratings is not a reason to call the labels non-numeric), else None."""
        if all(
            isinstance(c, numbers.Real) and not isinstance(c, bool) for c in self.classes
        ):
            return np.asarray(self.classes, dtype=float)
        return None

    def duplicate_count(self) -> int:
        """Number of ratings beyond the first for each (unit, annotator) pair."""
        return self._duplicates

    @functools.cached_property
    def _duplicates(self) -> int:
        # Ratings are immutable and every engine asks (require_unique): sort once.
        key = np.sort(self.unit * max(self.n_annotators, 1) + self.annotator)
        return int((key[1:] == key[:-1]).sum())

    def drop_duplicates(self, *, keep: Literal["first", "last"] = "first") -> Ratings:
        """Keep one rating per (unit, annotator) pair.

        Args:
            keep: ``"first"`` or ``"last"`` rating in row order.
        """
        if keep not in ("first", "last"):
            raise InvalidInput(f"keep must be 'first' or 'last'; got {keep!r}.")
        key = self.unit * max(self.n_annotators, 1) + self.annotator
        order = np.argsort(key, kind="stable")  # stable: row order within a pair
        ranked = key[order]
        change = ranked[1:] != ranked[:-1]
        if keep == "first":
            mask = np.concatenate([[True], change])
        else:
            mask = np.concatenate([change, [True]])
        idx = np.sort(order[mask])
        out = self._take_rows(idx)
        out.__dict__["_duplicates"] = 0  # (the cached_property's cache: none are left)
        return out

    def require_unique(self, what: str) -> None:
        """Raise :class:`DuplicateRatings` if any (unit, annotator) pair repeats."""
        dup = self.duplicate_count()
        if dup:
            raise DuplicateRatings(
                f"{what} needs at most one rating per (unit, annotator) pair; {dup} rating(s) "
                "repeat a pair. Call `ratings.drop_duplicates(keep='first')` (or 'last') first."
            )

    def _take_rows(self, idx: np.ndarray) -> Ratings:
        return Ratings(
            self.unit[idx], self.annotator[idx], self.label[idx],
            self.units, self.annotators, self.classes,
        )

    def value_counts(self) -> np.ndarray:
        """Counts per unit and class, shape ``(n_units, n_classes)``."""
        k = max(self.n_classes, 1)
        flat = np.bincount(self.unit * k + self.label, minlength=self.n_units * k)
        return flat.reshape(self.n_units, k)[:, : self.n_classes].astype(float)

    def matrix(self) -> np.ndarray:
        """Reliability matrix, shape ``(n_annotators, n_units)``, ``NaN`` where missing.

        Cells hold the class values when every class is a real number, else the class codes.

        Raises:
            DuplicateRatings: a (unit, annotator) pair has more than one rating.
        """
        self.require_unique("A reliability matrix")
        out = np.full((self.n_annotators, self.n_units), np.nan)
        numeric = self.numeric_classes()
        out[self.annotator, self.unit] = numeric[self.label] if numeric is not None else self.label
        return out

    def take_units(self, idx: np.ndarray) -> Ratings:
        """Ratings of the units ``idx`` (codes; repeats allowed, each becomes a new unit).

        Used for bootstrap resampling and for slicing by unit.
        """
        idx = np.asarray(idx, dtype=np.int64)
        order = np.argsort(self.unit, kind="stable")
        counts = np.bincount(self.unit, minlength=self.n_units)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        lengths = counts[idx]
        total = int(lengths.sum())
        offsets = np.repeat(starts[idx] - (np.cumsum(lengths) - lengths), lengths)
        rows = order[offsets + np.arange(total)]
        return Ratings(
            unit=np.repeat(np.arange(idx.shape[0], dtype=np.int64), lengths),
            annotator=self.annotator[rows],
            label=self.label[rows],
            units=self.units[idx],
            annotators=self.annotators,
            classes=self.classes,
        )


def encode_ratings(
    items: Sequence[Hashable],
    annotators: Sequence[Hashable],
    labels: Sequence[Hashable],
    *,
    classes: Sequence[Hashable] | None = None,
    all_items: Iterable[Hashable] | None = None,
) -> Ratings:
    """Encode long-format ratings (one row per annotator's label for an item).

    Rows whose label is missing (``None``/``NaN``) are dropped, but their item is kept, so it
    is reported later as an item without a label rather than silently lost.

    Args:
        items: Item (unit) id per row.
        annotators: Annotator id per row.
        labels: Label per row (any hashable).
        classes: Label set in code order; default: sorted distinct labels.
        all_items: Items to include even if nobody labelled them; listed first, in this order.

    Returns:
        The encoded :class:`Ratings`; units and annotators are in first-seen order.

    Raises:
        InvalidInput: the three sequences differ in length.
        UnknownLabel: a label is not in ``classes``.
    """
    n = len(items)
    if len(annotators) != n or len(labels) != n:
        raise InvalidInput(
            f"items, annotators and labels must have the same length; got {n}, "
            f"{len(annotators)} and {len(labels)}. Pass one row per (item, annotator, label)."
        )
    unit, unit_ids = _factorize(list(items), () if all_items is None else all_items)
    ann, ann_ids = _factorize(list(annotators))
    codes, found = encode_labels(labels, classes=classes)
    keep = codes >= 0
    if not keep.all():
        unit, ann, codes = unit[keep], ann[keep], codes[keep]
    return Ratings(
        unit=unit,
        annotator=ann,
        label=codes,
        units=_object_array(unit_ids),
        annotators=_object_array(ann_ids),
        classes=found,
    )


def encode_coded(
    unit: np.ndarray,
    units: Sequence[Hashable],
    annotator: np.ndarray,
    annotators: Sequence[Hashable],
    label: np.ndarray,
    values: Sequence[Hashable],
    *,
    classes: Sequence[Hashable] | None = None,
) -> Ratings:
    """Ratings from long format that is already coded (e.g. by Arrow's ``dictionary_encode``):
    no Python object per rating is made, so millions of ratings encode in milliseconds.

    Args:
        unit: Per rating, the index of its unit in ``units``.
        units: Unit ids.
        annotator: Per rating, the index of its annotator in ``annotators``.
        annotators: Annotator ids.
        label: Per rating, the index of its label in ``values``; -1 for a missing label (the
            rating is dropped, its unit kept, as :func:`encode_ratings` does).
        values: The label of each label code. Equal values become one class.
        classes: Label set in code order; default: the values, sorted (first-seen order when
            they cannot be compared).

    Raises:
        InvalidInput: the three code arrays differ in length.
        UnknownLabel: a label is not in ``classes``.
    """
    unit, annotator, label = (np.asarray(a, dtype=np.int64) for a in (unit, annotator, label))
    if not unit.shape[0] == annotator.shape[0] == label.shape[0]:
        raise InvalidInput(
            f"unit, annotator and label codes must have the same length; got {unit.shape[0]}, "
            f"{annotator.shape[0]} and {label.shape[0]}. Pass one code per rating."
        )
    ordered, index = _class_index([v for v in values if not is_missing(v)], classes)
    remap = np.array([-1 if is_missing(v) else index[v] for v in values] + [-1],
                     dtype=np.int64)
    codes = remap[label]  # -1 indexes the trailing -1: missing stays missing
    keep = codes >= 0
    if not keep.all():
        unit, annotator, codes = unit[keep], annotator[keep], codes[keep]
    return Ratings(unit=unit, annotator=annotator, label=codes, units=_object_array(units),
                   annotators=_object_array(annotators), classes=tuple(ordered))


@dataclass(frozen=True, eq=False)
class ReliabilityMatrix:
    """A reliability matrix with the ids of its rows and columns.

    Attributes:
        matrix: Float array ``(n_annotators, n_units)``, ``NaN`` where missing. Cells hold the
            label values when every label is a real number, else class codes.
        units: Unit id per column.
        annotators: Annotator id per row.
        classes: Class values; ``classes[code]`` decodes a coded cell.
        coded: True when cells hold codes rather than label values.
    """

    matrix: np.ndarray
    units: np.ndarray
    annotators: np.ndarray
    classes: tuple[Hashable, ...]
    coded: bool


def reliability_matrix(
    items: Sequence[Hashable],
    annotators: Sequence[Hashable],
    labels: Sequence[Hashable],
    *,
    duplicates: Literal["first", "last", "error"] = "first",
    classes: Sequence[Hashable] | None = None,
) -> ReliabilityMatrix:
    """Pivot long-format labels into an annotators × units matrix.

    Args:
        items: Item (unit) id per row.
        annotators: Annotator id per row.
        labels: Label per row; ``None``/``NaN`` are missing.
        duplicates: What to do when an annotator labelled an item twice: keep the
            ``"first"`` or ``"last"`` row, or raise (``"error"``).
        classes: Label set in code order; default: sorted distinct labels.

    Raises:
        DuplicateRatings: ``duplicates="error"`` and a pair repeats.
    """
    r = encode_ratings(items, annotators, labels, classes=classes)
    if duplicates == "error":
        r.require_unique("reliability_matrix(duplicates='error')")
    elif duplicates in ("first", "last"):
        r = r.drop_duplicates(keep=duplicates)
    else:
        raise InvalidInput(
            f"duplicates must be 'first', 'last' or 'error'; got {duplicates!r}."
        )
    return ReliabilityMatrix(
        matrix=r.matrix(),
        units=r.units,
        annotators=r.annotators,
        classes=r.classes,
        coded=r.numeric_classes() is None,
    )


RatingsLike = Ratings | ReliabilityMatrix | np.ndarray | Sequence[Sequence[Any]]
"""What agreement and aggregation functions accept: ratings, or a reliability matrix
(annotators × units, ``NaN``/``None`` for missing)."""


def as_ratings(data: RatingsLike) -> Ratings:
    """Coerce :class:`Ratings`, :class:`ReliabilityMatrix` or a 2-D matrix to :class:`Ratings`."""
    if isinstance(data, Ratings):
        return data
    if isinstance(data, ReliabilityMatrix):
        r = Ratings.from_matrix(data.matrix)
        classes = r.classes
        if data.coded:
            classes = tuple(data.classes[int(c)] for c in r.classes)  # type: ignore[call-overload]
        return Ratings(r.unit, r.annotator, r.label, data.units, data.annotators, classes)
    return Ratings.from_matrix(data)
