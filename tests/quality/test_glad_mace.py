"""GLAD and MACE: parameter recovery on simulated crowds, gold clamping, answer weights, the
monotone objective, the registry entries, typed errors and the crowd benchmark accuracies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truelabel.plugins import registry
from truelabel.quality import (
    ConvergenceWarning,
    InvalidInput,
    NotEnoughData,
    UnknownLabel,
    encode_ratings,
    glad,
    mace,
    majority_vote,
)
from truelabel.quality.encode import Ratings

METHODS = {"glad": glad, "mace": mace}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def glad_crowd(
    alphas: tuple[float, ...], *, n_items: int = 500, k: int = 3, per_item: int = 5, seed: int = 0
) -> tuple[Ratings, np.ndarray]:
    """Answers drawn from GLAD's own model; returns the ratings and the truth per unit code."""
    rng = np.random.default_rng(seed)
    alpha = np.asarray(alphas)
    truth = rng.integers(0, k, n_items)
    beta = np.exp(rng.normal(0.5, 0.5, n_items))
    items, anns, labels = [], [], []
    for i in range(n_items):
        for a in rng.choice(alpha.shape[0], per_item, replace=False):
            if rng.random() < _sigmoid(alpha[a] * beta[i]):
                lab = int(truth[i])
            else:
                lab = int(rng.choice([c for c in range(k) if c != truth[i]]))
            items.append(i)
            anns.append(int(a))
            labels.append(lab)
    r = encode_ratings(items, anns, labels)
    return r, truth[np.asarray(r.units.tolist())]


def mace_crowd(
    thetas: tuple[float, ...], *, n_items: int = 500, k: int = 3, per_item: int = 5,
    seed: int = 0, spam_share: float = 0.8,
) -> tuple[Ratings, np.ndarray]:
    """Answers drawn from MACE's model: a spam answer is label 0 with probability
    ``spam_share``, else one of the others."""
    rng = np.random.default_rng(seed)
    theta = np.asarray(thetas)
    truth = rng.integers(0, k, n_items)
    xi = np.full(k, (1.0 - spam_share) / (k - 1))
    xi[0] = spam_share
    items, anns, labels = [], [], []
    for i in range(n_items):
        for a in rng.choice(theta.shape[0], per_item, replace=False):
            lab = int(truth[i]) if rng.random() < theta[a] else int(rng.choice(k, p=xi))
            items.append(i)
            anns.append(int(a))
            labels.append(lab)
    r = encode_ratings(items, anns, labels)
    return r, truth[np.asarray(r.units.tolist())]


def acc(codes: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    m = np.ones_like(truth, bool) if mask is None else mask
    return float(np.mean(codes[m] == truth[m]))


def _ordered(r: Ratings, values: np.ndarray) -> np.ndarray:
    """Fitted per-annotator values in the simulation's annotator order."""
    out = np.empty(values.shape[0])
    out[np.asarray(r.annotators.tolist())] = values
    return out


def test_glad_recovers_abilities_and_difficulties() -> None:
    alphas = (3.0, 3.0, 2.0, 2.0, 1.0, 1.0, 0.3, 0.3, 0.0, 0.0)
    r, t = glad_crowd(alphas, seed=1)
    res = glad(r)
    ability = _ordered(r, res.params["ability"])
    ranks = np.argsort(np.argsort(ability))
    true_ranks = np.argsort(np.argsort(np.asarray(alphas) + np.arange(10) * 1e-6))
    assert np.corrcoef(ranks, true_ranks)[0, 1] > 0.85
    assert ability[:2].min() > ability[-2:].max() + 1.0
    assert res.params["inverse_difficulty"].min() > 0
    acc_by_ann = _ordered(r, res.annotator_accuracy)
    assert acc_by_ann[:2].mean() > acc_by_ann[-2:].mean() + 0.3
    assert acc(res.codes, t) >= acc(majority_vote(r).codes, t)
    np.testing.assert_allclose(res.posterior.sum(axis=1), 1.0)
    assert res.converged and res.n_iter == len(res.objective_trace)


def test_mace_recovers_spammers() -> None:
    thetas = (0.95, 0.9, 0.9, 0.85) + (0.05,) * 6
    r, t = mace_crowd(thetas, seed=2)
    res = mace(r)
    spam = _ordered(r, res.params["spam_rate"])
    assert spam[:4].max() < 0.3
    assert spam[4:].min() > 0.7
    xi = res.params["spam_distribution"][np.argsort(np.asarray(r.annotators.tolist()))]
    assert np.all(np.argmax(xi[4:], axis=1) == 0)  # the spammers' favourite label
    np.testing.assert_allclose(res.params["spam_distribution"].sum(axis=1), 1.0)


@pytest.mark.parametrize(("name", "spam_share"), [("glad", 1 / 3), ("mace", 0.8)])
def test_beats_majority_vote_on_a_crowd_with_spammers(name: str, spam_share: float) -> None:
    # 3 good annotators and 7 spammers. GLAD's model has uniform errors, so its spammers
    # answer at random; MACE's answer label 0 80 % of the time, so the vote follows the spam.
    r, t = mace_crowd((0.9, 0.9, 0.85) + (0.0,) * 7, n_items=600, per_item=6, seed=4,
                      spam_share=spam_share)
    mv = acc(majority_vote(r).codes, t)
    fitted = acc(METHODS[name](r).codes, t)
    assert fitted > mv + 0.1, (name, fitted, mv)


@pytest.mark.parametrize("name", ["glad", "mace"])
def test_gold_is_clamped_and_helps(name: str) -> None:
    r, t = mace_crowd((0.9, 0.7, 0.6) + (0.05,) * 5, n_items=400, seed=5)
    rng = np.random.default_rng(0)
    gold_idx = rng.choice(r.n_units, 80, replace=False)
    # the gold label is deliberately the truth even where every answer disagrees
    gold = {r.units[i]: int(r.classes[int(t[i])]) for i in gold_idx.tolist()}
    rest = np.ones(r.n_units, bool)
    rest[gold_idx] = False
    plain = METHODS[name](r)
    anchored = METHODS[name](r, gold=gold)
    assert anchored.method == f"{name}+gold"
    assert np.array_equal(anchored.codes[gold_idx], t[gold_idx])
    np.testing.assert_allclose(anchored.confidence[gold_idx], 1.0)
    assert acc(anchored.codes, t, rest) >= acc(plain.codes, t, rest) - 0.01


@pytest.mark.parametrize("name", ["glad", "mace"])
def test_answer_weight_two_equals_a_repeated_answer(name: str) -> None:
    r, _ = glad_crowd((2.0, 1.0, 0.5, 0.2, 1.5), n_items=120, per_item=3, seed=6)
    double = np.arange(r.n_ratings) % 4 == 0
    weighted = METHODS[name](r, answer_weights=np.where(double, 2.0, 1.0), tol=0,
                             max_iter=30, warn=False)
    rows = np.concatenate([np.arange(r.n_ratings), np.flatnonzero(double)])
    repeated = encode_ratings(r.units[r.unit[rows]].tolist(),
                              r.annotators[r.annotator[rows]].tolist(),
                              [r.classes[c] for c in r.label[rows].tolist()])
    plain = METHODS[name](repeated, tol=0, max_iter=30, warn=False)
    order = np.argsort(np.asarray(weighted.items.tolist()))
    order2 = np.argsort(np.asarray(plain.items.tolist()))
    np.testing.assert_allclose(weighted.posterior[order], plain.posterior[order2], atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 5), name=st.sampled_from(["glad", "mace"]),
       with_gold=st.booleans(), weighted=st.booleans())
def test_objective_never_decreases(seed: int, k: int, name: str, with_gold: bool,
                                   weighted: bool) -> None:
    rng = np.random.default_rng(seed)
    n_ann = int(rng.integers(3, 9))
    alphas = tuple(rng.normal(1.0, 1.5, n_ann).tolist())
    r, t = glad_crowd(alphas, n_items=int(rng.integers(20, 120)), k=k,
                      per_item=int(rng.integers(2, n_ann + 1)), seed=seed)
    gold = ({r.units[i]: r.classes[int(t[i])] for i in range(0, r.n_units, 7)}
            if with_gold and all(int(c) == c for c in r.classes) else None)
    weights = rng.uniform(0.2, 3.0, r.n_ratings) if weighted else None
    res = METHODS[name](r, gold=gold, answer_weights=weights, tol=0, max_iter=40, warn=False)
    trace = np.asarray(res.objective_trace)
    assert trace.shape[0] == res.n_iter == 40
    assert np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-9 * np.maximum(1.0, np.abs(trace[1:])))


@pytest.mark.parametrize("name", ["glad", "mace"])
def test_registered_with_an_answer_model(name: str) -> None:
    method = registry.truth_methods.get(name)
    assert method is registry.truth_methods.get(f"truelabel.{name}.v1")
    assert method.iterative and not method.needs_gold and method.answer_model is not None
    r, _ = glad_crowd((2.0, 1.0, 0.5, -0.5), n_items=60, k=3, per_item=3, seed=7)
    res = method.fit(r, max_iter=5, tol=0.0, warn=False)
    assert res.n_iter == 5
    model = method.answer_model(res, r.unit, r.annotator)
    assert model.shape == (r.n_ratings, 3, 3)
    np.testing.assert_allclose(model.sum(axis=2), 1.0)
    assert np.all(model >= 0)


@pytest.mark.parametrize("name", ["glad", "mace"])
def test_bad_input_gives_typed_errors(name: str) -> None:
    fit = METHODS[name]
    r, _ = glad_crowd((2.0, 1.0, 0.5), n_items=30, k=2, per_item=2, seed=8)
    with pytest.raises(InvalidInput, match="max_iter"):
        fit(r, max_iter=0)
    for tol in (-1.0, float("nan")):
        with pytest.raises(InvalidInput, match="tol"):
            fit(r, tol=tol)
    with pytest.raises(InvalidInput, match="answer_weights"):
        fit(r, answer_weights=[1.0, 2.0])
    with pytest.raises(UnknownLabel, match="gold"):
        fit(r, gold={r.units[0]: "no-such-label"})
    lone = encode_ratings(["a", "b", "c"], ["w1", "w1", "w1"], ["x", "y", "x"])
    with pytest.raises(NotEnoughData, match="two annotators"):
        fit(lone)
    with pytest.raises(NotEnoughData, match="answers"):
        fit(encode_ratings([], [], []))
    bad_prior = ({"ability_prior": (1.0, 0.0)} if name == "glad"
                 else {"competence_prior": (0.5, 0.5)})
    with pytest.raises(InvalidInput, match="prior"):
        fit(r, **bad_prior)


@pytest.mark.parametrize("name", ["glad", "mace"])
def test_convergence_warning_at_max_iter(name: str) -> None:
    r, _ = glad_crowd((2.0, 1.0, 0.5, 0.0), n_items=80, per_item=3, seed=9)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        res = METHODS[name](r, max_iter=2, tol=1e-15)
    assert not res.converged and res.n_iter == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        METHODS[name](r, max_iter=2, tol=1e-15, warn=False)


# crowd-kit 1.4.2's accuracy on these data sets (shared/eval/crowd README, table D):
# ours must be at least as accurate.
CROWDKIT = {
    "glad": {"duck": 0.7222, "rte": 0.9250, "s_dog": 0.8340, "d_possent": 0.9480,
             "web": 0.8217},
    "mace": {"duck": 0.8056, "rte": 0.9263, "s_dog": 0.8302, "d_possent": 0.9500,
             "d_product": 0.9290, "s_rel": 0.5009},
}


@pytest.mark.parametrize(("name", "dataset"),
                         [(m, d) for m, sets in CROWDKIT.items() for d in sets])
def test_crowd_accuracy_at_least_crowd_kit(crowd, name: str, dataset: str) -> None:
    data = crowd(dataset)
    r = encode_ratings(data.items, data.workers, data.labels)
    res = METHODS[name](r)
    units = r.units.tolist()
    labels = res.labels
    scored = [i for i, u in enumerate(units) if u in data.truth and res.n_answers[i] > 0]
    accuracy = float(np.mean([str(labels[i]) == data.truth[units[i]] for i in scored]))
    assert accuracy >= CROWDKIT[name][dataset] - 5e-5, accuracy
    assert res.converged
