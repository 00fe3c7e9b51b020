"""Agreement on spans: pairwise span F1 and Krippendorff's unitizing alpha (u-alpha).

A span is ``(start, end, label)`` with ``end`` exclusive (Python slice convention), or a mapping
with ``"start"``, ``"end"`` and ``"label"`` keys. One document's annotations are a mapping
annotator → list of spans; an annotator present with an empty list marked nothing (and that
counts), an annotator absent from the mapping did not see the document.

**Which u-alpha.** :func:`unitizing_alpha` implements Krippendorff's ``_u alpha`` for one
continuum (Krippendorff 1995, *On the reliability of unitizing continuous data*, Sociological
Methodology 25:47-76; restated in *Content Analysis*, 2nd ed., 2004, §12.4), computed separately
for each label as a binary unit-versus-gap unitization, *with gaps counted*: every coder's
continuum is cut into that label's units and the gaps between them, and for every two coders
and every two intersecting segments g, h the squared distance is

* both units and overlapping: ``(start_g - start_h)² + (end_g - end_h)²``;
* a unit lying wholly inside the other coder's gap: the unit's length squared;
* anything else (two gaps, a unit partly covered by a gap): 0.

``D_o = Σ_{coders i≠j} Σ_{g,h} δ²(g, h) / (m (m - 1) L²)``, and with N units of the label of
lengths l, over all coders, and all coders' gaps G,

``D_e = (2/L) Σ_units [ (N - 1)(2l³ - 3l² + l)/3 + l² Σ_{gaps G ≥ l} (G - l + 1) ]
/ (m L (m L - 1) - Σ_units l (l - 1))``.

The per-label value is ``1 - D_o / D_e``; the overall value is ``1 - mean D_o / mean D_e`` over
the labels. This is the variant implemented by DKPro Agreement's
``KrippendorffAlphaUnitizingAgreement`` and it reproduces Krippendorff's (2004, p. 254) worked
example (alpha_c = 0.7286, overall 0.8591). A coder's units of one label must not overlap each
other. To pool several documents, concatenate them into one continuum (shift offsets).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np

from .errors import InvalidInput, NotEnoughData

__all__ = [
    "Span",
    "SpanAgreement",
    "SpanF1",
    "UnitizingAlpha",
    "UnitizingLabelAlpha",
    "as_span",
    "span_f1",
    "unitizing_alpha",
]

Span = tuple[int, int, Hashable]
SpanLike = Span | Sequence[Any] | Mapping[str, Any]
DocumentSpans = Mapping[Any, Sequence[SpanLike]]


def as_span(span: SpanLike) -> Span:
    """Normalise a span to ``(start, end, label)``.

    Accepts ``(start, end, label)``, ``(start, end)`` (label ``None``) or a mapping with
    ``start``, ``end`` and optional ``label``.

    Raises:
        InvalidInput: the span is malformed or empty (``end <= start``).
    """
    if isinstance(span, Mapping):
        try:
            start, end, label = span["start"], span["end"], span.get("label")
        except KeyError as exc:
            raise InvalidInput(
                f"A span mapping needs 'start' and 'end' keys; got {sorted(span)!r}."
            ) from exc
    elif isinstance(span, Sequence) and len(span) in (2, 3):
        start, end = span[0], span[1]
        label = span[2] if len(span) == 3 else None
    else:
        raise InvalidInput(
            f"A span is (start, end, label), (start, end) or a mapping; got {span!r}."
        )
    try:
        s, e = int(start), int(end)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Span offsets must be integers; got {span!r}.") from exc
    if s != start or e != end:
        raise InvalidInput(f"Span offsets must be integers; got {span!r}.")
    if e <= s:
        raise InvalidInput(
            f"A span must have end > start (end is exclusive); got start={s}, end={e}. "
            "Drop empty spans before computing agreement."
        )
    return (s, e, label)


@dataclass(frozen=True)
class SpanF1:
    """Micro-averaged pairwise F1 for one label (or overall).

    Attributes:
        f1: ``2 * matched / total``; ``NaN`` when no spans were compared.
        matched: Matched span pairs, summed over annotator pairs and documents.
        total: Spans compared, ``|A| + |B|`` summed over annotator pairs and documents.
    """

    f1: float
    matched: int
    total: int


@dataclass(frozen=True)
class SpanAgreement:
    """Pairwise span F1 over all annotator pairs and documents.

    Attributes:
        f1: Micro F1 over every pair of annotators on every document.
        matched: Matched span pairs.
        total: Spans compared.
        n_pairs: (document, annotator pair) comparisons made.
        per_label: Label → :class:`SpanF1`.
    """

    f1: float
    matched: int
    total: int
    n_pairs: int
    per_label: dict[Hashable, SpanF1] = field(default_factory=dict)


def _max_matching(left: list[Span], right: list[Span]) -> int:
    """Maximum one-to-one matching of overlapping spans (Kuhn's augmenting paths)."""
    adj = [
        [j for j, (s2, e2, _) in enumerate(right) if s1 < e2 and s2 < e1]
        for s1, e1, _ in left
    ]
    match_right: list[int] = [-1] * len(right)

    def augment(i: int, seen: list[bool]) -> bool:
        for j in adj[i]:
            if not seen[j]:
                seen[j] = True
                if match_right[j] < 0 or augment(match_right[j], seen):
                    match_right[j] = i
                    return True
        return False

    return sum(augment(i, [False] * len(right)) for i in range(len(left)))


def _documents(documents: DocumentSpans | Sequence[DocumentSpans]) -> list[DocumentSpans]:
    if isinstance(documents, Mapping):
        return [documents]
    return list(documents)


def span_f1(
    documents: DocumentSpans | Sequence[DocumentSpans],
    *,
    match: Literal["exact", "overlap"] = "exact",
    match_labels: bool = True,
) -> SpanAgreement:
    """Pairwise span F1, micro-averaged over annotator pairs and documents, and per label.

    For two annotators A and B on one document, F1 = 2·matched / (|A| + |B|) is symmetric, so
    no one is treated as the reference. Spans match when they are identical (``"exact"``) or
    overlap by at least one position (``"overlap"``, one-to-one, maximum matching); with
    ``match_labels`` the labels must be equal too. Counts are summed over every pair of
    annotators present on a document before dividing (micro average). A span listed twice by
    one annotator counts once.

    Args:
        documents: One mapping annotator → spans, or a sequence of them (one per document).
        match: ``"exact"`` or ``"overlap"``.
        match_labels: Require equal labels to match (per-label F1 always uses labels).

    Raises:
        NotEnoughData: no document has two or more annotators.
    """
    if match not in ("exact", "overlap"):
        raise InvalidInput(f"match must be 'exact' or 'overlap'; got {match!r}.")
    matched = total = n_pairs = 0
    per: dict[Hashable, list[int]] = {}
    for doc in _documents(documents):
        spans = {a: sorted(set(map(as_span, s))) for a, s in doc.items()}
        for a, b in combinations(spans, 2):
            n_pairs += 1
            sa, sb = spans[a], spans[b]
            total += len(sa) + len(sb)
            labels = {s[2] for s in sa} | {s[2] for s in sb}
            by_label: dict[Hashable, int] = {}
            for label in labels:
                la = [s for s in sa if s[2] == label]
                lb = [s for s in sb if s[2] == label]
                by_label[label] = _match_count(la, lb, match)
                cell = per.setdefault(label, [0, 0])
                cell[0] += by_label[label]
                cell[1] += len(la) + len(lb)
            if match_labels:
                matched += sum(by_label.values())
            else:
                matched += _match_count(sa, sb, match, ignore_labels=True)
    if n_pairs == 0:
        raise NotEnoughData(
            "Span F1 needs at least one document annotated by two or more annotators; got none. "
            "Have several annotators label the same documents."
        )
    return SpanAgreement(
        f1=_f1(matched, total),
        matched=matched,
        total=total,
        n_pairs=n_pairs,
        per_label={
            label: SpanF1(_f1(m, t), m, t)
            for label, (m, t) in sorted(per.items(), key=lambda kv: repr(kv[0]))
        },
    )


def _f1(matched: int, total: int) -> float:
    return 2.0 * matched / total if total else float("nan")


def _match_count(a: list[Span], b: list[Span], match: str, ignore_labels: bool = False) -> int:
    if match == "exact":
        if ignore_labels:
            return len({s[:2] for s in a} & {s[:2] for s in b})
        return len(set(a) & set(b))
    if ignore_labels:
        a = sorted({(s, e, None) for s, e, _ in a})
        b = sorted({(s, e, None) for s, e, _ in b})
    return _max_matching(a, b)


@dataclass(frozen=True)
class UnitizingLabelAlpha:
    """u-alpha for one label.

    Attributes:
        alpha: ``1 - observed / expected``; ``NaN`` when ``expected`` is 0.
        observed: Observed disagreement D_o.
        expected: Expected disagreement D_e.
        n_units: Units of this label over all coders.
    """

    alpha: float
    observed: float
    expected: float
    n_units: int


@dataclass(frozen=True)
class UnitizingAlpha:
    """Krippendorff's u-alpha on one continuum.

    Attributes:
        alpha: ``1 - mean observed / mean expected`` over the labels.
        observed: Mean observed disagreement over labels.
        expected: Mean expected disagreement over labels.
        per_label: Label → :class:`UnitizingLabelAlpha`.
    """

    alpha: float
    observed: float
    expected: float
    per_label: dict[Hashable, UnitizingLabelAlpha]


def _segments(units: list[tuple[int, int]], begin: int, end: int) -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:
    """Cut [begin, end) into units and gaps: (starts, lengths, is_unit)."""
    starts: list[int] = []
    lengths: list[int] = []
    is_unit: list[bool] = []
    pos = begin
    for s, e in units:
        if s > pos:
            starts.append(pos)
            lengths.append(s - pos)
            is_unit.append(False)
        starts.append(s)
        lengths.append(e - s)
        is_unit.append(True)
        pos = e
    if pos < end:
        starts.append(pos)
        lengths.append(end - pos)
        is_unit.append(False)
    return (np.asarray(starts, dtype=float), np.asarray(lengths, dtype=float),
            np.asarray(is_unit, dtype=bool))


def _pair_distance(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> float:
    """Sum of δ² over all segment pairs of two coders (Krippendorff 1995, 2004)."""
    b1, l1, u1 = (x[:, None] for x in a)
    b2, l2, u2 = (x[None, :] for x in b)
    bd = b1 - b2
    ed = (b1 + l1) - (b2 + l2)
    both = u1 & u2 & (-l1 < bd) & (bd < l2)
    unit_in_gap = u1 & ~u2 & (bd >= 0) & (ed <= 0)
    gap_around_unit = ~u1 & u2 & (bd <= 0) & (ed >= 0)
    d = np.where(both, bd * bd + ed * ed, 0.0)
    d = d + np.where(unit_in_gap, l1 * l1, 0.0) + np.where(gap_around_unit, l2 * l2, 0.0)
    return float(d.sum())


def unitizing_alpha(
    annotations: Mapping[Any, Sequence[SpanLike]],
    *,
    length: int,
    begin: int = 0,
    labels: Iterable[Hashable] | None = None,
) -> UnitizingAlpha:
    """Krippendorff's unitizing alpha (u-alpha, 1995/2004, gaps counted) on one continuum.

    See the module docstring for the exact formulas.

    Args:
        annotations: Coder → spans ``(start, end, label)`` on the continuum. Every coder in the
            mapping counts, including coders with no spans.
        length: Length L of the continuum, e.g. the text length in characters.
        begin: Offset of the continuum's first position.
        labels: Labels to score; default: every label used. A label nobody used adds 0 to both
            disagreements and does not change the overall alpha.

    Raises:
        InvalidInput: a span lies outside the continuum or overlaps another span of the same
            coder and label.
        NotEnoughData: fewer than two coders, or no label has any expected disagreement.

    Example:
        >>> round(unitizing_alpha({"a": [(0, 2, "x")], "b": [(1, 3, "x")]}, length=4).alpha, 4)
        -0.0833
    """
    coders = list(annotations)
    m = len(coders)
    if m < 2:
        raise NotEnoughData(
            f"u-alpha needs at least two coders on the continuum; got {m}. Add a second "
            "annotator's spans (an empty list means 'marked nothing')."
        )
    if length <= 1:
        raise InvalidInput(f"length must be at least 2; got {length}.")
    end = begin + length
    per_coder: list[dict[Hashable, list[tuple[int, int]]]] = []
    seen: dict[Hashable, None] = {}
    for coder in coders:
        by_label: dict[Hashable, list[tuple[int, int]]] = {}
        for raw in annotations[coder]:
            s, e, label = as_span(raw)
            if s < begin or e > end:
                raise InvalidInput(
                    f"Span {raw!r} of coder {coder!r} lies outside the continuum "
                    f"[{begin}, {end}). Check `begin` and `length`."
                )
            by_label.setdefault(label, []).append((s, e))
            seen.setdefault(label, None)
        for label, spans in by_label.items():
            spans.sort()
            for (s0, e0), (s1, _) in zip(spans, spans[1:], strict=False):
                if s1 < e0:
                    raise InvalidInput(
                        f"Coder {coder!r} has overlapping {label!r} spans starting at {s0} and "
                        f"{s1}; u-alpha needs one coder's units of a label to be disjoint. "
                        "Merge or split them first."
                    )
        per_coder.append(by_label)
    wanted = list(seen) if labels is None else list(labels)
    big_l = float(length)
    per: dict[Hashable, UnitizingLabelAlpha] = {}
    for label in wanted:
        segs = [_segments(c.get(label, []), begin, end) for c in per_coder]
        pair_sum = sum(_pair_distance(segs[i], segs[j]) for i, j in combinations(range(m), 2))
        observed = 2.0 * pair_sum / (m * (m - 1) * big_l * big_l)
        unit_len = np.concatenate([s[1][s[2]] for s in segs])
        gaps = np.sort(np.concatenate([s[1][~s[2]] for s in segs]))
        n_units = unit_len.shape[0]
        # sum over gaps G >= l of (G - l + 1), for every unit length l
        suffix = np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
        first = np.searchsorted(gaps, unit_len, side="left")
        n_big = gaps.shape[0] - first
        gap_term = suffix[first] - n_big * (unit_len - 1.0)
        ln = unit_len
        numer = ((n_units - 1.0) * (2 * ln**3 - 3 * ln**2 + ln) / 3.0 + ln**2 * gap_term).sum()
        denom = m * big_l * (m * big_l - 1.0) - float((ln * (ln - 1.0)).sum())
        expected = float((2.0 / big_l) * numer / denom) if n_units else 0.0
        alpha = 1.0 - observed / expected if expected > 0 else float("nan")
        per[label] = UnitizingLabelAlpha(alpha, observed, expected, int(n_units))
    if not per:
        raise NotEnoughData(
            "u-alpha needs at least one span; no coder marked anything. Nothing to compare."
        )
    mean_o = float(np.mean([p.observed for p in per.values()]))
    mean_e = float(np.mean([p.expected for p in per.values()]))
    if mean_e <= 0:
        raise NotEnoughData(
            "Expected disagreement is 0 for every label (e.g. units fill the whole continuum "
            "with length 1), so u-alpha is undefined. Use a longer continuum."
        )
    return UnitizingAlpha(1.0 - mean_o / mean_e, mean_o, mean_e, per)
