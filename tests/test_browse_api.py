"""The data browser's JSON API: every filter, sort, pages and counts, parameter errors, bulk
actions (permissions, audit, all or nothing), saved views and the item record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD, SCHEMA, error_body
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core import browse as browse_core
from truelabel.domain.models import User


@pytest.fixture
def bp(ws: Workspace) -> Project:
    """12 items, overlap 2, with answers, a review of each kind, truth and metadata."""
    p = ws.create_project("bp", SCHEMA, overlap=2)
    p.import_records([{"id": f"x{i}", "text": f"Order {i}" + (" late" if i % 4 == 0 else "")}
                      for i in range(12)], meta={"lang": "en"})
    return p


@pytest.fixture
def crew(ws: Workspace, bp: Project) -> dict[str, User]:
    out = {}
    for name, role in [("boss", "manager"), ("rev", "reviewer"), ("a1", "annotator"),
                       ("a2", "annotator"), ("a3", "annotator")]:
        out[name] = ws.add_user(name, PASSWORD, role=role)
        bp.add_member(out[name], role)
    return out


@pytest.fixture
def client_for(app: Any, ws: Workspace, crew: dict[str, User]) -> Any:
    """client_for("boss") → a TestClient with that user's API token."""

    def make(name: str) -> TestClient:
        return TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(crew[name])}"})

    return make


@pytest.fixture
def labelled(bp: Project, crew: dict[str, User]) -> dict[str, Any]:
    """a1 and a2 answer items 1-6: they agree on 1-3 (refund), disagree on 4-6."""
    bp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 1.0}],
                    adjudication_threshold=0.4)
    ann: dict[int, list[int]] = {}
    for n in range(6):
        for who in ("a1", "a2"):
            t = bp.next_task(crew[who])
            assert t is not None
            intent = "refund" if n < 3 or who == "a1" else "shipping"
            value: dict[str, Any] = {"intent": intent}
            if who == "a1" and n == 0:
                value["entities"] = [{"start": 0, "end": 5, "label": "ORG"}]
                value["tags"] = ["vip"]
            a = bp.submit(t.id, value, crew[who])
            ann.setdefault(t.item_id, []).append(a.id)
    items = sorted(ann)
    bp.review(ann[items[0]][0], "accept", crew["rev"])
    bp.review(ann[items[1]][0], "reject", crew["rev"], comment="wrong")
    bp.review(ann[items[2]][0], "correct", crew["rev"], value={"intent": "other"})
    return {"items": items, "annotations": ann}


def ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()["items"]]


def test_each_filter_keeps_exactly_its_items(bp: Project, crew: dict[str, User],
                                             labelled: dict[str, Any], client_for: Any) -> None:
    items = labelled["items"]
    c = client_for("boss")
    url = f"/api/projects/{bp.name}/browse"
    everything = c.get(url).json()
    assert everything["total"] == 12 and everything["total_exact"] is True
    all_ids = [r["id"] for r in everything["items"]]

    # a1's rejected answer (item 2) and corrected one (item 3) are no longer current
    assert ids(c.get(url, params={"annotator": "a1"})) == [items[0], *items[3:]]
    assert ids(c.get(url, params={"annotator": "a2"})) == items
    assert ids(c.get(url, params={"annotator": "a3"})) == []
    # a label value: a choice, a list member, a span's label; corrected answers count
    assert ids(c.get(url, params={"label": "intent=shipping"})) == items[3:]
    assert ids(c.get(url, params={"label": "intent=other"})) == [items[2]]
    assert ids(c.get(url, params={"label": "tags=vip"})) == [items[0]]
    assert ids(c.get(url, params={"label": "entities=ORG"})) == [items[0]]
    # agreement on a field: two or more current answers, all equal (or not)
    agree = ids(c.get(url, params={"agreement": "agree", "agreement_field": "intent"}))
    assert agree == [items[0]]  # item 2 lost its rejected answer, item 3 was corrected
    assert ids(c.get(url, params={"agreement": "disagree"})) == [items[2], *items[3:]]
    # review outcome
    assert ids(c.get(url, params={"review": "accepted"})) == [items[0]]
    assert ids(c.get(url, params={"review": "rejected"})) == [items[1]]
    assert ids(c.get(url, params={"review": "corrected"})) == [items[2]]
    assert ids(c.get(url, params={"review": "unreviewed"})) == items[3:]
    # metadata, text, dates
    assert ids(c.get(url, params={"meta": "lang=en"})) == all_ids
    assert ids(c.get(url, params={"meta": "lang=de"})) == []
    assert ids(c.get(url, params={"q": "late"})) == [all_ids[i] for i in (0, 4, 8)]
    assert ids(c.get(url, params={"imported_from": "2000-01-01"})) == all_ids
    assert ids(c.get(url, params={"imported_to": "2000-01-01"})) == []
    assert ids(c.get(url, params={"annotated_from": "2000-01-01",
                                  "annotated_to": "2999-12-31"})) == items
    assert ids(c.get(url, params={"annotated_to": "2000-01-01T00:00:00"})) == []
    # the lifecycle state
    states = {r["id"]: r["state"] for r in everything["items"]}
    for state in set(states.values()):
        assert ids(c.get(url, params={"status": state})) == [
            i for i in all_ids if states[i] == state]
    # ground truth
    assert ids(c.get(url, params={"gt": "has"})) == []
    bp.aggregate(method="majority")
    with_truth = ids(c.get(url, params={"gt": "has"}))
    assert with_truth and set(with_truth) <= set(items)
    assert set(ids(c.get(url, params={"gt": "none"}))) == set(all_ids) - set(with_truth)
    refund = ids(c.get(url, params={"gt": "intent=refund"}))
    truth = bp.ground_truth()
    assert refund == sorted(i for i, f in truth.items() if f["intent"]["value"] == "refund")
    # filters combine (and); a page shows each item's current answers to managers
    both = c.get(url, params={"annotator": "a2", "label": "intent=shipping"}).json()
    assert [r["id"] for r in both["items"]] == items[3:] and both["total"] == 3
    assert {a["annotator"] for a in both["items"][0]["answers"]} == {"a1", "a2"}
    # a field of the item's own data (a CSV column) is metadata too
    extra = bp.import_records([{"id": "col", "text": "Bonjour", "market": "fr"}])
    assert extra.added == 1
    assert [r["external_id"] for r in c.get(url, params={"meta": "market=fr"}).json()["items"]
            ] == ["col"]


def test_label_values_json_escapes_are_found(bp: Project, crew: dict[str, User],
                                              client_for: Any) -> None:
    """The label filter's substring pre-test must not hide values JSON writes escaped."""
    items = [r["id"] for r in bp.items(limit=5)]
    notes = ['say "hi"', "水杯坏了", "back\\slash", "plain"]
    for item, note in zip(items, notes, strict=False):
        bp.annotate(item, {"intent": "other", "note": note}, crew["a1"])
    c = client_for("boss")
    for item, note in zip(items, notes, strict=False):
        r = c.get(f"/api/projects/{bp.name}/browse", params={"label": f"note={note}"})
        assert ids(r) == [item], note
    assert ids(c.get(f"/api/projects/{bp.name}/browse", params={"label": "note=hi"})) == []


def test_sort_pages_and_counts(bp: Project, labelled: dict[str, Any], client_for: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    c = client_for("boss")
    url = f"/api/projects/{bp.name}/browse"
    all_ids = ids(c.get(url))
    # keyset pages forward and back, newest first
    first = c.get(url, params={"sort": "-id", "limit": 5}).json()
    assert [r["id"] for r in first["items"]] == all_ids[::-1][:5]
    assert first["prev_before"] is None and first["next_after"]
    second = c.get(url, params={"sort": "-id", "limit": 5, "after": first["next_after"]}).json()
    assert [r["id"] for r in second["items"]] == all_ids[::-1][5:10]
    back = c.get(url, params={"sort": "-id", "limit": 5, "before": second["prev_before"]}).json()
    assert [r["id"] for r in back["items"]] == all_ids[::-1][:5] and back["prev_before"] is None
    last = c.get(url, params={"sort": "-id", "limit": 5, "after": second["next_after"]}).json()
    assert len(last["items"]) == 2 and last["next_after"] is None
    # most answered first, ties by id; its cursor carries the key
    by_done = c.get(url, params={"sort": "-n_done", "limit": 4}).json()
    rows = by_done["items"]
    assert [r["n_done"] for r in rows] == sorted((r["n_done"] for r in rows), reverse=True)
    nxt = c.get(url, params={"sort": "-n_done", "limit": 4, "after": by_done["next_after"]})
    seen = [r["id"] for r in rows] + ids(nxt)
    assert len(set(seen)) == 8
    # a count past the cap says so instead of reading everything
    monkeypatch.setattr(browse_core, "COUNT_CAP", 4)
    capped = c.get(url, params={"meta": "lang=en"}).json()
    assert capped["total"] == 4 and capped["total_exact"] is False
    driven = c.get(url, params={"annotator": "a2"}).json()
    assert driven["total"] == 4 and driven["total_exact"] is False
    sparse = c.get(url, params={"review": "accepted"}).json()
    assert sparse["total"] == 1 and sparse["total_exact"] is True
    assert c.get(url, params={"count": "0"}).json()["total"] is None
    # an unfiltered count past its exact limit is the id range's size, said to be an estimate
    monkeypatch.setattr(browse_core, "EXACT_UPTO", 5)
    bp.bulk_items("delete", item_ids=all_ids[3:5])
    about = c.get(url).json()
    assert (about["total"], about["total_exact"], about["total_estimated"]) == (12, False, True)
    monkeypatch.setattr(browse_core, "EXACT_UPTO", 100)
    assert c.get(url).json()["total"] == 10


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"status": "nope"}, "status", "queued"),
    ({"sort": "text"}, "sort", "-id"),
    ({"label": "intent"}, "label", "field=value"),
    ({"label": "colour=red"}, "label", "no field 'colour'"),
    ({"gt": "maybe"}, "gt", "has, none"),
    ({"imported_from": "yesterday"}, "imported_from", "2026-12-03"),
    ({"annotator": "ghost"}, "annotator", "no user"),
    ({"after": "abc"}, "after", "next_after"),
    ({"limit": "0"}, "limit", "1 to 500"),
    ({"colour": "red"}, "colour", "unknown parameter"),
    ({"agreement_field": "nope", "agreement": "agree"}, "agreement_field", "no field"),
])
def test_bad_parameters_are_named_with_what_to_do(
        bp: Project, crew: dict[str, User], client_for: Any, params: dict[str, str],
        field: str, words: str) -> None:
    r = client_for("boss").get(f"/api/projects/{bp.name}/browse", params=params)
    if r.status_code == 422 and r.json().get("detail", {}).get("field") is None:
        return  # refused by the route's own validation (Literal values): still one shape
    body = error_body(r, 422, "invalid_input")
    assert body["detail"]["field"] == field and words in body["message"]


def test_annotators_see_only_their_items_and_no_answer_filters(
        bp: Project, crew: dict[str, User], labelled: dict[str, Any], client_for: Any) -> None:
    c = client_for("a3")
    url = f"/api/projects/{bp.name}/browse"
    assert c.get(url).json()["total"] == 0
    t = bp.next_task(crew["a3"])
    assert t is not None
    page = c.get(url).json()
    assert [r["id"] for r in page["items"]] == [t.item_id] and "answers" not in page["items"][0]
    for params in ({"annotator": "a1"}, {"label": "intent=refund"}, {"review": "accepted"},
                   {"gt": "has"}, {"agreement": "agree"}):
        error_body(c.get(url, params=params), 403, "forbidden")
    # bulk actions, views and others' item records are the managers'
    error_body(c.post(f"/api/projects/{bp.name}/items/bulk",
                      json={"action": "delete", "item_ids": [t.item_id]}), 403, "forbidden")
    error_body(c.get(f"/api/projects/{bp.name}/views"), 403, "forbidden")
    other = labelled["items"][0]
    error_body(c.get(f"/api/projects/{bp.name}/items/{other}/record"), 404, "not_found")
    mine = c.get(f"/api/projects/{bp.name}/items/{t.item_id}/record").json()
    assert mine["annotations"] == [] and "reviews" not in mine and "history" not in mine


def test_bulk_actions_are_counted_confirmed_audited_and_all_or_nothing(
        ws: Workspace, bp: Project, crew: dict[str, User], labelled: dict[str, Any],
        client_for: Any) -> None:
    c = client_for("boss")
    bulk = f"/api/projects/{bp.name}/items/bulk"
    url = f"/api/projects/{bp.name}/browse"
    queued = ids(c.get(url, params={"status": "unlabeled"}))
    assert len(queued) == 6
    # a dry run counts what the filter matches (the page's confirmation)
    dry = c.post(bulk, json={"action": "assign", "query": "status=unlabeled",
                             "username": "a3", "dry_run": True}).json()
    assert dry["count"] == len(queued) and dry["states"] == {"queued": len(queued)}
    # the count changed since: refused, nothing done
    error_body(c.post(bulk, json={"action": "assign", "query": "status=unlabeled",
                                  "username": "a3", "expect": len(queued) + 1}), 409, "conflict")
    # one item already has its two annotators: nothing is assigned
    full = labelled["items"][0]
    error_body(c.post(bulk, json={"action": "assign", "item_ids": [*queued, full],
                                  "username": "a3"}), 409, "conflict")
    assert client_for("a3").get(url).json()["total"] == 0
    done = c.post(bulk, json={"action": "assign", "query": "status=unlabeled",
                              "username": "a3", "expect": len(queued)}).json()
    assert done["count"] == len(queued)
    mine = client_for("a3").get(url).json()
    assert [r["id"] for r in mine["items"]] == queued
    # reviewers may not; a non-member annotator is refused
    error_body(client_for("rev").post(bulk, json={"action": "requeue", "item_ids": queued}),
               403, "forbidden")
    stranger = ws.add_user("stranger", PASSWORD, role="annotator")
    assert stranger
    error_body(c.post(bulk, json={"action": "assign", "item_ids": queued,
                                  "username": "stranger"}), 422, "invalid_input")
    # all or nothing: an unknown id changes nothing
    error_body(c.post(bulk, json={"action": "delete", "item_ids": [queued[0], 99999]}),
               404, "not_found")
    assert queued[0] in ids(c.get(url))
    # send to review takes submitted items only
    error_body(c.post(bulk, json={"action": "review", "item_ids": queued}), 409, "conflict")
    # delete: the items and everything about them go; one audit entry names them
    victims = labelled["items"][3:5]
    r = c.post(bulk, json={"action": "delete", "item_ids": victims, "expect": 2})
    assert r.status_code == 200 and r.json()["count"] == 2
    left = ids(c.get(url))
    assert not set(victims) & set(left) and len(left) == 10
    assert ids(c.get(url, params={"annotator": "a2"})) == [
        i for i in labelled["items"] if i not in victims]
    # "all matching" a filter read from its index selects the same items as the page
    dry = c.post(bulk, json={"action": "requeue", "query": "annotator=a2&q=Order",
                             "dry_run": True}).json()
    assert dry["count"] == 4
    entries = [e for e in ws.audit_log(limit=1000) if e["action"] == "items.bulk"]
    assert entries[-1]["user_id"] == crew["boss"].id
    detail = json.loads(str(entries[-1]["detail"]))
    assert (detail["action"], detail["count"], detail["ids"]) == ("delete", 2, victims)
    # re-queue hands an answered item out again, to someone who has not had it
    item = labelled["items"][5]
    assert c.post(bulk, json={"action": "requeue", "item_ids": [item]}).status_code == 200
    assert bp.item(item)["n_done"] == 2
    history = c.get(f"/api/projects/{bp.name}/items/{item}/record").json()["history"]
    assert [h["action"] for h in history][-1] == "item.requeue"


def test_saved_views_are_per_user_or_shared(bp: Project, crew: dict[str, User],
                                            client_for: Any) -> None:
    boss, rev = client_for("boss"), client_for("rev")
    views = f"/api/projects/{bp.name}/views"
    r = boss.post(views, json={"name": "late", "query": "q=late&sort=-id"})
    assert r.status_code == 201 and r.json()["query"] == "q=late&sort=-id"
    error_body(boss.post(views, json={"name": "bad", "query": "status=nope"}), 422,
               "invalid_input")
    shared = boss.post(views, json={"name": "queue", "query": "status=queued",
                                    "shared": True}).json()
    assert [v["name"] for v in boss.get(views).json()] == ["late", "queue"]
    assert [v["name"] for v in rev.get(views).json()] == ["queue"]
    # the same name replaces the owner's view
    boss.post(views, json={"name": "late", "query": "q=late"})
    assert [v["query"] for v in boss.get(views).json()][0] == "q=late"
    error_body(rev.delete(f"{views}/{shared['id']}"), 403, "forbidden")
    assert boss.delete(f"{views}/{shared['id']}").status_code == 204
    assert rev.get(views).json() == []


def test_item_record_shows_answers_reviews_adjudication_truth_and_history(
        bp: Project, crew: dict[str, User], labelled: dict[str, Any], client_for: Any) -> None:
    item = labelled["items"][2]  # corrected
    disputed = labelled["items"][3]
    bp.adjudicate(disputed, {"intent": "other"}, crew["boss"], comment="checked")
    bp.aggregate(method="majority")
    rec = client_for("rev").get(f"/api/projects/{bp.name}/items/{item}/record").json()
    assert rec["id"] == item and rec["data"]["text"].startswith("Order")
    assert rec["provenance"]["imported_at"] > 0 and rec["state"]
    # every answer, the corrected one superseded
    assert len(rec["annotations"]) == 3
    assert [a["is_current"] for a in rec["annotations"]].count(False) == 1
    assert [r["decision"] for r in rec["reviews"]] == ["correct"]
    assert rec["adjudication"] is None
    decided = client_for("rev").get(f"/api/projects/{bp.name}/items/{disputed}/record").json()
    assert decided["adjudication"]["value"] == {"intent": "other"}
    assert decided["adjudication"]["decided_by"] == "boss"
    assert decided["ground_truth"]["intent"]["value"] == "other"
    assert [h["action"] for h in decided["history"]] == ["adjudicate"]
    error_body(client_for("boss").get(f"/api/projects/{bp.name}/items/99999/record"), 404)


def test_sent_to_review_reaches_the_review_queue_past_the_sample(
    bp: Project, crew: dict[str, User], client_for: Any
) -> None:
    """A review stage that samples nothing leaves submitted items out of review (their state
    stays submitted); the data browser's "send to review" puts one in the reviewers' queue."""
    bp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 0.0}])
    done = []
    for _ in range(2):
        for who in ("a1", "a2"):
            t = bp.next_task(crew[who])
            assert t is not None
            bp.submit(t.id, {"intent": "refund"}, crew[who])
            done.append(t.item_id)
    first, second = sorted(set(done))
    assert bp.item(first)["state"] == bp.item(second)["state"] == "submitted"
    rev = client_for("rev")
    nxt = f"/api/projects/{bp.name}/reviews/next"
    assert rev.get(nxt).status_code == 204  # nothing sampled
    bulk = f"/api/projects/{bp.name}/items/bulk"
    assert client_for("boss").post(bulk, json={"action": "review", "item_ids": [second]}
                                   ).status_code == 200
    assert bp.item(second)["state"] == "in_review"
    got = rev.get(nxt)
    assert got.status_code == 200 and got.json()["item"]["id"] == second, got.text
