"""One-coin and Bayesian Dawid-Skene, the answer models, and ``auto``'s documented choice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from truelabel.domain.plugins import registry
from truelabel.quality import AggregationResult, Ratings, encode_ratings, majority_vote
from truelabel.quality import auto as auto_mod
from truelabel.quality.auto import FOLDS, MIN_GOLD, auto, candidates
from truelabel.quality.dawid_skene import dawid_skene
from truelabel.quality.methods import BAYES_PRIOR, MAJORITY, TruthMethod, shared_accuracy


def one_coin_crowd(accs: list[float], *, n_items: int = 400, k: int = 3, per_item: int = 4,
                   seed: int = 0) -> tuple[Ratings, np.ndarray]:
    """Annotators with one accuracy each and errors uniform over the other classes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    items, anns, labels = [], [], []
    for i in range(n_items):
        for a in rng.choice(len(accs), per_item, replace=False):
            if rng.random() < accs[a]:
                lab = truth[i]
            else:
                lab = rng.choice([c for c in range(k) if c != truth[i]])
            items.append(i)
            anns.append(int(a))
            labels.append(int(lab))
    return encode_ratings(items, anns, labels, classes=list(range(k))), truth


def test_one_coin_recovers_each_annotators_accuracy() -> None:
    accs = [0.95, 0.9, 0.8, 0.7, 0.5, 0.4]
    r, truth = one_coin_crowd(accs)
    res = registry.truth_methods.get("one_coin").fit(r)
    assert res.method == "one_coin_dawid_skene" and res.confusion is not None
    diag = np.diagonal(res.confusion, axis1=1, axis2=2)
    # one accuracy per annotator: the same on every row, errors spread evenly
    assert np.allclose(diag, diag[:, :1])
    off = res.confusion[0][~np.eye(3, dtype=bool)]
    assert np.allclose(off, off[0])
    assert np.abs(diag[:, 0] - np.array(accs)[r.annotators.astype(int)]).max() < 0.06
    assert np.mean(res.codes == truth) > np.mean(majority_vote(r).codes == truth)


def test_bayesian_dawid_skene_is_ds_with_its_documented_prior() -> None:
    r, _ = one_coin_crowd([0.9, 0.8, 0.7, 0.6], n_items=60)
    res = registry.truth_methods.get("bayesian_dawid_skene").fit(r)
    ref = dawid_skene(r, **BAYES_PRIOR, answered_only=True)
    assert np.array_equal(res.codes, ref.codes)
    assert res.params["smoothing"] == 1.0 and res.params["prior_smoothing"] == 1.0
    assert "MAP" in res.params["objective"]
    # the prior keeps every confusion cell away from 0 for sparse annotators
    assert res.confusion is not None and res.confusion.min() > 0.01


def test_answer_models_are_distributions() -> None:
    r, _ = one_coin_crowd([0.9, 0.8, 0.7, 0.6], n_items=50)
    unit, ann = r.unit[:7], r.annotator[:7]
    for name, tm in candidates().items():
        res = tm.fit(r)
        assert tm.answer_model is not None
        model = tm.answer_model(res, unit, ann)
        assert model.shape == (7, 3, 3), name
        assert np.allclose(model.sum(axis=2), 1.0), name


def test_majority_answer_model_is_one_shared_accuracy() -> None:
    r, _ = one_coin_crowd([0.9, 0.8, 0.7, 0.6], n_items=50)
    res = majority_vote(r)
    p = shared_accuracy(res)
    assert MAJORITY.answer_model is not None
    model = MAJORITY.answer_model(res, r.unit[:2], r.annotator[:2])
    assert np.allclose(np.diagonal(model, axis1=1, axis2=2), p)
    agree = np.mean(r.label == res.codes[r.unit])
    assert p == pytest.approx(agree)


def test_auto_records_its_choice_and_beats_majority_on_its_criterion() -> None:
    r, truth = one_coin_crowd([0.95, 0.9, 0.55, 0.5, 0.45, 0.4], n_items=300)
    res = auto(r, seed=3)
    rec = res.params["auto"]
    assert rec["criterion"] == "held-out answer log-likelihood per answer"
    assert rec["folds"] == FOLDS and rec["seed"] == 3 and rec["held_out_answers"] > 0
    assert set(rec["scores"]) == set(candidates()) and "majority" in rec["scores"]
    chosen = rec["chosen"]
    assert res.method.startswith("auto:")
    assert all(rec["scores"][chosen] >= v for v in rec["scores"].values() if v is not None)
    # two good annotators among four near-spammers: a model of annotators beats the vote
    assert chosen != "majority"
    assert np.mean(res.codes == truth) > np.mean(majority_vote(r).codes == truth)
    # seeded: the same seed gives the same record
    assert auto(r, seed=3).params["auto"] == rec


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, TruthMethod]]:
    """Replace auto's candidates by the dict the test fills in."""
    chosen: dict[str, TruthMethod] = {}
    monkeypatch.setattr(auto_mod, "candidates", lambda: chosen)
    yield chosen


def _contrary(r: Ratings, **kw: object) -> AggregationResult:
    """A method that always believes the least-voted label."""
    mv = majority_vote(r)
    post = np.where(mv.posterior > 0, 1.0 - mv.posterior, 0.0) + 1e-3
    post /= post.sum(axis=1, keepdims=True)
    return AggregationResult(**{**mv.__dict__, "method": "contrary", "posterior": post,
                                "codes": post.argmax(axis=1)})


def test_auto_falls_back_to_majority_when_nothing_beats_it(only: dict) -> None:
    r, _ = one_coin_crowd([0.9, 0.8, 0.7, 0.6], n_items=80)
    only["majority"] = MAJORITY
    only["contrary"] = TruthMethod("contrary", _contrary, answer_model=MAJORITY.answer_model)
    res = auto(r)
    rec = res.params["auto"]
    assert rec["scores"]["contrary"] < rec["scores"]["majority"]
    assert rec["chosen"] == "majority" and res.method == "auto:majority_vote"


def test_auto_with_gold_cross_validates_on_gold(only: dict) -> None:
    r, truth = one_coin_crowd([0.95, 0.9, 0.55, 0.5, 0.45, 0.4], n_items=200)
    only["majority"] = MAJORITY
    only["contrary"] = TruthMethod("contrary", _contrary, answer_model=MAJORITY.answer_model)
    only["dawid_skene"] = registry.truth_methods.get("dawid_skene")
    gold = {i: int(truth[i]) for i in range(40)}
    rec = auto(r, gold=gold).params["auto"]
    assert rec["criterion"].startswith("held-out gold accuracy")
    assert rec["gold_items"] == 40
    acc = {name: s[0] for name, s in rec["scores"].items()}
    assert acc["contrary"] < acc["majority"] and rec["chosen"] != "contrary"
    assert rec["scores"][rec["chosen"]] >= rec["scores"]["majority"]
    # too little gold: scored on held-out answers, and said so
    few = {i: int(truth[i]) for i in range(MIN_GOLD - 1)}
    rec = auto(r, gold=few).params["auto"]
    assert rec["criterion"].startswith("held-out answer") and "fewer than" in rec["note"]


def test_auto_candidates_are_registered_generative_methods_without_gold() -> None:
    names = set(candidates())
    assert {"majority", "dawid_skene", "one_coin", "bayesian_dawid_skene"} <= names
    assert not names & {"auto", "weighted", "gold_dawid_skene"}


def test_auto_scores_a_seeded_subsample_of_large_data_and_fits_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r, truth = one_coin_crowd([0.95, 0.9, 0.55, 0.5, 0.45, 0.4], n_items=300)
    monkeypatch.setattr(auto_mod, "MAX_CRITERION_ANSWERS", 400)
    gold = {i: int(truth[i]) for i in range(20)}
    res = auto(r, gold=gold, seed=1)
    sub = res.params["auto"]["subsample"]
    assert 0 < sub["answers"] < r.n_ratings and sub["items"] < r.n_units
    assert res.params["auto"]["gold_items"] == 20  # every gold item kept
    assert (res.codes >= 0).all()  # the chosen method labelled every item
    assert auto(r, gold=gold, seed=1).params["auto"] == res.params["auto"]
