"""Agreement coefficients: published worked examples, crowd cross-checks and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truelabel.quality import (
    DuplicateRatings,
    InvalidInput,
    NotEnoughData,
    NoVariation,
    Ratings,
    UnknownLabel,
    alpha_parts,
    bootstrap_ci,
    cohen_kappa,
    encode_labels,
    encode_ratings,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_ci,
    krippendorff_alpha_from_counts,
    pairwise_agreement,
    per_label_agreement,
    percent_agreement,
    reliability_matrix,
    slice_agreement,
)

N = math.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders x 12
# units with missing values.
KRIPP_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]

# Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


# ---------------------------------------------------------------- published worked examples


@pytest.mark.parametrize(
    ("level", "expected"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_example(level: str, expected: float) -> None:
    assert round(krippendorff_alpha(KRIPP_2011, level=level), 3) == expected


def test_krippendorff_2011_nominal_parts() -> None:
    # The paper's nominal computation: n = 40 pairable values, alpha = 1 - 39 * 10/4 / ...
    parts = alpha_parts(Ratings.from_matrix(KRIPP_2011).value_counts(), level="nominal")
    assert parts.n_pairable == 40
    assert parts.n_units == 11
    assert parts.alpha == pytest.approx(0.743421, abs=1e-6)


def test_krippendorff_accepts_none_and_strings() -> None:
    as_strings = [
        [None if (isinstance(v, float) and math.isnan(v)) else f"c{int(v)}" for v in row]
        for row in KRIPP_2011
    ]
    assert krippendorff_alpha(as_strings) == pytest.approx(krippendorff_alpha(KRIPP_2011))
    assert krippendorff_alpha(as_strings, level="ordinal") == pytest.approx(
        krippendorff_alpha(KRIPP_2011, level="ordinal")
    )


def test_fleiss_1971_wikipedia_example() -> None:
    assert round(fleiss_kappa(FLEISS_TABLE, counts=True), 3) == 0.210


def test_fleiss_from_matrix_equals_counts() -> None:
    # Expand the count table into a 14 x 10 reliability matrix.
    cols = [[c for c, n in enumerate(row) for _ in range(n)] for row in FLEISS_TABLE]
    matrix = np.array(cols).T
    assert fleiss_kappa(matrix) == pytest.approx(fleiss_kappa(FLEISS_TABLE, counts=True))


def test_cohen_wikipedia_yes_no_example() -> None:
    # 50 items: 20 both yes, 15 both no, A yes/B no 5, A no/B yes 10 -> kappa 0.4
    a = ["yes"] * 20 + ["no"] * 15 + ["yes"] * 5 + ["no"] * 10
    b = ["yes"] * 20 + ["no"] * 15 + ["no"] * 5 + ["yes"] * 10
    assert cohen_kappa(a, b) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("weights", "expected"), [(None, 0.9315), ("linear", 0.9412), ("quadratic", 0.9541)]
)
def test_cohen_weighted_example(weights: str | None, expected: float) -> None:
    # The scikit-learn test-suite example (verifiable by hand from the 3 x 3 table).
    a = [0] * 46 + [1] * 44 + [2] * 10
    b = [0] * 50 + [1] * 40 + [2] * 10
    assert round(cohen_kappa(a, b, weights=weights), 4) == expected


def test_cohen_artstein_poesio_table() -> None:
    a = [0] * 46 + [1] * 44 + [2] * 10
    b = [0] * 52 + [1] * 32 + [2] * 16
    assert round(cohen_kappa(a, b), 4) == 0.8013


def test_cohen_skips_missing_pairs() -> None:
    a = ["y", "y", "n", "n", None, "y"]
    b = ["y", "n", "n", "n", "y", math.nan]
    assert cohen_kappa(a, b) == pytest.approx(0.5)


def test_percent_agreement_example() -> None:
    assert percent_agreement([[1, 1, 2], [1, 2, 2]]) == pytest.approx(2 / 3)
    # unit 1: 3 ratings, pairs agreeing 2 of 6
    assert percent_agreement([[1], [1], [2]]) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- crowd data cross-checks

CROWD_ALPHA = {
    "duck": 0.1255, "rte": 0.2415, "s_dog": 0.5194, "web": 0.2104,
    "d_possent": 0.1493, "d_product": 0.1575, "s_adult": 0.3164, "s_rel": 0.0897,
}
CROWD_FLEISS = {
    "duck": 0.1253, "rte": 0.2414, "s_dog": 0.5194, "d_possent": 0.1493, "d_product": 0.1574,
}


@pytest.mark.parametrize("name", sorted(CROWD_ALPHA))
def test_crowd_alpha_matches_reference(crowd, name: str) -> None:
    d = crowd(name)
    r = encode_ratings(d.items, d.workers, d.labels).drop_duplicates(keep="first")
    assert round(krippendorff_alpha(r), 4) == CROWD_ALPHA[name]


@pytest.mark.parametrize("name", sorted(CROWD_FLEISS))
def test_crowd_fleiss_matches_reference(crowd, name: str) -> None:
    d = crowd(name)
    r = encode_ratings(d.items, d.workers, d.labels)
    assert round(fleiss_kappa(r), 4) == CROWD_FLEISS[name]


def test_crowd_uneven_items_refuse_fleiss(crowd) -> None:
    d = crowd("web")
    with pytest.raises(InvalidInput, match="krippendorff_alpha"):
        fleiss_kappa(encode_ratings(d.items, d.workers, d.labels))


def test_crowd_duplicates_must_be_dropped(crowd) -> None:
    d = crowd("s_rel")
    r = encode_ratings(d.items, d.workers, d.labels)
    assert r.duplicate_count() == 1570
    with pytest.raises(DuplicateRatings, match="drop_duplicates"):
        krippendorff_alpha(r)


# ---------------------------------------------------------------- errors


def test_alpha_needs_overlap() -> None:
    with pytest.raises(NotEnoughData, match="two or more ratings"):
        krippendorff_alpha([[1, N], [N, 2]])


def test_alpha_no_variation() -> None:
    with pytest.raises(NoVariation):
        krippendorff_alpha([[1, 1], [1, 1]])


def test_alpha_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="Unknown level"):
        krippendorff_alpha(KRIPP_2011, level="cardinal")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="numeric labels"):
        krippendorff_alpha([["a", "b"], ["a", "c"]], level="interval")
    with pytest.raises(InvalidInput, match="2-D"):
        krippendorff_alpha([1, 2, 3])
    with pytest.raises(InvalidInput, match="one value per column"):
        krippendorff_alpha_from_counts([[1, 1]], value_domain=[1.0])


def test_fleiss_and_cohen_errors() -> None:
    with pytest.raises(NotEnoughData):
        fleiss_kappa([[1, 0], [0, 1]], counts=True)
    with pytest.raises(NoVariation):
        fleiss_kappa([[2, 0], [2, 0]], counts=True)
    with pytest.raises(InvalidInput, match="same items"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(NotEnoughData):
        cohen_kappa([None], [1])
    with pytest.raises(NoVariation):
        cohen_kappa(["a", "a"], ["a", "a"])
    with pytest.raises(InvalidInput, match="weights"):
        cohen_kappa([1], [1], weights="cubic")  # type: ignore[arg-type]


def test_encode_labels_declared_classes() -> None:
    codes, classes = encode_labels(["b", None, "a"], classes=["b", "a"])
    assert codes.tolist() == [0, -1, 1]
    assert classes == ("b", "a")
    codes, classes = encode_labels(np.array([3, 1, 3]), classes=[3, 1, 2])
    assert codes.tolist() == [0, 1, 0]
    with pytest.raises(UnknownLabel, match="known classes"):
        encode_labels(["x"], classes=["a"])
    codes, classes = encode_labels([1, "a", 1])  # unsortable: first-seen order
    assert classes == (1, "a")


def test_reliability_matrix_long_format() -> None:
    rm = reliability_matrix(
        ["u1", "u1", "u2", "u2", "u1"], ["a", "b", "a", "b", "a"], ["x", "y", "x", "x", "y"]
    )
    assert rm.coded and rm.classes == ("x", "y")
    assert rm.units.tolist() == ["u1", "u2"]
    np.testing.assert_array_equal(rm.matrix, [[0, 0], [1, 0]])  # first duplicate kept
    last = reliability_matrix(
        ["u1", "u1"], ["a", "a"], [1, 5], duplicates="last"
    )
    assert last.matrix.tolist() == [[5.0]] and not last.coded
    with pytest.raises(DuplicateRatings):
        reliability_matrix(["u1", "u1"], ["a", "a"], [1, 5], duplicates="error")
    assert krippendorff_alpha(rm) == pytest.approx(krippendorff_alpha(rm.matrix))


def test_encode_ratings_length_mismatch() -> None:
    with pytest.raises(InvalidInput, match="same length"):
        encode_ratings([1, 2], ["a"], ["x", "y"])


# ---------------------------------------------------------------- breakdowns and bootstrap


def test_per_label_is_one_vs_rest() -> None:
    scores = per_label_agreement(KRIPP_2011)
    assert list(scores) == [1, 2, 3, 4, 5]
    m = np.array(KRIPP_2011)
    binary = np.where(np.isnan(m), np.nan, (m == 3).astype(float))
    assert scores[3].value == pytest.approx(krippendorff_alpha(binary))
    assert scores[3].n_units == 11


def test_per_label_reports_undefined_as_nan() -> None:
    scores = per_label_agreement([[1, 1], [1, 1]])
    assert math.isnan(scores[1].value) and "undefined" in (scores[1].note or "")


def test_pairwise_matches_direct_computation() -> None:
    m = np.array(KRIPP_2011)
    for metric in ("cohen_kappa", "alpha", "percent"):
        for pair in pairwise_agreement(m, metric=metric):
            a, b = m[pair.annotator_a], m[pair.annotator_b]
            ok = ~np.isnan(a) & ~np.isnan(b)
            assert pair.n_units == ok.sum()
            if metric == "cohen_kappa":
                expected = cohen_kappa(a[ok].tolist(), b[ok].tolist())
            elif metric == "alpha":
                expected = krippendorff_alpha(np.vstack([a[ok], b[ok]]))
            else:
                expected = float(np.mean(a[ok] == b[ok]))
            assert pair.value == pytest.approx(expected)
    ordinal = pairwise_agreement(m, metric="alpha", level="ordinal")[0]
    ok = ~np.isnan(m[0]) & ~np.isnan(m[1])
    assert ordinal.value == pytest.approx(krippendorff_alpha(m[:2][:, ok], level="ordinal"))


def test_pairwise_weighted_kappa_and_min_overlap() -> None:
    m = np.array(KRIPP_2011)
    pairs = pairwise_agreement(m, weights="quadratic", min_overlap=10)
    assert {(p.annotator_a, p.annotator_b) for p in pairs} == {(1, 3), (2, 3)}
    p = pairs[0]
    a, b = m[1], m[3]
    ok = ~np.isnan(a) & ~np.isnan(b)
    assert p.value == pytest.approx(
        cohen_kappa(a[ok].tolist(), b[ok].tolist(), weights="quadratic", classes=[1, 2, 3, 4, 5])
    )


def test_slice_agreement() -> None:
    slices = ["a"] * 6 + ["b"] * 6
    out = slice_agreement(KRIPP_2011, slices)
    m = np.array(KRIPP_2011)
    assert out["a"].value == pytest.approx(krippendorff_alpha(m[:, :6]))
    assert out["b"].value == pytest.approx(krippendorff_alpha(m[:, 6:]))
    by_map = slice_agreement(KRIPP_2011, {i: "a" for i in range(6)}, metric="percent")
    assert list(by_map) == ["a"]
    with pytest.raises(InvalidInput, match="one key per unit"):
        slice_agreement(KRIPP_2011, ["a"])


def test_bootstrap_fast_path_equals_generic() -> None:
    generic = bootstrap_ci(
        KRIPP_2011, lambda r: krippendorff_alpha(r, level="interval"), n_resamples=200, seed=7
    )
    fast = krippendorff_alpha_ci(KRIPP_2011, level="interval", n_resamples=200, seed=7)
    assert fast.estimate == pytest.approx(0.849, abs=5e-4)
    np.testing.assert_allclose(fast.distribution, generic.distribution)
    assert (fast.low, fast.high) == pytest.approx((generic.low, generic.high))
    assert fast.low <= fast.estimate <= fast.high


def test_bootstrap_is_seeded() -> None:
    a = krippendorff_alpha_ci(KRIPP_2011, n_resamples=100, seed=1)
    b = krippendorff_alpha_ci(KRIPP_2011, n_resamples=100, seed=1)
    c = krippendorff_alpha_ci(KRIPP_2011, n_resamples=100, seed=2)
    assert (a.low, a.high) == (b.low, b.high)
    assert not np.array_equal(a.distribution, c.distribution)


def test_bootstrap_crowd_interval_covers_estimate(crowd) -> None:
    d = crowd("s_rel")
    r = encode_ratings(d.items, d.workers, d.labels).drop_duplicates()
    res = krippendorff_alpha_ci(r, n_resamples=200, seed=0)
    assert res.low < 0.0897 < res.high
    assert res.high - res.low < 0.03


def test_bootstrap_errors() -> None:
    with pytest.raises(InvalidInput):
        krippendorff_alpha_ci(KRIPP_2011, confidence=1.5)
    with pytest.raises(NotEnoughData):
        bootstrap_ci([[1, 1, 2], [1, 1, N]], krippendorff_alpha, n_resamples=50)


# ---------------------------------------------------------------- properties

values = st.integers(min_value=0, max_value=4)


@st.composite
def matrices(draw: st.DrawFn, min_coders: int = 2) -> np.ndarray:
    coders = draw(st.integers(min_value=min_coders, max_value=5))
    units = draw(st.integers(min_value=2, max_value=12))
    cells = draw(
        st.lists(st.one_of(st.none(), values), min_size=coders * units, max_size=coders * units)
    )
    return np.array([[N if v is None else v for v in cells[i * units:(i + 1) * units]]
                     for i in range(coders)], dtype=float)


def _alpha_or_none(m: np.ndarray, level: str = "nominal") -> float | None:
    try:
        return krippendorff_alpha(m, level=level)
    except NotEnoughData:
        return None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(values, min_size=2, max_size=10).filter(lambda v: len(set(v)) > 1),
    st.integers(min_value=2, max_value=5),
    st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_perfect_agreement_is_one(unit_values: list[int], coders: int, level: str) -> None:
    m = np.tile(np.array(unit_values, dtype=float) + 1.0, (coders, 1))
    assert krippendorff_alpha(m, level=level) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(matrices(), st.permutations(list(range(5))))
def test_nominal_alpha_invariant_to_label_renaming(m: np.ndarray, perm: list[int]) -> None:
    base = _alpha_or_none(m)
    renamed = np.where(np.isnan(m), np.nan, np.take(perm, np.nan_to_num(m).astype(int)))
    as_text = [[None if np.isnan(v) else f"L{int(v)}" for v in row] for row in m]
    if base is None:
        return
    assert krippendorff_alpha(renamed) == pytest.approx(base)
    assert krippendorff_alpha(as_text) == pytest.approx(base)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_no_ratings_at_all_is_not_enough_data_at_every_level(level: str) -> None:
    """All cells missing: too little data, whatever the level (hypothesis found interval and
    ratio calling the labels non-numeric instead)."""
    with pytest.raises(NotEnoughData, match="two or more ratings"):
        krippendorff_alpha(np.full((2, 2), np.nan), level=level)


@settings(max_examples=60, deadline=None)
@given(matrices(), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]), values)
def test_missing_units_do_not_change_alpha(m: np.ndarray, level: str, single: int) -> None:
    base = _alpha_or_none(m, level)
    if base is None:
        return
    empty = np.full((m.shape[0], 1), np.nan)
    one = empty.copy()
    one[0, 0] = single
    assert krippendorff_alpha(np.hstack([m, empty]), level=level) == pytest.approx(base)
    # a unit with a single rating has no pairable values (its value may add a new category
    # to the domain, which leaves alpha unchanged too)
    assert krippendorff_alpha(np.hstack([one, m]), level=level) == pytest.approx(base)


@settings(max_examples=60, deadline=None)
@given(matrices(), st.randoms(use_true_random=False))
def test_alpha_invariant_to_coder_and_unit_order(m: np.ndarray, rnd) -> None:
    base = _alpha_or_none(m, "ordinal")
    if base is None:
        return
    rows = list(range(m.shape[0]))
    cols = list(range(m.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    assert krippendorff_alpha(m[rows][:, cols], level="ordinal") == pytest.approx(base)
    assert base <= 1.0 + 1e-12


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(values, values), min_size=1, max_size=30),
    st.sampled_from([None, "linear", "quadratic"]),
)
def test_kappa_symmetric_in_raters(pairs: list[tuple[int, int]], weights: str | None) -> None:
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    try:
        forward = cohen_kappa(a, b, weights=weights)
    except NoVariation:
        with pytest.raises(NoVariation):
            cohen_kappa(b, a, weights=weights)
        return
    assert cohen_kappa(b, a, weights=weights) == pytest.approx(forward)
    assert forward <= 1.0 + 1e-12


@settings(max_examples=40, deadline=None)
@given(matrices())
def test_take_units_roundtrip(m: np.ndarray) -> None:
    r = Ratings.from_matrix(m)
    again = r.take_units(np.arange(r.n_units))
    np.testing.assert_array_equal(again.value_counts(), r.value_counts())
