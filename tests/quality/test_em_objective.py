"""The objective an iterative truth method monitors never decreases, and EM stops on it honestly.

The property test runs over EVERY iterative method in ``registry.truth_methods`` (plug-ins and
later built-ins such as GLAD and MACE get it for free), on random crowds: random confusion
matrices, sparse assignment, gold or not, answer weights or not. Dawid-Skene's own options
(smoothing, a diagonal prior, gold weight, one-coin) are covered by a second property test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truelabel.domain.plugins import registry
from truelabel.quality import InvalidInput, QualityWarning, Ratings, encode_ratings
from truelabel.quality.dawid_skene import dawid_skene

SLACK = 1e-9  # per answer


def iterative_methods() -> list[str]:
    return sorted(n for n, tm in registry.truth_methods.all().items() if tm.iterative)


@st.composite
def crowds(draw: st.DrawFn) -> tuple[Ratings, dict | None, np.ndarray | None]:
    """A random crowd: (ratings, gold or None, answer weights or None)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_items = draw(st.integers(4, 40))
    n_ann = draw(st.integers(2, 7))
    k = draw(st.integers(2, 4))
    density = draw(st.floats(0.2, 1.0))
    # each annotator's confusion rows: Dirichlet, tilted towards the diagonal or not
    tilt = draw(st.floats(0.0, 5.0))
    conf = rng.dirichlet(np.ones(k), size=(n_ann, k)) + tilt * np.eye(k)[None]
    conf /= conf.sum(axis=2, keepdims=True)
    truth = rng.integers(0, k, n_items)
    items, anns, labels = [0, 0], [0, 1], [int(truth[0]), int(rng.integers(0, k))]  # overlap
    for i in range(n_items):
        for a in range(n_ann):
            if rng.random() < density:
                items.append(i)
                anns.append(a)
                labels.append(int(rng.choice(k, p=conf[a, truth[i]])))
    r = encode_ratings(items, anns, labels, classes=list(range(k)))
    gold = None
    if draw(st.booleans()):
        chosen = rng.choice(n_items, size=max(1, n_items // 4), replace=False)
        gold = {int(i): int(truth[i]) for i in chosen}
    weights = None
    if draw(st.booleans()):
        weights = rng.choice([0.5, 1.0, 2.0, 3.0], size=len(items))
    return r, gold, weights


def assert_non_decreasing(trace: tuple[float, ...], what: str) -> None:
    steps = np.diff(np.asarray(trace))
    assert np.all(np.isfinite(trace)), what
    assert np.all(steps >= -SLACK), f"{what}: objective fell by {-steps.min():.3g}"


@pytest.mark.parametrize("name", iterative_methods())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowd=crowds())
def test_every_iterative_method_never_decreases_its_objective(name: str, crowd) -> None:
    r, gold, weights = crowd
    tm = registry.truth_methods.get(name)
    if tm.needs_gold and not gold:
        gold = {int(r.units[0]): int(r.classes[0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)
        res = tm.fit(r, gold=gold, answer_weights=weights, max_iter=40, tol=0.0, warn=False)
    assert len(res.objective_trace) == res.n_iter  # auto may choose a vote: 0 iterations
    assert_non_decreasing(res.objective_trace, name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowd=crowds(), smoothing=st.sampled_from([0.0, 0.01, 1.0]),
       diagonal=st.sampled_from([0.0, 2.0]), model=st.sampled_from(["full", "one_coin"]),
       gold_weight=st.sampled_from([1.0, 10.0]))
def test_dawid_skene_options_never_decrease_the_objective(
    crowd, smoothing: float, diagonal: float, model: str, gold_weight: float
) -> None:
    r, gold, weights = crowd
    res = dawid_skene(r, gold=gold, answer_weights=weights, smoothing=smoothing,
                      diagonal=diagonal, model=model, gold_weight=gold_weight,  # type: ignore[arg-type]
                      max_iter=40, tol=0.0, warn=False)
    assert len(res.objective_trace) == res.n_iter
    assert_non_decreasing(res.objective_trace, f"{model} s={smoothing} d={diagonal}")


def log_likelihood(r: Ratings, confusion: np.ndarray, prior: np.ndarray) -> float:
    """Σ_i log Σ_k π_k Π θ[a, k, l], item by item in plain Python (the reference)."""
    total = 0.0
    for i in range(r.n_units):
        rows = np.flatnonzero(r.unit == i)
        if not rows.size:
            continue
        p = prior.copy()
        for j in rows:
            p = p * confusion[r.annotator[j], :, r.label[j]]
        total += float(np.log(p.sum()))
    return total


def test_the_trace_is_the_log_likelihood_of_the_returned_fit() -> None:
    # written out by hand: the monitored value is the data log-likelihood per answer, not an
    # evidence bound with the prior weighted by each item's number of answers
    rng = np.random.default_rng(3)
    items = np.repeat(np.arange(30), 4)
    anns = np.tile(np.arange(4), 30)
    labels = rng.integers(0, 3, items.size)
    r = encode_ratings(items.tolist(), anns.tolist(), labels.tolist())
    res = dawid_skene(r, max_iter=5, tol=0.0, warn=False)
    assert res.confusion is not None and res.prior is not None
    # the trace's last value is the objective of the parameters returned
    expected = log_likelihood(r, res.confusion, res.prior) / items.size
    assert res.objective_trace[-1] == pytest.approx(expected, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- regression (issue 13)


@pytest.mark.parametrize("name", ["duck", "s_adult"])
def test_dawid_skene_no_longer_stops_at_iteration_two(crowd, name: str) -> None:
    d = crowd(name)
    r = encode_ratings(d.items, d.workers, d.labels)
    res = dawid_skene(r)
    # the old rule stopped here after 2 iterations with converged=True
    assert res.n_iter > 2 and res.converged
    assert len(res.objective_trace) == res.n_iter
    assert res.objective_trace[-1] - res.objective_trace[-2] <= 1e-5
    assert_non_decreasing(res.objective_trace, name)


def test_tol_zero_runs_to_max_iter(crowd) -> None:
    d = crowd("s_adult")
    r = encode_ratings(d.items, d.workers, d.labels)
    res = dawid_skene(r, tol=0.0, max_iter=30, warn=False)
    assert res.n_iter == 30 and not res.converged
    assert len(res.objective_trace) == 30
    assert res.objective_trace[-1] > dawid_skene(r, max_iter=2, warn=False).objective_trace[-1]


def test_tol_zero_stops_at_an_exact_fixed_point() -> None:
    # unanimous annotators: EM reaches a fixed point in a few iterations
    r = encode_ratings([1, 1, 2, 2, 3, 3], ["a", "b"] * 3, ["x", "x", "y", "y", "x", "x"])
    res = dawid_skene(r, tol=0.0, max_iter=500)
    assert res.converged and res.n_iter < 500
    assert res.objective_trace[-1] - res.objective_trace[-2] <= 0.0


@pytest.mark.parametrize(("max_iter", "tol", "match"), [
    (0, 1e-5, "max_iter"), (2.5, 1e-5, "max_iter"), (10, -1e-3, "tol=0 runs"),
    (10, float("nan"), "tol"), (10, float("inf"), "tol"),
])
def test_bad_iteration_options_are_refused(max_iter, tol, match: str) -> None:
    r = encode_ratings([1, 1], ["a", "b"], ["x", "x"])
    with pytest.raises(InvalidInput, match=match):
        dawid_skene(r, max_iter=max_iter, tol=tol)
