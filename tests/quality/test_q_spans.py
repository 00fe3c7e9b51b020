"""Span agreement (F1, unitizing alpha) and span aggregation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truelabel.quality import (
    InvalidInput,
    NotEnoughData,
    aggregate_spans,
    span_f1,
    unitizing_alpha,
)


def unit(begin: int, length: int, label: str) -> tuple[int, int, str]:
    return (begin, begin + length, label)


# Krippendorff (2004), Content Analysis 2nd ed., p. 254: two observers on [150, 450).
KRIPP_2004 = {
    "i": [unit(225, 70, "c"), unit(370, 30, "c"), unit(180, 60, "k"), unit(300, 50, "k")],
    "j": [
        unit(220, 80, "c"), unit(355, 20, "c"), unit(400, 20, "c"),
        unit(180, 60, "k"), unit(300, 50, "k"),
    ],
}


def kripp_1995(stretch: int = 1) -> dict[str, list[tuple[int, int, str]]]:
    """Krippendorff (1995, p. 57): four two-coder examples A-D on a 24-position continuum."""
    first = [
        (2, 8, "A"), (14, 6, "A"), (0, 18, "B"), (2, 6, "C"), (10, 2, "C"), (14, 4, "C"),
        (20, 2, "C"), (0, 2, "D"), (2, 8, "D"), (10, 4, "D"), (14, 6, "D"), (20, 4, "D"),
    ]
    second = [
        (4, 4, "A"), (15, 2, "A"), (0, 2, "B"), (2, 1, "B"), (3, 1, "B"), (4, 1, "B"),
        (5, 1, "B"), (6, 3, "B"), (9, 1, "B"), (0, 2, "C"), (4, 4, "C"), (10, 4, "C"),
        (16, 2, "C"), (20, 2, "C"), (0, 4, "D"), (4, 4, "D"), (8, 7, "D"), (15, 2, "D"),
        (17, 7, "D"),
    ]
    return {
        "first": [unit(b * stretch, n * stretch, lab) for b, n, lab in first],
        "second": [unit(b * stretch, n * stretch, lab) for b, n, lab in second],
    }


# ---------------------------------------------------------------- unitizing alpha


def test_krippendorff_2004_worked_example() -> None:
    res = unitizing_alpha(KRIPP_2004, begin=150, length=300)
    c, k = res.per_label["c"], res.per_label["k"]
    assert round(c.observed, 4) == 0.0144
    assert round(c.expected, 4) == 0.0532
    assert round(c.alpha, 4) == 0.7286
    assert c.observed == pytest.approx(0.0144444, abs=1e-6)  # = 2 * 1950 / (2 * 300^2)
    assert k.observed == 0.0 and round(k.expected, 4) == 0.0490 and k.alpha == 1.0
    # DKPro Agreement checks 0.8591 +- 0.0005 for the same example
    assert res.alpha == pytest.approx(0.8591, abs=5e-4)
    assert round(res.alpha, 3) == 0.859


@pytest.mark.parametrize(
    ("label", "observed"), [("A", 0.03125), ("B", 2.26736), ("C", 0.02777), ("D", 0.38715)]
)
def test_krippendorff_1995_observed_disagreement(label: str, observed: float) -> None:
    res = unitizing_alpha(kripp_1995(), length=24)
    assert res.per_label[label].observed == pytest.approx(observed, abs=1e-5)


@pytest.mark.parametrize(
    ("label", "alpha"), [("A", 0.553), ("B", -0.926), ("C", 0.679), ("D", 0.066)]
)
def test_krippendorff_1995_alpha_large_continuum(label: str, alpha: float) -> None:
    # The paper's alphas are for a finely divided continuum; DKPro checks them with +-0.02
    # at stretch 50,000 (the paper's D_e has a known slip, see DKPro's Krippendorff1995Test).
    res = unitizing_alpha(kripp_1995(50_000), length=24 * 50_000)
    assert res.per_label[label].alpha == pytest.approx(alpha, abs=0.02)


def test_hand_computed_two_coder_case() -> None:
    # L = 4; coder a: [0,2), coder b: [1,3). Segment pairs: unit/unit 1^2 + 1^2 = 2 -> D_o =
    # 2 * 2 / (2 * 1 * 16) = 0.125. Units l = 2, 2 (N = 2); gaps 2 (a), 1, 1 (b):
    # per unit (N-1)(16-12+2)/3 + 4 * (2-2+1) = 6 -> D_e = (2/4) * 12 / (2*4*7 - 2 - 2) = 6/52.
    res = unitizing_alpha({"a": [(0, 2, "x")], "b": [(1, 3, "x")]}, length=4)
    assert res.observed == pytest.approx(0.125)
    assert res.expected == pytest.approx(6 / 52)
    assert res.alpha == pytest.approx(1 - 0.125 * 52 / 6)


def test_unit_inside_gap_costs_its_length_squared() -> None:
    # a marks [2,5) (l = 3) where b sees only gap: D_o = 2 * 9 / (2 * 1 * 10^2)
    res = unitizing_alpha({"a": [(2, 5, "x")], "b": []}, length=10)
    assert res.observed == pytest.approx(0.09)


def test_unitizing_errors() -> None:
    with pytest.raises(NotEnoughData, match="two coders"):
        unitizing_alpha({"a": [(0, 1, "x")]}, length=4)
    with pytest.raises(InvalidInput, match="outside the continuum"):
        unitizing_alpha({"a": [(0, 5, "x")], "b": []}, length=4)
    with pytest.raises(InvalidInput, match="overlapping"):
        unitizing_alpha({"a": [(0, 3, "x"), (2, 4, "x")], "b": []}, length=4)
    with pytest.raises(InvalidInput, match="end > start"):
        unitizing_alpha({"a": [(3, 3, "x")], "b": []}, length=4)
    with pytest.raises(NotEnoughData, match="at least one span"):
        unitizing_alpha({"a": [], "b": []}, length=4)


@st.composite
def unitizations(draw: st.DrawFn) -> tuple[int, dict[str, list[tuple[int, int, str]]]]:
    length = draw(st.integers(min_value=5, max_value=40))
    coders = draw(st.integers(min_value=2, max_value=4))
    out: dict[str, list[tuple[int, int, str]]] = {}
    for c in range(coders):
        spans: list[tuple[int, int, str]] = []
        for label in ("x", "y"):
            cuts = sorted(draw(st.sets(st.integers(0, length), max_size=6)))
            spans += [(a, b, label) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
        out[f"c{c}"] = spans
    return length, out


@settings(max_examples=50, deadline=None)
@given(unitizations())
def test_unitizing_properties(case: tuple[int, dict[str, list[tuple[int, int, str]]]]) -> None:
    length, ann = case
    try:
        base = unitizing_alpha(ann, length=length)
    except NotEnoughData:
        return
    # coder order, label names and position on a longer text do not matter
    reordered = dict(reversed(list(ann.items())))
    assert unitizing_alpha(reordered, length=length).alpha == pytest.approx(base.alpha)
    renamed = {c: [(s, e, {"x": "q", "y": "p"}[lab]) for s, e, lab in v] for c, v in ann.items()}
    assert unitizing_alpha(renamed, length=length).alpha == pytest.approx(base.alpha)
    shifted = {c: [(s + 100, e + 100, lab) for s, e, lab in v] for c, v in ann.items()}
    assert unitizing_alpha(shifted, begin=100, length=length).alpha == pytest.approx(base.alpha)
    # identical coders agree perfectly
    first = next(iter(ann.values()))
    if first:
        same = {c: list(first) for c in ann}
        assert unitizing_alpha(same, length=length).alpha == pytest.approx(1.0)


# ---------------------------------------------------------------- span F1


def test_span_f1_exact_and_overlap() -> None:
    doc = {
        "a": [(0, 5, "PER"), (10, 15, "ORG")],
        "b": [(0, 5, "PER"), (11, 15, "ORG"), (20, 22, "LOC")],
    }
    exact = span_f1(doc)
    assert (exact.matched, exact.total, exact.n_pairs) == (1, 5, 1)
    assert exact.f1 == pytest.approx(2 / 5)
    assert exact.per_label["ORG"].f1 == 0.0
    overlap = span_f1(doc, match="overlap")
    assert overlap.f1 == pytest.approx(4 / 5)
    assert overlap.per_label["LOC"].total == 1
    relabelled = {"a": [(0, 5, "PER")], "b": [(0, 5, "ORG")]}
    assert span_f1(relabelled).f1 == 0.0
    assert span_f1(relabelled, match_labels=False).f1 == 1.0


def test_span_f1_micro_over_pairs_and_documents() -> None:
    docs = [
        {"a": [(0, 1, "x")], "b": [(0, 1, "x")], "c": []},  # pairs: ab 1/2, ac 0/1, bc 0/1
        {"a": [(0, 1, "x")], "b": [(2, 3, "x")]},  # 0/2
    ]
    res = span_f1(docs)
    assert (res.matched, res.total, res.n_pairs) == (1, 6, 4)
    assert res.f1 == pytest.approx(2 / 6)


def test_span_f1_overlap_uses_maximum_matching() -> None:
    # greedy in order would pair a1-b1 and leave a2 alone; the maximum matching pairs both
    doc = {"a": [(0, 6, "x"), (6, 10, "x")], "b": [(4, 8, "x"), (0, 2, "x")]}
    assert span_f1(doc, match="overlap").f1 == 1.0


def test_span_f1_errors_and_formats() -> None:
    with pytest.raises(NotEnoughData):
        span_f1({"a": [(0, 1, "x")]})
    with pytest.raises(InvalidInput):
        span_f1({"a": [(0, 1, "x")], "b": []}, match="fuzzy")  # type: ignore[arg-type]
    doc = {"a": [{"start": 0, "end": 2, "label": "x"}], "b": [[0, 2, "x"]]}
    assert span_f1(doc).f1 == 1.0
    with pytest.raises(InvalidInput, match="integers"):
        span_f1({"a": [(0.5, 2, "x")], "b": []})


@settings(max_examples=50, deadline=None)
@given(unitizations(), st.sampled_from(["exact", "overlap"]))
def test_span_f1_symmetric(case, match: str) -> None:
    _, ann = case
    names = list(ann)
    a, b = ann[names[0]], ann[names[1]]
    forward = span_f1({"a": a, "b": b}, match=match)
    backward = span_f1({"b": b, "a": a}, match=match)
    assert forward.matched == backward.matched
    if a:
        assert span_f1({"a": a, "b": list(a)}, match=match).f1 == 1.0


# ---------------------------------------------------------------- span aggregation


def test_aggregate_majority_cluster_with_mode_boundaries() -> None:
    spans = {
        "a": [(0, 5, "PER"), (10, 12, "LOC")],
        "b": [(0, 5, "PER")],
        "c": [(1, 5, "PER"), (30, 33, "ORG")],
    }
    out = aggregate_spans(spans)
    assert [(s.start, s.end, s.label, s.support) for s in out] == [(0, 5, "PER", 3)]
    assert out[0].confidence == 1.0 and out[0].annotators == ("a", "b", "c")


def test_aggregate_empty_annotators_lower_support() -> None:
    spans = {"a": [(0, 5, "PER")], "b": [(0, 5, "PER")], "c": [], "d": []}
    assert aggregate_spans(spans) == []  # 2 of 4 is not more than half
    kept = aggregate_spans(spans, min_share=0.4)
    assert kept[0].confidence == 0.5
    assert aggregate_spans({"a": [(0, 5, "PER")]}, n_annotators=3) == []


def test_aggregate_split_entity_counts_once() -> None:
    spans = {
        "a": [(0, 10, "ORG")],
        "b": [(0, 4, "ORG"), (5, 10, "ORG")],  # b split the entity
        "c": [(0, 10, "ORG")],
    }
    out = aggregate_spans(spans)
    assert [(s.start, s.end, s.support) for s in out] == [(0, 10, 3)]


def test_aggregate_exact_and_labels_separate() -> None:
    spans = {"a": [(0, 5, "PER")], "b": [(0, 4, "PER")], "c": [(0, 5, "ORG")]}
    assert aggregate_spans(spans, match="exact") == []
    assert [s.support for s in aggregate_spans(spans)] == [2]


def test_aggregate_bad_options() -> None:
    with pytest.raises(InvalidInput):
        aggregate_spans({"a": []}, match="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        aggregate_spans({"a": []}, min_share=1.0)
    with pytest.raises(InvalidInput):
        aggregate_spans({"a": [], "b": []}, n_annotators=1)


@settings(max_examples=50, deadline=None)
@given(unitizations())
def test_aggregate_unanimous_returns_the_spans(case) -> None:
    _, ann = case
    first = next(iter(ann.values()))
    same = {c: list(first) for c in ann}
    out = aggregate_spans(same, match="exact")
    assert sorted((s.start, s.end, s.label) for s in out) == sorted(set(first))
    assert all(s.confidence == 1.0 for s in out)
