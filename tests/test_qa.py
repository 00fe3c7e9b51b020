"""Quality workflow in the library: gold, adaptive overlap, review, adjudication, truth."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.report import quality_report
from truelabel.domain.errors import Conflict, Forbidden, ImportFailed, InvalidInput, NotFound
from truelabel.domain.models import User

SCHEMA = {"fields": [
    {"name": "intent", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "note", "type": "text", "required": False},
    {"name": "stars", "type": "rating", "scale": 5, "required": False},
]}


@pytest.fixture
def qp(ws: Workspace) -> Project:
    p = ws.create_project("qa", SCHEMA, overlap=3)
    p.import_records([{"id": f"i{i}", "text": f"text {i}", "lang": "en" if i % 2 else "fr"}
                      for i in range(30)])
    return p


@pytest.fixture
def team(ws: Workspace, qp: Project) -> dict[str, User]:
    out = {}
    for name, role in [("u1", "annotator"), ("u2", "annotator"), ("u3", "annotator"),
                       ("rev", "reviewer"), ("lead", "manager")]:
        out[name] = ws.add_user(name, "password-123", role=role)
        qp.add_member(out[name], role)
    return out


def truth_of(ext: str) -> str:
    return "abc"[int(ext[1:]) % 3]


def label_all(p: Project, team: dict[str, User], *, random_user: str | None = "u3",
              rounds: int = 60) -> None:
    rng = random.Random(7)
    for _ in range(rounds):
        for name in ("u1", "u2", "u3"):
            t = p.next_task(team[name])
            if t is None:
                continue
            lab = rng.choice("abc") if name == random_user else truth_of(t.external_id)
            p.submit(t.id, {"intent": lab}, team[name])


def write_gold(tmp_path: Path, ids: list[str]) -> Path:
    f = tmp_path / "gold.jsonl"
    f.write_text("".join(json.dumps({"id": e, "intent": truth_of(e)}) + "\n" for e in ids))
    return f


def test_gold_never_reaches_annotators(qp: Project, team: dict, tmp_path: Path) -> None:
    assert qp.import_gold(write_gold(tmp_path, ["i0", "i1", "i2"])) == 3
    qp.set_workflow(gold_rate=0.5)
    u = team["u1"]
    seen_gold = 0
    while (t := qp.next_task(u)) is not None:
        assert "intent" not in json.dumps(t.data) and t.draft is None
        item = qp.item(t.item_id, actor=u)
        assert "gold" not in json.dumps(item) and "annotations" not in item
        seen_gold += t.external_id in ("i0", "i1", "i2")
        qp.submit(t.id, {"intent": "a"}, u)
    assert seen_gold == 3  # every gold item once, mixed into the queue
    with pytest.raises(Forbidden):
        qp.gold(actor=u)
    answers = sorted(v["intent"] for v in qp.gold(actor=team["lead"]).values())
    assert answers == ["a", "b", "c"]


def test_gold_rate_controls_share(qp: Project, team: dict, tmp_path: Path) -> None:
    ids = [f"i{i}" for i in range(10)]
    qp.import_gold(write_gold(tmp_path, ids))
    qp.set_workflow(gold_rate=0.2)
    u = team["u1"]
    kinds = []
    while (t := qp.next_task(u)) is not None:
        kinds.append(t.external_id in ids)
        qp.submit(t.id, {"intent": "a"}, u)
    # exactly 4 gold tasks in each block of 20, at irregular positions
    assert sum(kinds[:20]) == 4
    assert kinds.count(False) == 20  # the pool is done; leftover gold is not forced on anyone


def test_gold_feedback_in_training_rounds(qp: Project, team: dict, tmp_path: Path) -> None:
    qp.import_gold(write_gold(tmp_path, ["i0"]))
    qp.set_workflow(gold_rate=1.0, gold_feedback=True)
    t = qp.next_task(team["u1"])
    assert t.external_id == "i0"
    a = qp.submit(t.id, {"intent": "c"}, team["u1"])
    assert a.feedback == {"correct": False, "expected": {"intent": "a"},
                          "wrong_fields": ["intent"]}
    qp.set_workflow(gold_feedback=False)
    t2 = qp.next_task(team["u1"])
    assert qp.submit(t2.id, {"intent": "a"}, team["u1"]).feedback is None


def test_gold_that_does_not_fit_schema_is_rejected_with_line(qp: Project, tmp_path: Path
                                                            ) -> None:
    f = tmp_path / "gold.jsonl"
    f.write_text('{"id": "i0", "intent": "a"}\n{"id": "i1", "intent": "zzz"}\n')
    with pytest.raises(ImportFailed) as exc:
        qp.import_gold(f)
    assert "line 2" in exc.value.message and "intent" in exc.value.message
    assert qp.gold() == {}
    f.write_text('{"id": "nope", "intent": "a"}\n')
    with pytest.raises(ImportFailed, match="no item with id 'nope'"):
        qp.import_gold(f)
    csv = tmp_path / "gold.csv"
    csv.write_text("id,intent,stars\ni3,b,4\n")
    assert qp.import_gold(csv) == 1
    assert list(qp.gold().values()) == [{"intent": "b", "stars": 4}]


def test_adaptive_overlap_adds_annotators_until_cap(ws: Workspace, team: dict) -> None:
    p = ws.create_project("adapt", SCHEMA, overlap=2)
    p.import_records([{"id": "x", "text": "only item"}])
    for name in ("u1", "u2", "u3", "rev"):
        p.add_member(team[name], "annotator")
    p.set_workflow(adaptive=True, adaptive_max=3, adaptive_min_confidence=0.99)
    got = []
    for name, lab in [("u1", "a"), ("u2", "b"), ("u3", "a"), ("rev", "a")]:
        t = p.next_task(team[name])
        if t is None:
            got.append(None)
            continue
        p.submit(t.id, {"intent": lab}, team[name])
        got.append(t.item_id)
    # disagreement after 2 → a third annotator; the cap of 3 stops a fourth
    assert got[:3] == [got[0]] * 3 and got[3] is None


def test_disagreement_goes_to_adjudication(qp: Project, team: dict) -> None:
    qp.set_workflow(adjudication_threshold=0.3)
    label_all(qp, team, rounds=12)
    queue = qp.adjudication_queue(actor=team["rev"])
    assert queue and all(len(q["annotations"]) == 3 for q in queue)
    item = queue[0]["item_id"]
    qp.adjudicate(item, {"intent": "b"}, team["rev"], comment="checked")
    gt = qp.ground_truth(item_id=item)[item]["intent"]
    assert gt["value"] == "b" and gt["method"] == "adjudication" and gt["confidence"] == 1.0
    with pytest.raises(Conflict):
        qp.adjudicate(item, {"intent": "a"}, team["rev"])
    qp.aggregate(method="dawid_skene")  # keeps the decision
    assert qp.ground_truth(item_id=item)[item]["intent"]["method"] == "adjudication"
    with pytest.raises(Forbidden):
        qp.adjudication_queue(actor=team["u1"])


def test_review_reject_returns_item_with_comment(qp: Project, team: dict) -> None:
    qp.set_overlap(1)
    qp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 1.0},
                                   {"name": "qa", "role": "manager", "sample_rate": 1.0}])
    u1, rev, lead = team["u1"], team["rev"], team["lead"]
    t = qp.next_task(u1)
    a = qp.submit(t.id, {"intent": "c"}, u1)
    r = qp.next_review(rev)
    assert r["annotation"]["id"] == a.id and r["item"]["id"] == t.item_id
    with pytest.raises(InvalidInput, match="comment"):
        qp.review(a.id, "reject", rev)
    qp.review(a.id, "reject", rev, comment="this is a refund")
    assert qp.annotations(t.item_id) == []
    again = qp.next_task(u1)
    assert again.item_id == t.item_id
    assert again.review_comments == [{"stage": 1, "comment": "this is a refund",
                                      "reviewer": "rev"}]
    b = qp.submit(again.id, {"intent": "a"}, u1)
    # stage 1 accepts; stage 2 (manager) sees it next, the reviewer cannot
    assert qp.next_review(rev)["annotation"]["id"] == b.id
    qp.review(b.id, "accept", rev)
    with pytest.raises(InvalidInput, match="managers"):
        qp.next_review(rev, stage="qa")
    assert qp.next_review(lead, stage="qa")["annotation"]["id"] == b.id
    res = qp.review(b.id, "correct", lead, stage="qa", value={"intent": "b"})
    assert [x["value"] for x in qp.annotations(t.item_id)] == [{"intent": "b"}]
    assert res["correction_id"]
    with pytest.raises(Conflict):
        qp.review(b.id, "accept", lead, stage="qa")


def test_no_self_review(qp: Project, team: dict) -> None:
    qp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer"}])
    t = qp.next_task(team["rev"])
    a = qp.submit(t.id, {"intent": "a"}, team["rev"])
    assert qp.next_review(team["rev"]) is None
    with pytest.raises(Conflict, match="own"):
        qp.review(a.id, "accept", team["rev"])


def test_aggregation_outvotes_random_annotator_and_scorecard_flags(
        qp: Project, team: dict, tmp_path: Path) -> None:
    qp.import_gold(write_gold(tmp_path, [f"i{i}" for i in range(6)]))
    qp.set_workflow(gold_rate=0.2, slice_keys=["lang"])
    label_all(qp, team)
    for method in ("majority", "weighted", "dawid_skene", "gold_dawid_skene"):
        summary = qp.aggregate(method=method, actor=team["lead"])
        assert summary["fields"]["intent"]["items"] >= 24
        assert "no aggregation" in summary["fields"]["note"]["skipped"]
        gt = qp.ground_truth()
        ext = {r["id"]: r["external_id"] for r in qp.items(limit=500)}
        right = [gt[i]["intent"]["value"] == truth_of(ext[i]) for i in gt if "intent" in gt[i]]
        assert sum(right) / len(right) > 0.95, method
        assert {gt[i]["intent"]["method"] for i in gt if ext[i] in
                {f"i{k}" for k in range(6)}} <= {"gold"}
        sample = next(iter(gt.values()))["intent"]
        assert 0 < sample["confidence"] <= 1 and len(sample["contributors"]) >= 1
    rep = quality_report(qp, n_resamples=100)
    cards = {c["annotator"]: c for c in rep["annotators"]}
    assert cards["u3"]["flagged"] and not cards["u1"]["flagged"] and not cards["u2"]["flagged"]
    assert cards["u1"]["gold_accuracy"] == 1.0 and cards["u1"]["gold_ci"][1] == 1.0
    intent = rep["fields"]["intent"]
    assert intent["ci_low"] <= intent["alpha"] <= intent["ci_high"]
    assert set(intent["per_label"]) == {"a", "b", "c"}
    assert {p["a"] for p in intent["pairs"]} | {p["b"] for p in intent["pairs"]} == \
        {"u1", "u2", "u3"}
    assert set(intent["slices"]["lang"]) == {"en", "fr"}
    assert "no agreement measure yet for field type 'text'" in rep["fields"]["note"]["error"]
    conf = rep["confusion"]["intent"]
    assert conf["labels"] == ["a", "b", "c"] and sum(map(sum, conf["matrix"])) > 0
    assert rep["hot_spots"] and rep["hot_spots"][0]["majority_share"] < 1


def test_single_annotator_aggregates_by_majority(ws: Workspace, team: dict) -> None:
    p = ws.create_project("solo", SCHEMA, overlap=1)
    p.import_records([{"id": f"s{i}", "text": "x"} for i in range(5)] +
                     [{"id": "unlabeled", "text": "nobody"}])
    p.add_member(team["u1"], "annotator")
    for _ in range(5):
        t = p.next_task(team["u1"])
        p.submit(t.id, {"intent": "a"}, team["u1"])
    summary = p.aggregate(method="dawid_skene")
    assert summary["fields"]["intent"]["method"] == "majority"  # DS needs overlap
    assert len(p.ground_truth()) == 5  # the unlabeled item has no ground truth
    with pytest.raises(InvalidInput, match="gold"):
        p.aggregate(method="weighted")
    with pytest.raises(InvalidInput, match="known"):
        p.aggregate(method="no_such_method")


def test_annotator_on_gold_only(qp: Project, team: dict, tmp_path: Path) -> None:
    qp.import_gold(write_gold(tmp_path, ["i0", "i1"]))
    qp.set_workflow(gold_rate=1.0)
    for _ in range(2):
        t = qp.next_task(team["u3"])
        qp.submit(t.id, {"intent": "a"}, team["u3"])
    qp.set_workflow(gold_rate=0.0)
    label_all(qp, team, random_user=None, rounds=10)
    qp.aggregate(method="gold_dawid_skene")
    cards = {c["annotator"]: c for c in quality_report(qp, n_resamples=50)["annotators"]}
    assert cards["u3"]["gold_answered"] == 2 and cards["u3"]["gold_correct"] == 1


def test_signoff_freezes_evidence(qp: Project, team: dict) -> None:
    label_all(qp, team, random_user=None, rounds=5)
    s = qp.sign_off(team["lead"], comment="batch 1 ok")
    before = s["evidence"]["progress"]["submitted"]
    label_all(qp, team, random_user=None, rounds=3)
    stored = qp.signoffs()[0]
    assert stored["evidence"]["progress"]["submitted"] == before
    assert stored["username"] == "lead" and stored["comment"] == "batch 1 ok"
    with pytest.raises(Forbidden):
        qp.sign_off(team["u1"])


def test_export_carries_ground_truth_and_raw_labels(qp: Project, team: dict,
                                                    tmp_path: Path) -> None:
    label_all(qp, team, rounds=10)
    qp.aggregate(method="dawid_skene")
    out = tmp_path / "e.jsonl"
    qp.export(out)
    with out.open() as fh:
        rows = [json.loads(x) for x in fh]
    labeled = [r for r in rows if r["annotations"]]
    assert labeled and all(len(r["annotations"]) == 3 for r in labeled)
    assert all(0 < r["ground_truth"]["intent"]["confidence"] <= 1 for r in labeled)
    import pyarrow.parquet as pq

    qp.export(tmp_path / "e.parquet")
    table = pq.read_table(tmp_path / "e.parquet").to_pylist()
    with_truth = [r for r in table if r["ground_truth"]]
    assert len(with_truth) == len(labeled)
    # typed export: ground truth is a struct with one typed column per field, not JSON text
    assert with_truth[0]["ground_truth"]["intent"]["method"] == "dawid_skene"


def test_workflow_settings_validated(qp: Project) -> None:
    with pytest.raises(InvalidInput, match="gold_rate"):
        qp.set_workflow(gold_rate=2)
    with pytest.raises(InvalidInput, match="Unknown workflow"):
        qp.set_workflow(colour="red")
    with pytest.raises(NotFound):
        qp.set_gold(99999, {"intent": "a"})
