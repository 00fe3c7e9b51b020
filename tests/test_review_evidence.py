"""Reviewed answers weigh more in every aggregation method, and Dawid-Skene's degenerate
estimates are guarded (docs/quality.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from truelabel import Workspace
from truelabel import quality as q
from truelabel.core.answers import aggregate_from_file
from truelabel.domain.models import User

SCHEMA = {"fields": [{"name": "intent", "type": "choice",
                      "options": ["refund", "account", "shipping"]}]}
METHODS = ("majority", "weighted", "dawid_skene", "gold_dawid_skene")
#: per item: (a1's answer, a2's answer); x4 and x5 are gold
ANSWERS = {"x0": ("account", "shipping"), "x1": ("account", "refund"),
           "x2": ("shipping", "shipping"), "x3": ("account", "account"),
           "x4": ("refund", "refund"), "x5": ("shipping", "shipping")}


@pytest.fixture
def reviewed(ws: Workspace, tmp_path: Path) -> tuple[object, dict[str, int], User]:
    p = ws.create_project("ev", SCHEMA, overlap=2)
    p.import_records([{"id": k, "text": f"text {k}"} for k in ANSWERS])
    users = {}
    for name, role in (("a1", "annotator"), ("a2", "annotator"), ("rev", "reviewer"),
                       ("lead", "manager")):
        users[name] = ws.add_user(name, "password-123", role=role)
        p.add_member(users[name], role)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": k, "intent": ANSWERS[k][0]}) + "\n"
                            for k in ("x4", "x5")))
    p.import_gold(gold)
    p.set_workflow(gold_rate=0.3, review_stages=[{"name": "check"}])
    for i, name in enumerate(("a1", "a2")):
        while (t := p.next_task(users[name])) is not None:
            p.submit(t.id, {"intent": ANSWERS[t.external_id][i]}, users[name])
    ids = {i["external_id"]: i["id"] for i in p.items(actor=users["lead"])}

    def answer_of(ext: str, name: str) -> int:
        return next(a["id"] for a in p.annotations(ids[ext])
                    if a["user_id"] == users[name].id)

    # x0: 1-1 tie account/shipping; the reviewer corrects a2's shipping to refund
    p.review(answer_of("x0", "a2"), "correct", users["rev"], value={"intent": "refund"})
    # x1: 1-1 tie account/refund; the reviewer accepts a2's refund
    p.review(answer_of("x1", "a2"), "accept", users["rev"])
    return p, ids, users["lead"]


@pytest.mark.parametrize("method", METHODS)
def test_reviewed_answers_win_ties_in_every_method(reviewed: tuple, method: str) -> None:
    p, ids, lead = reviewed
    p.aggregate(method=method, actor=lead)
    truth = p.ground_truth(actor=lead)
    # before: both ties went to "account", the first label in sorted order
    assert truth[ids["x0"]]["intent"]["value"] == "refund", method  # the correction
    assert truth[ids["x1"]]["intent"]["value"] == "refund", method  # the accepted answer
    assert truth[ids["x2"]]["intent"]["value"] == "shipping"


def _degenerate() -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """X answers every gold item wrongly, then is the only one to answer i1 ("refund")."""
    rows = [("g1", "X", "refund"), ("g2", "X", "account"), ("g3", "X", "shipping"),
            ("g1", "Y", "account"), ("g2", "Y", "shipping"), ("g3", "Y", "refund"),
            ("i1", "X", "refund"), ("i2", "Y", "account"), ("i2", "Z", "account"),
            ("i3", "Y", "shipping"), ("i3", "Z", "shipping")]
    gold = {"g1": "account", "g2": "shipping", "g3": "refund"}
    items, who, labels = (list(c) for c in zip(*rows, strict=True))
    return items, who, labels, gold


def test_gold_dawid_skene_never_invents_a_label() -> None:
    items, who, labels, gold = _degenerate()
    r = q.encode_ratings(items, who, labels)
    res = q.dawid_skene(r, gold=gold, answered_only=True)
    got = dict(zip(res.items.tolist(), res.labels.tolist(), strict=True))
    assert got["i1"] == "refund"  # not "account", the model's guess from X's accuracy 0
    assert got["i2"] == "account" and got["i3"] == "shipping"
    conf = dict(zip(res.items.tolist(), res.confidence.tolist(), strict=True))
    assert conf["i1"] < 0.5  # the model's own (low) belief is kept as the confidence


def test_aggregate_file_gold_dawid_skene_guard(tmp_path: Path) -> None:
    items, who, labels, gold = _degenerate()
    f = tmp_path / "answers.csv"
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "annotator", "label"])
        w.writerows(zip(items, who, labels, strict=True))
    g = tmp_path / "gold.csv"
    with g.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "label"])
        w.writerows(gold.items())
    data = aggregate_from_file(f, method="gold_dawid_skene", gold=g)
    assert {r["item"]: r["label"] for r in data["results"]}["i1"] == "refund"


def test_answer_weights_in_the_engines() -> None:
    r = q.encode_ratings([1, 1], ["a", "b"], ["x", "y"])
    assert q.majority_vote(r).labels.tolist() == ["x"]  # a tie: first in sorted order
    assert q.majority_vote(r, answer_weights=[1, 3]).labels.tolist() == ["y"]
    assert q.weighted_vote(r, weights=[1, 1], answer_weights=[1, 3]).labels.tolist() == ["y"]
    with pytest.raises(q.InvalidQualityInput if hasattr(q, "InvalidQualityInput")
                       else ValueError):
        q.majority_vote(r, answer_weights=[1])


def test_one_reviewer_correcting_both_answers_of_an_item_counts_once(
    reviewed: tuple, ws: Workspace
) -> None:
    """A reviewer who corrects two answers of one item authored two current answers; the
    quality report counts one (their latest) instead of failing on a repeated pair."""
    p, ids, lead = reviewed
    mine = p.annotations(ids["x2"])
    assert len(mine) == 2
    for a, label in zip(mine, ("refund", "account"), strict=True):
        p.review(a["id"], "correct", ws.get_user("rev"), value={"intent": label})
    report = p.quality_report(actor=lead)
    field = report["fields"]["intent"]
    assert "error" not in field, field
    assert field["labels"] == len({(i, a["user_id"]) for i in ids.values()
                                   for a in p.annotations(i) if i not in (ids["x4"], ids["x5"])})
