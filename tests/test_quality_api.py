"""The quality HTTP API: who may do what, gold never leaks to annotators, the happy paths."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD, error_body
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User

P = "/api/projects/support"
SECRET = "GOLD-SECRET-7f3a"



def _label_all(
    c: TestClient, values: Any, *, upto: int | None = None
) -> list[dict[str, Any]]:
    """Take and submit tasks until none is left (or ``upto`` are done); ``values(task)`` gives
    each value. Returns every response body (tasks and submits)."""
    seen: list[dict[str, Any]] = []
    for n in range(upto or 200):
        r = c.post(f"{P}/tasks/next")
        if r.status_code == 204:
            return seen
        assert r.status_code == 200, r.text
        task = r.json()
        seen.append(task)
        s = c.post(f"{P}/tasks/{task['id']}/submit",
                   json={"value": values(task), "idempotency_key": f"k-{task['id']}-{n}"})
        assert s.status_code == 200, s.text
        seen.append(s.json())
    if upto:
        return seen
    raise AssertionError("the queue never ran dry")


def _ids(project: Project) -> dict[str, int]:
    return {r["external_id"]: r["id"] for r in project.items(limit=500)}


QUALITY_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/workflow", None),
    ("PATCH", "/workflow", {"gold_rate": 0.5}),
    ("PUT", "/items/1/gold", {"value": {"intent": "refund"}}),
    ("DELETE", "/items/1/gold", None),
    ("GET", "/gold", None),
    ("GET", "/reviews/next", None),
    ("POST", "/reviews", {"annotation_id": 1, "decision": "accept"}),
    ("GET", "/adjudications", None),
    ("POST", "/adjudications/1", {"value": {"intent": "refund"}}),
    ("POST", "/aggregate", {"method": "majority"}),
    ("GET", "/ground-truth", None),
    ("GET", "/quality", None),
    ("GET", "/quality/charts/confusion.svg", None),
    ("POST", "/signoffs", {"comment": "ok"}),
    ("GET", "/signoffs", None),
]


def test_annotators_get_403_and_outsiders_404_on_every_quality_route(
    client_for: Any, ws: Workspace, app: Any, users: dict[str, User], project: Project
) -> None:
    project.set_workflow(review_stages=[{"name": "review"}])
    ann = client_for("ann1")
    outsider = ws.add_user("outsider", PASSWORD)
    out = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(outsider)}"})
    for method, path, body in QUALITY_ROUTES:
        r = ann.request(method, P + path, json=body)
        error_body(r, 403, "forbidden")
        error_body(out.request(method, P + path, json=body), 404, "not_found")
    error_body(ann.post(f"{P}/gold", files={"file": ("g.jsonl", b'{"id": "m1"}\n')}), 403)
    error_body(out.post(f"{P}/gold", files={"file": ("g.jsonl", b'{"id": "m1"}\n')}), 404)


def test_reviewers_read_and_review_but_do_not_manage(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    rev = client_for("reviewer")
    for path in ("/workflow", "/quality", "/ground-truth", "/adjudications", "/signoffs"):
        assert rev.get(P + path).status_code == 200, path
    assert rev.get(f"{P}/quality/charts/agreement.svg").status_code == 200
    for method, path, body in [
        ("PATCH", "/workflow", {"gold_rate": 0.5}),
        ("PUT", "/items/1/gold", {"value": {"intent": "refund"}}),
        ("GET", "/gold", None),
        ("POST", "/aggregate", {"method": "majority"}),
        ("POST", "/signoffs", {"comment": "looks fine"}),
    ]:
        error_body(rev.request(method, P + path, json=body), 403, "forbidden")


def test_annotators_never_see_gold_values(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    mgr, ann = client_for("manager"), client_for("ann1")
    ids = _ids(project)
    gold_items = [ids[f"m{k}"] for k in range(0, 20, 4)]
    for i in gold_items:
        r = mgr.put(f"{P}/items/{i}/gold", json={"value": {"intent": "shipping", "note": SECRET}})
        assert r.status_code == 200, r.text
    assert mgr.patch(f"{P}/workflow", json={"gold_rate": 0.5}).status_code == 200

    bodies = _label_all(ann, lambda t: {"intent": "refund", "note": "my own words"})
    served = {b["item_id"] for b in bodies if "lease_expires_at" in b}
    assert served & set(gold_items), "the annotator was served gold items"
    assert all(b.get("feedback") is None for b in bodies if "schema_version" in b)
    texts = [json.dumps(b) for b in bodies]
    # everything else an annotator may call
    texts += [ann.get(P).text, ann.get(f"{P}/items?limit=500").text]
    texts += [ann.get(f"{P}/items/{i}").text for i in served]
    texts += [ann.request(m, P + p, json=b).text for m, p, b in QUALITY_ROUTES]
    texts.append(ann.get(f"{P}/export").text)
    assert not [t for t in texts if SECRET in t]
    # a manager does see them
    gold = mgr.get(f"{P}/gold").json()
    assert {g["item_id"] for g in gold} == set(gold_items)
    assert gold[0]["value"] == {"intent": "shipping", "note": SECRET}
    assert SECRET in mgr.get(f"{P}/export").text


def test_gold_feedback_only_when_turned_on(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    mgr, ann = client_for("manager"), client_for("ann2")
    ids = _ids(project)
    for k in range(20):
        mgr.put(f"{P}/items/{ids[f'm{k}']}/gold", json={"value": {"intent": "shipping"}})
    r = mgr.patch(f"{P}/workflow", json={"gold_rate": 1.0, "gold_feedback": True})
    assert r.json()["gold_feedback"] is True
    bodies = _label_all(ann, lambda t: {"intent": "refund" if t["item_id"] % 2 else "shipping"})
    feedback = [b["feedback"] for b in bodies if "schema_version" in b]
    assert len(feedback) == 20 and all(f is not None for f in feedback)
    assert {f["correct"] for f in feedback} == {True, False}
    wrong = next(f for f in feedback if not f["correct"])
    assert wrong["expected"] == {"intent": "shipping"} and wrong["wrong_fields"] == ["intent"]


def test_workflow_settings(client_for: Any, users: dict[str, User], project: Project) -> None:
    mgr = client_for("manager")
    wf = mgr.get(f"{P}/workflow").json()
    assert wf["gold_rate"] == 0 and wf["review_stages"] == []
    r = mgr.patch(f"{P}/workflow", json={
        "gold_rate": 0.2, "adjudication_threshold": 0.4,
        "review_stages": [{"name": "first look"}, {"name": "lead", "role": "manager",
                                                   "sample_rate": 0.5}]})
    assert r.status_code == 200, r.text
    assert r.json()["review_stages"][1] == {"name": "lead", "role": "manager", "sample_rate": 0.5}
    assert mgr.get(f"{P}/workflow").json()["adjudication_threshold"] == 0.4
    body = error_body(mgr.patch(f"{P}/workflow", json={"gold_rat": 0.1}), 422, "invalid_input")
    assert "gold_rate" in body["message"]
    body = error_body(mgr.patch(f"{P}/workflow", json={"gold_rate": 3}), 422, "invalid_input")
    assert body["detail"]["field"] == "gold_rate"
    error_body(mgr.patch(f"{P}/workflow", json={"review_stages": [{"name": "a"}, {"name": "a"}]}),
                422)
    assert mgr.get(f"{P}/workflow").json()["gold_rate"] == 0.2  # nothing half-applied


def test_gold_put_delete_and_upload(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    mgr = client_for("manager")
    ids = _ids(project)
    r = mgr.put(f"{P}/items/{ids['m3']}/gold", json={"value": {"intent": "other"}})
    assert r.json() == {"item_id": ids["m3"], "value": {"intent": "other"}}
    error_body(mgr.put(f"{P}/items/{ids['m3']}/gold", json={"value": {"intent": "nope"}}), 422)
    error_body(mgr.put(f"{P}/items/999999/gold", json={"value": {"intent": "other"}}), 404)
    assert mgr.delete(f"{P}/items/{ids['m3']}/gold").status_code == 204
    assert mgr.get(f"{P}/gold").json() == []

    jsonl = b'{"id": "m1", "intent": "refund"}\n{"id": "m2", "value": {"intent": "shipping"}}\n'
    r = mgr.post(f"{P}/gold", files={"file": ("answers.jsonl", jsonl)})
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 2, "source": "answers.jsonl"}
    csv = b"key,intent,quality\nm5,other,4\n"
    r = mgr.post(f"{P}/gold", files={"file": ("answers.csv", csv)}, data={"id_field": "key"})
    assert r.json()["imported"] == 1, r.text
    gold = {g["item_id"]: g["value"] for g in mgr.get(f"{P}/gold").json()}
    assert gold == {ids["m1"]: {"intent": "refund"}, ids["m2"]: {"intent": "shipping"},
                    ids["m5"]: {"intent": "other", "quality": 4}}
    bad = b'{"id": "m7", "intent": "refund"}\n{"id": "zzz", "intent": "refund"}\n'
    body = error_body(mgr.post(f"{P}/gold", files={"file": ("bad.jsonl", bad)}), 422,
                      "import_failed")
    assert "line 2" in body["message"] and "No gold was imported" in body["message"]
    assert len(mgr.get(f"{P}/gold").json()) == 3


def test_review_reject_returns_the_item_with_the_comment(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    mgr, rev, ann = client_for("manager"), client_for("reviewer"), client_for("ann1")
    error_body(rev.get(f"{P}/reviews/next"), 422, "invalid_input")  # no stages yet
    mgr.patch(f"{P}/workflow", json={"review_stages": [{"name": "check"}]})
    assert rev.get(f"{P}/reviews/next").status_code == 204  # nothing labelled yet
    _label_all(ann, lambda t: {"intent": "refund", "tags": ["urgent"]}, upto=3)
    bodies = [b for b in _label_all(ann, lambda t: {"intent": "refund"}) if "lease_expires_at" in b]
    assert not any(b["review_comments"] for b in bodies)

    view = rev.get(f"{P}/reviews/next?stage=check").json()
    assert view["stage"] == 1 and view["stage_name"] == "check"
    first = view["annotation"]
    assert first["username"] == "ann1" and view["item"]["data"]["text"]
    assert view["other_annotations"] == []
    body = error_body(rev.post(f"{P}/reviews", json={"annotation_id": first["id"],
                                                      "decision": "reject"}), 422)
    assert body["detail"]["field"] == "comment"
    r = rev.post(f"{P}/reviews", json={"annotation_id": first["id"], "decision": "reject",
                                       "comment": "Read rule 2: this one asks about shipping."})
    assert r.status_code == 201, r.text
    error_body(rev.post(f"{P}/reviews", json={"annotation_id": first["id"], "decision": "accept"}),
                409)

    # the item is back in the queue, for its annotator, with the reviewer's reason
    task = ann.post(f"{P}/tasks/next").json()
    assert task["item_id"] == view["item"]["id"]
    assert task["review_comments"] == [{"stage": 1, "comment":
                                        "Read rule 2: this one asks about shipping.",
                                        "reviewer": "reviewer"}]
    assert ann.get(f"{P}/tasks/{task['id']}").json()["review_comments"] == task["review_comments"]
    ann.post(f"{P}/tasks/{task['id']}/submit",
             json={"value": {"intent": "shipping"}, "idempotency_key": "again"})

    # accept, then correct, the next ones; an invalid correction is refused
    nxt = rev.get(f"{P}/reviews/next?stage=1").json()["annotation"]
    assert nxt["id"] != first["id"]
    assert rev.post(f"{P}/reviews", json={"annotation_id": nxt["id"],
                                          "decision": "accept"}).status_code == 201
    third = rev.get(f"{P}/reviews/next").json()["annotation"]
    error_body(rev.post(f"{P}/reviews", json={"annotation_id": third["id"], "decision": "correct",
                                          "value": {"intent": "nope"}}), 422)
    r = rev.post(f"{P}/reviews", json={"annotation_id": third["id"], "decision": "correct",
                                       "value": {"intent": "other"}, "comment": "fixed"})
    assert r.status_code == 201 and r.json()["correction_id"]
    error_body(rev.post(f"{P}/reviews", json={"annotation_id": first["id"], "decision": "maybe"}),
           422)
    # a reviewer does not review their own work
    own = client_for("manager")
    assert own.get(f"{P}/reviews/next").status_code == 200


def test_adjudication_aggregate_ground_truth_report_charts_signoff(
    client_for: Any, users: dict[str, User], project: Project
) -> None:
    mgr, rev = client_for("manager"), client_for("reviewer")
    a1, a2 = client_for("ann1"), client_for("ann2")
    assert mgr.patch(P, json={"overlap": 2}).status_code == 200
    mgr.patch(f"{P}/workflow", json={"adjudication_threshold": 0.4})
    ids = _ids(project)
    by_id = {v: k for k, v in ids.items()}
    split = {ids["m0"], ids["m1"]}  # ann2 disagrees on these two
    _label_all(a1, lambda t: {"intent": "refund"})
    _label_all(a2, lambda t: {"intent": "shipping" if t["item_id"] in split else "refund"})

    queue = rev.get(f"{P}/adjudications").json()
    assert {q["item_id"] for q in queue} == split
    first = queue[0]
    assert first["status"] == "open" and "majority share 0.50" in first["reason"]
    assert {a["username"] for a in first["annotations"]} == {"ann1", "ann2"}
    assert first["data"]["text"].startswith("Order")
    error_body(rev.post(f"{P}/adjudications/{first['item_id']}", json={"value": {"intent": "x"}}),
           422)
    r = rev.post(f"{P}/adjudications/{first['item_id']}",
                 json={"value": {"intent": "shipping"}, "comment": "the text says so"})
    assert r.json() == {"item_id": first["item_id"], "value": {"intent": "shipping"}}
    error_body(rev.post(f"{P}/adjudications/{first['item_id']}",
                    json={"value": {"intent": "refund"}}), 409)
    decided = rev.get(f"{P}/adjudications?status=decided").json()
    assert [d["item_id"] for d in decided] == [first["item_id"]]
    assert decided[0]["value"] == {"intent": "shipping"}

    error_body(mgr.post(f"{P}/aggregate", json={"method": "vote"}), 422)
    error_body(mgr.post(f"{P}/aggregate", json={"method": "weighted"}), 422)  # needs gold
    summary = mgr.post(f"{P}/aggregate", json={"method": "dawid_skene"}).json()
    assert summary["method"] == "dawid_skene" and summary["fields"]["intent"]["items"] == 20
    gt = {g["item_id"]: g["fields"] for g in rev.get(f"{P}/ground-truth").json()}
    assert len(gt) == 20
    assert gt[first["item_id"]]["intent"] == {
        "value": "shipping", "confidence": 1.0, "method": "adjudication",
        "contributors": gt[first["item_id"]]["intent"]["contributors"]}
    assert all(0 <= f["intent"]["confidence"] <= 1 for f in gt.values())
    one = rev.get(f"{P}/ground-truth?item_id={ids['m5']}").json()
    assert [g["item_id"] for g in one] == [ids["m5"]] and one[0]["fields"]["intent"]["value"] \
        == "refund"

    report = rev.get(f"{P}/quality?resamples=100").json()
    assert report["progress"]["items"] == 20 and report["progress"]["adjudication"] == {
        "decided": 1, "open": 1}
    intent = report["fields"]["intent"]
    assert intent["ci_low"] <= intent["alpha"] <= intent["ci_high"]
    assert {c["annotator"] for c in report["annotators"]} == {"ann1", "ann2"}
    assert report["confusion"]["intent"]["labels"] == ["refund", "shipping"]
    # the decided item's disagreement is settled: only the open one is a hot spot
    assert {s["item_id"] for s in report["hot_spots"]} == split - {first["item_id"]}
    assert len(by_id) == 20
    error_body(rev.get(f"{P}/quality?resamples=5"), 422)

    for name in ("agreement", "annotators", "confusion", "per-label"):
        r = rev.get(f"{P}/quality/charts/{name}.svg")
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert r.headers["content-security-policy"] == \
            "default-src 'none'; style-src 'unsafe-inline'"
        assert r.headers["x-content-type-options"] == "nosniff"
        ET.fromstring(r.text)
    assert "refund" in rev.get(f"{P}/quality/charts/confusion.svg?field=intent").text
    error_body(rev.get(f"{P}/quality/charts/confusion.svg?field=note"), 404, "not_found")
    error_body(rev.get(f"{P}/quality/charts/pie.svg"), 404, "not_found")

    # one item still waits for adjudication: refused without an override reason
    warned = mgr.get(f"{P}/signoffs/warnings").json()
    assert [w["code"] for w in warned["warnings"]][0] == "open_adjudications"
    body = error_body(mgr.post(f"{P}/signoffs", json={"comment": "Ready for training."}), 409,
                      "signoff_needs_override")
    assert body["detail"]["warnings"] == warned["warnings"]
    r = mgr.post(f"{P}/signoffs", json={"comment": "Ready for training.",
                                        "override_reason": "m1 is out of scope"})
    assert r.status_code == 201, r.text
    signed = r.json()
    assert signed["override_reason"] == "m1 is out of scope" and signed["warnings"]
    assert signed["comment"] == "Ready for training."
    assert signed["evidence"]["fields"]["intent"]["alpha"] == pytest.approx(intent["alpha"])
    listed = rev.get(f"{P}/signoffs").json()
    assert [s["id"] for s in listed] == [signed["id"]]
    assert listed[0]["username"] == "manager" and listed[0]["evidence"]["annotators"]

    export = [json.loads(line) for line in io.StringIO(mgr.get(f"{P}/export").text)]
    row = next(e for e in export if e["id"] == first["item_id"])
    assert row["ground_truth"]["intent"]["value"] == "shipping"
    assert row["ground_truth"]["intent"]["confidence"] == 1.0
    assert sorted(a["annotator"] for a in row["annotations"]) == ["ann1", "ann2"]
