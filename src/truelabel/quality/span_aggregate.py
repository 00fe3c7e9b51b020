"""Aggregate several annotators' spans on one text into consensus spans.

Algorithm (deterministic):

1. Spans are grouped by label (a span only ever supports spans with the same label) and each
   annotator's duplicate spans are dropped.
2. **Clustering.** ``match="exact"``: a cluster is one exact ``(start, end)``. ``match="overlap"``:
   spans are visited in ``(start, -end, annotator order)`` order; each joins the first open
   cluster whose *anchor* (the cluster's first span) it overlaps and that has no span of the
   same annotator yet, else it starts a new cluster. So one annotator never supports a cluster
   twice, and an annotator who splits an entity in two supports the cluster once, with the
   other piece left in a cluster of its own.
3. **Support.** ``support`` = distinct annotators in the cluster; ``confidence`` =
   ``support / n_annotators``. A cluster is kept when ``confidence > min_share`` (default: more
   than half of the annotators).
4. **Boundaries** of a kept cluster are the most common start and the most common end among its
   spans (ties go to the earlier start and the later end); if that would give an empty span,
   the anchor's boundaries are used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidInput
from .spans import SpanLike, as_span

__all__ = ["AggregatedSpan", "aggregate_spans"]


@dataclass(frozen=True)
class AggregatedSpan:
    """A consensus span.

    Attributes:
        start: Start offset (inclusive).
        end: End offset (exclusive).
        label: Label.
        support: Number of distinct annotators whose spans formed the cluster.
        confidence: ``support / n_annotators``.
        annotators: The supporting annotators, in input order.
    """

    start: int
    end: int
    label: Hashable
    support: int
    confidence: float
    annotators: tuple[Hashable, ...]


def _mode(values: list[int], *, prefer_low: bool) -> int:
    counts = Counter(values)
    best = max(counts.values())
    tied = [v for v, c in counts.items() if c == best]
    return min(tied) if prefer_low else max(tied)


def aggregate_spans(
    annotations: Mapping[Any, Sequence[SpanLike]],
    *,
    match: Literal["overlap", "exact"] = "overlap",
    min_share: float = 0.5,
    n_annotators: int | None = None,
) -> list[AggregatedSpan]:
    """Merge several annotators' spans on one text by clustering and voting.

    See the module docstring for the exact algorithm.

    Args:
        annotations: Annotator → spans ``(start, end, label)``. Annotators with an empty list
            count as having marked nothing (they lower every span's support).
        match: ``"overlap"`` (same label and at least one shared position) or ``"exact"``.
        min_share: Keep clusters supported by more than this share of annotators.
        n_annotators: Number of annotators who saw the text; default ``len(annotations)``.

    Returns:
        Consensus spans sorted by ``(start, end, label)``.

    Raises:
        InvalidInput: bad ``match``, ``min_share`` or ``n_annotators``, or a malformed span.

    Example:
        >>> spans = {"a": [(0, 5, "PER")], "b": [(0, 5, "PER")], "c": [(1, 5, "PER")]}
        >>> [(x.start, x.end, x.label, x.support) for x in aggregate_spans(spans)]
        [(0, 5, 'PER', 3)]
    """
    if match not in ("overlap", "exact"):
        raise InvalidInput(f"match must be 'overlap' or 'exact'; got {match!r}.")
    if not 0.0 <= min_share < 1.0:
        raise InvalidInput(f"min_share must be in [0, 1); got {min_share}.")
    total = len(annotations) if n_annotators is None else n_annotators
    if total < 1 or total < len(annotations):
        raise InvalidInput(
            f"n_annotators must be at least the number of annotators given "
            f"({len(annotations)}); got {total}."
        )
    order = {a: i for i, a in enumerate(annotations)}
    by_label: dict[Hashable, list[tuple[int, int, int]]] = {}
    for annotator, spans in annotations.items():
        for s, e, label in sorted(set(map(as_span, spans)), key=lambda x: (x[0], x[1])):
            by_label.setdefault(label, []).append((s, e, order[annotator]))
    names = list(annotations)
    out: list[AggregatedSpan] = []
    for label, spans in by_label.items():
        spans.sort(key=lambda x: (x[0], -x[1], x[2]))
        clusters: list[list[tuple[int, int, int]]] = []
        for span in spans:
            s, e, who = span
            for cluster in clusters:
                a_s, a_e, _ = cluster[0]
                same = (s, e) == (a_s, a_e) if match == "exact" else (s < a_e and a_s < e)
                if same and all(member[2] != who for member in cluster):
                    cluster.append(span)
                    break
            else:
                clusters.append([span])
        for cluster in clusters:
            who_set = sorted({m[2] for m in cluster})
            share = len(who_set) / total
            if share <= min_share:
                continue
            start = _mode([m[0] for m in cluster], prefer_low=True)
            end = _mode([m[1] for m in cluster], prefer_low=False)
            if end <= start:
                start, end = cluster[0][0], cluster[0][1]
            out.append(AggregatedSpan(
                start=start, end=end, label=label, support=len(who_set), confidence=share,
                annotators=tuple(names[i] for i in who_set),
            ))
    out.sort(key=lambda x: (x.start, x.end, repr(x.label)))
    return out
