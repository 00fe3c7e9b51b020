"""Issue 13, agreement and votes: one definition per measure, typed errors at the edges.

Each test here failed on the code before the fix: empty labels crashing the votes, weighted
Cohen's kappa depending on which items were paired, weighted votes leaving items unlabelled
when all their annotators weigh 0, and ratio alpha taking negative values.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from truelabel.plugins import registry
from truelabel.quality import (
    InvalidInput,
    NotEnoughData,
    QualityError,
    UnknownLabel,
    cohen_kappa,
    encode_ratings,
    krippendorff_alpha,
    krippendorff_alpha_ci,
    krippendorff_alpha_from_counts,
    majority_vote,
    pairwise_agreement,
    weighted_vote,
)

# ---------------------------------------------------------------- votes with nothing to vote on


def test_votes_on_no_labels_raise_not_enough_data() -> None:
    """Was a bare ValueError from np.argmax ("attempt to get argmax of an empty sequence")."""
    only_empty = encode_ratings(["i1", "i1"], ["a", "b"], [None, None])
    nothing = encode_ratings([], [], [])
    for r in (only_empty, nothing):
        with pytest.raises(NotEnoughData, match="needs answers with a label"):
            majority_vote(r)
        with pytest.raises(NotEnoughData, match="needs answers with a label"):
            weighted_vote(r, weights=np.ones(r.n_annotators))


def _gold_for(items: Sequence[Hashable], label: Hashable) -> dict[Hashable, Hashable]:
    return {i: label for i in items}


@pytest.mark.parametrize("name", registry.truth_methods.names())
def test_every_truth_method_fails_typed_on_no_labels(name: str) -> None:
    """Every registered method: zero usable labels is a QualityError, never a NumPy error."""
    method = registry.truth_methods.get(name)
    r = encode_ratings(["i1", "i1"], ["a", "b"], [None, None])
    with pytest.raises(QualityError):
        method.fit(r, gold=_gold_for(["i1"], "x"), warn=False)


@pytest.mark.parametrize("name", registry.truth_methods.names())
def test_every_truth_method_on_one_item_and_one_annotator(name: str) -> None:
    """One item with one answer: a label, or a typed error saying what to use instead."""
    method = registry.truth_methods.get(name)
    r = encode_ratings(["i1"], ["a"], ["x"])
    try:
        res = method.fit(r, gold=_gold_for(["i1"], "x"), warn=False)
    except QualityError as exc:
        assert "majority" in str(exc) or "gold" in str(exc)
        return
    assert res.labels.tolist() == ["x"]


# ---------------------------------------------------------------- weighted vote: all weights 0


def test_weighted_vote_items_whose_annotators_all_weigh_zero_get_the_plain_vote() -> None:
    """Was: such items came back unlabelled (code -1)."""
    r = encode_ratings(
        ["i1", "i1", "i1", "i2", "i2", "i3", "i3"],
        ["zero1", "zero2", "zero3", "good", "zero1", "zero2", "zero3"],
        ["x", "y", "y", "x", "y", "x", "y"],
    )
    weights = {"zero1": 0.0, "zero2": 0.0, "zero3": 0.0, "good": 0.9}
    res = weighted_vote(r, weights=weights)
    got = dict(zip(res.items.tolist(), res.labels.tolist(), strict=True))
    assert got == {"i1": "y", "i2": "x", "i3": "x"}  # i3: a tie, lowest label
    fallback = dict(zip(res.items.tolist(), res.params["unweighted_fallback"].tolist(),
                        strict=True))
    assert fallback == {"i1": True, "i2": False, "i3": True}
    assert res.confidence[0] == pytest.approx(2 / 3)  # plain vote share
    assert bool(res.tied[2]) and not bool(res.tied[0])
    # With positive weights nothing falls back, and the result is the weighted one.
    plain = weighted_vote(r, weights={k: 1.0 for k in weights})
    assert not plain.params["unweighted_fallback"].any()
    assert plain.labels.tolist() == majority_vote(r).labels.tolist()


def test_weighted_vote_fallback_keeps_answer_weights() -> None:
    r = encode_ratings(["i1", "i1", "i1"], ["a", "b", "c"], ["x", "y", "y"])
    res = weighted_vote(r, weights=[0.0, 0.0, 0.0], answer_weights=[5.0, 1.0, 1.0])
    assert res.labels.tolist() == ["x"] and bool(res.params["unweighted_fallback"][0])


# ---------------------------------------------------------------- weighted Cohen's kappa


def reference_weighted_kappa(
    a: Sequence[Hashable], b: Sequence[Hashable], labels: Sequence[Hashable], power: int
) -> float:
    """Weighted kappa written out by hand, as scikit-learn's cohen_kappa_score(labels=...)
    computes it: the confusion matrix over ``labels``, w_ij = |i - j|^power."""
    k = len(labels)
    pos = {lab: i for i, lab in enumerate(labels)}
    conf = [[0.0] * k for _ in range(k)]
    n = 0
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            continue
        conf[pos[x]][pos[y]] += 1
        n += 1
    rows = [sum(conf[i]) for i in range(k)]
    cols = [sum(conf[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = abs(i - j) ** power
            num += w * conf[i][j]
            den += w * rows[i] * cols[j] / n
    return 1.0 - num / den


# "c" occurs only in an unpaired answer (b has no label on that item).
RATER_A: list[Hashable] = ["a", "b", "d", "a", "d", "b", "a", "c", "d", "b", "a", "d"]
RATER_B: list[Hashable] = ["a", "d", "d", "b", "d", "a", "a", None, "b", "b", "b", "d"]


@pytest.mark.parametrize(("weights", "power"), [("linear", 1), ("quadratic", 2)])
def test_weighted_kappa_scale_includes_unpaired_labels(weights: str, power: int) -> None:
    """The scale is every label either rater used: "c" keeps its place between b and d."""
    got = cohen_kappa(RATER_A, RATER_B, weights=weights)  # type: ignore[arg-type]
    full = reference_weighted_kappa(RATER_A, RATER_B, ["a", "b", "c", "d"], power)
    paired_only = reference_weighted_kappa(RATER_A, RATER_B, ["a", "b", "d"], power)
    assert got == pytest.approx(full, abs=1e-12)
    assert abs(full - paired_only) > 0.01  # the old definition gave this other number
    # labels= is the scale; classes= is its former name and gives the same.
    order = ["d", "c", "b", "a"]
    assert cohen_kappa(RATER_A, RATER_B, weights=weights,  # type: ignore[arg-type]
                       labels=order) == pytest.approx(
        reference_weighted_kappa(RATER_A, RATER_B, order, power), abs=1e-12)
    assert cohen_kappa(RATER_A, RATER_B, weights=weights,  # type: ignore[arg-type]
                       classes=order) == cohen_kappa(RATER_A, RATER_B,
                                                     weights=weights,  # type: ignore[arg-type]
                                                     labels=order)


def test_weighted_kappa_matches_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    pairs = [(x, y) for x, y in zip(RATER_A, RATER_B, strict=True) if y is not None]
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    for weights in ("linear", "quadratic"):
        ref = metrics.cohen_kappa_score(xs, ys, labels=["a", "b", "c", "d"], weights=weights)
        got = cohen_kappa(RATER_A, RATER_B, weights=weights)  # type: ignore[arg-type]
        assert got == pytest.approx(ref, abs=1e-12)


def test_unweighted_kappa_does_not_depend_on_the_scale() -> None:
    assert cohen_kappa(RATER_A, RATER_B) == pytest.approx(
        cohen_kappa(RATER_A, RATER_B, labels=["d", "c", "b", "a", "e"]), abs=1e-12)


def test_kappa_labels_that_miss_a_label_or_repeat_one_are_errors() -> None:
    with pytest.raises(UnknownLabel, match="'c'"):
        cohen_kappa(RATER_A, RATER_B, weights="linear", labels=["a", "b", "d"])
    with pytest.raises(InvalidInput, match="more than once"):
        cohen_kappa(RATER_A, RATER_B, weights="linear", labels=["a", "b", "c", "d", "a"])
    with pytest.raises(InvalidInput, match="classes is the former name"):
        cohen_kappa(RATER_A, RATER_B, labels=["a", "b", "c", "d"], classes=["d", "c", "b", "a"])


# ---------------------------------------------------------------- ratio alpha


def test_ratio_alpha_refuses_negative_values() -> None:
    """Was: computed silently (a ratio scale has a true zero)."""
    m = [[-2.0, 1.0, 3.0, 3.0], [-2.0, 1.0, 2.0, 3.0]]
    with pytest.raises(InvalidInput, match="interval") as err:
        krippendorff_alpha(m, level="ratio")
    assert "-2" in str(err.value) and "true zero" in str(err.value)
    with pytest.raises(InvalidInput, match="interval"):
        krippendorff_alpha_ci(m, level="ratio", n_resamples=10)
    counts = np.array([[2, 0, 0], [0, 2, 0], [0, 1, 1]])
    with pytest.raises(InvalidInput, match="interval"):
        krippendorff_alpha_from_counts(counts, level="ratio", value_domain=[-1.0, 1.0, 2.0])
    # A negative value nobody used does not matter; interval takes negative values.
    assert krippendorff_alpha_from_counts(
        counts, level="ratio", value_domain=[1.0, 2.0, 3.0]
    ) == pytest.approx(krippendorff_alpha_from_counts(
        np.hstack([np.zeros((3, 1)), counts]), level="ratio",
        value_domain=[-5.0, 1.0, 2.0, 3.0]))
    assert np.isfinite(krippendorff_alpha(m, level="interval"))
    with pytest.raises(InvalidInput, match="interval"):
        pairwise_agreement(m, metric="alpha", level="ratio")
    assert pairwise_agreement(m, metric="alpha", level="interval")[0].n_units == 4
