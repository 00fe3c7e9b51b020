"""The item lifecycle state machine (domain/lifecycle.py, core/lifecycle.py): every
transition through the library, on the backend under test."""

from __future__ import annotations

import time

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import Conflict, IllegalTransition
from truelabel.domain.lifecycle import (
    STATES,
    TRANSITIONS,
    ItemEvent,
    ItemState,
    allowed,
)
from truelabel.domain.models import User

SCHEMA = {"fields": [{"name": "intent", "type": "choice", "options": ["refund", "account"]}]}


@pytest.fixture
def team(ws: Workspace) -> dict[str, User]:
    out = {}
    for name, role in [("a1", "annotator"), ("a2", "annotator"), ("a3", "annotator"),
                       ("rev", "reviewer"), ("lead", "manager")]:
        out[name] = ws.add_user(name, "password-123", role=role)
    return out


def make(ws: Workspace, team: dict[str, User], *, overlap: int = 1, n: int = 1,
         **workflow: object) -> Project:
    p = ws.create_project("lc", SCHEMA, overlap=overlap)
    p.import_records([{"id": f"x{i}", "text": f"text {i}"} for i in range(n)])
    for name, u in team.items():
        p.add_member(u, {"a1": "annotator", "a2": "annotator", "a3": "annotator",
                         "rev": "reviewer", "lead": "manager"}[name])
    if workflow:
        p.set_workflow(workflow)
    return p


def state(p: Project, item_id: int) -> str:
    return p.item(item_id)["state"]


def test_state_names_and_table() -> None:
    assert STATES == ("queued", "in_progress", "submitted", "in_review", "rejected",
                      "in_adjudication", "decided", "signed_off")
    # every target is a state; decided and signed_off take no annotator or review work
    for (_, _), targets in TRANSITIONS.items():
        assert targets <= set(ItemState)
    for closed in (ItemState.DECIDED, ItemState.SIGNED_OFF):
        for ev in (ItemEvent.LEASE, ItemEvent.SUBMIT, ItemEvent.REJECT, ItemEvent.ACCEPT,
                   ItemEvent.CORRECT, ItemEvent.DECIDE):
            assert not allowed(closed, ev)
    assert not allowed("queued", "decide") and not allowed("nonsense", "lease")


def test_overlap_three_stays_in_progress_until_third_answer(
    ws: Workspace, team: dict[str, User]
) -> None:
    p = make(ws, team, overlap=3)
    t1 = p.next_task(team["a1"])
    item = t1.item_id
    assert state(p, item) == "in_progress"  # queued -> in_progress (lease)
    p.submit(t1.id, {"intent": "refund"}, team["a1"])
    assert state(p, item) == "in_progress"  # 1 of 3 answers
    for name in ("a2", "a3"):
        t = p.next_task(team[name])
        assert t.item_id == item
        p.submit(t.id, {"intent": "refund"}, team[name])
    assert state(p, item) == "submitted"  # the third answer


def test_skip_returns_to_queued_or_stays_in_progress(
    ws: Workspace, team: dict[str, User]
) -> None:
    p = make(ws, team, overlap=2)
    t1 = p.next_task(team["a1"])
    assert p.item(t1.item_id)["state"] == "in_progress"
    p.skip(t1.id, team["a1"])
    assert state(p, t1.item_id) == "queued"  # nobody holds it, nobody answered
    t2 = p.next_task(team["a2"])
    t3 = p.next_task(team["a3"])
    assert t2.item_id == t3.item_id == t1.item_id
    p.skip(t2.id, team["a2"])
    assert state(p, t1.item_id) == "in_progress"  # a3 still holds a lease


def expire_all(p: Project) -> None:
    """Every lease lapses: the sweep the loop runs (PostgreSQL: its one-statement form)."""
    from truelabel.store import fast, queue, queue_pg

    later = time.time() + 100_000
    with p.db.write() as conn:
        if p.db.is_sqlite:
            queue.expire_leases(conn, later)
        else:
            fast.rows(conn, *queue_pg.expire_query(later))


def test_lease_expiry_returns_to_queued_or_rejected(ws: Workspace, team: dict[str, User]) -> None:
    p = make(ws, team, overlap=2, review_stages=[{"name": "check"}])
    t1 = p.next_task(team["a1"])
    t2 = p.next_task(team["a2"])
    expire_all(p)
    assert state(p, t1.item_id) == "queued"  # in_progress -> queued (expiry, no answer)
    t1 = p.next_task(team["a1"])
    p.submit(t1.id, {"intent": "refund"}, team["a1"])
    t2 = p.next_task(team["a2"])
    expire_all(p)
    assert state(p, t1.item_id) == "in_progress"  # one answer of two is in
    t2 = p.next_task(team["a2"])
    p.submit(t2.id, {"intent": "refund"}, team["a2"])
    r = p.next_review(team["rev"])
    p.review(r["annotation"]["id"], "reject", team["rev"], comment="again")
    who = team["a1"] if r["annotation"]["user_id"] == team["a1"].id else team["a2"]
    t = p.next_task(who)
    assert state(p, t.item_id) == "in_progress"
    expire_all(p)
    assert state(p, t.item_id) == "in_progress"  # the other answer is still in
    p.skip(p.next_task(who).id, who)
    assert state(p, t.item_id) == "in_progress"


def test_review_stage_in_review_then_accept_and_correct(
    ws: Workspace, team: dict[str, User]
) -> None:
    p = make(ws, team, n=2, review_stages=[{"name": "check"}])
    for _ in range(2):
        t = p.next_task(team["a1"])
        p.submit(t.id, {"intent": "refund"}, team["a1"])
        assert state(p, t.item_id) == "in_review"  # submitted -> in_review
    r = p.next_review(team["rev"])
    p.review(r["annotation"]["id"], "accept", team["rev"])
    assert state(p, r["item"]["id"]) == "submitted"  # in_review -> submitted (accept)
    r = p.next_review(team["rev"])
    p.review(r["annotation"]["id"], "correct", team["rev"], value={"intent": "account"})
    assert state(p, r["item"]["id"]) == "submitted"  # in_review -> submitted (correct)


def test_reject_rework_opens_with_previous_answer(ws: Workspace, team: dict[str, User]) -> None:
    p = make(ws, team, review_stages=[{"name": "check"}])
    t = p.next_task(team["a1"])
    p.submit(t.id, {"intent": "account"}, team["a1"])
    r = p.next_review(team["rev"])
    p.review(r["annotation"]["id"], "reject", team["rev"], comment="it asks for money back")
    assert state(p, t.item_id) == "rejected"
    again = p.next_task(team["a1"])
    assert again.item_id == t.item_id
    assert again.draft == {"intent": "account"}  # the rejected answer, to rework
    assert again.review_comments[0]["comment"] == "it asks for money back"
    assert state(p, t.item_id) == "in_progress"  # rejected -> in_progress (rework lease)
    p.submit(again.id, {"intent": "refund"}, team["a1"])
    assert state(p, t.item_id) == "in_review"


def disputed(ws: Workspace, team: dict[str, User]) -> tuple[Project, int]:
    """A project with review and adjudication, and an item a1 and a2 disagree on."""
    p = make(ws, team, overlap=2, adjudication_threshold=0.2, review_stages=[{"name": "c"}])
    for name, intent in (("a1", "refund"), ("a2", "account")):
        t = p.next_task(team[name])
        p.submit(t.id, {"intent": intent}, team[name])
    return p, t.item_id


def test_reject_takes_item_off_adjudication_until_rework(
    ws: Workspace, team: dict[str, User]
) -> None:
    p, item = disputed(ws, team)
    assert state(p, item) == "in_adjudication"
    assert [e["item_id"] for e in p.adjudication_queue(actor=team["lead"])] == [item]
    ann2 = next(a for a in p.annotations(item) if a["user_id"] == team["a2"].id)
    p.review(ann2["id"], "reject", team["rev"], comment="read it again")
    assert state(p, item) == "rejected"
    assert p.adjudication_queue(actor=team["lead"]) == []  # left the queue
    with pytest.raises(Conflict):  # nothing to decide while the rework is out
        p.adjudicate(item, {"intent": "refund"}, team["lead"])
    t = p.next_task(team["a2"])
    assert t.item_id == item and t.draft == {"intent": "account"}
    p.submit(t.id, {"intent": "account"}, team["a2"])  # still disagrees: back in the queue
    assert state(p, item) == "in_adjudication"
    assert [e["item_id"] for e in p.adjudication_queue(actor=team["lead"])] == [item]


def test_decided_item_is_never_sent_again_and_open_leases_close(
    ws: Workspace, team: dict[str, User]
) -> None:
    p, item = disputed(ws, team)
    p.set_overlap(3, actor=team["lead"])  # more answers wanted: a3 is handed the item
    t3 = p.next_task(team["a3"])
    assert t3.item_id == item and state(p, item) == "in_adjudication"
    p.adjudicate(item, {"intent": "refund"}, team["lead"])
    assert state(p, item) == "decided"  # in_adjudication -> decided
    with pytest.raises(Conflict, match="manager decided"):  # not silently dropped
        p.submit(t3.id, {"intent": "account"}, team["a3"])
    assert p.next_task(team["a3"]) is None  # never handed out again
    p.set_overlap(5, actor=team["lead"])
    assert p.next_task(team["a3"]) is None
    with pytest.raises(IllegalTransition, match="settled"):  # nor by hand
        p.assign([item], team["a3"], actor=team["lead"])
    mine = next(a for a in p.annotations(item) if a["user_id"] == team["a1"].id)
    with pytest.raises(IllegalTransition, match="decided"):  # an edit would be outvoted
        p.update_annotation(mine["id"], {"intent": "account"}, team["a1"])
    ann = p.annotations(item)[0]
    with pytest.raises(IllegalTransition, match="decided"):
        p.review(ann["id"], "reject", team["rev"], comment="no")


def test_adaptive_overlap_sends_submitted_item_back_to_work(
    ws: Workspace, team: dict[str, User]
) -> None:
    p = make(ws, team, overlap=2, adaptive=True, adaptive_max=3)
    t1 = p.next_task(team["a1"])
    p.submit(t1.id, {"intent": "refund"}, team["a1"])
    t2 = p.next_task(team["a2"])
    p.submit(t2.id, {"intent": "account"}, team["a2"])
    assert state(p, t1.item_id) == "in_progress"  # submitted -> more answers wanted
    t3 = p.next_task(team["a3"])
    p.submit(t3.id, {"intent": "refund"}, team["a3"])
    assert state(p, t1.item_id) == "submitted"


def test_lower_overlap_submits_and_gold_stays_out(ws: Workspace, team: dict[str, User]) -> None:
    p = make(ws, team, overlap=2, n=2)
    t = p.next_task(team["a1"])
    p.submit(t.id, {"intent": "refund"}, team["a1"])
    assert state(p, t.item_id) == "in_progress"
    p.set_overlap(1, actor=team["lead"])
    assert state(p, t.item_id) == "submitted"
    other = t.item_id + 1 if t.item_id % 2 else t.item_id - 1
    assert state(p, other) in ("queued", "in_progress")


def test_sign_off_marks_finished_items(ws: Workspace, team: dict[str, User]) -> None:
    p = make(ws, team, n=2)
    t = p.next_task(team["a1"])
    p.submit(t.id, {"intent": "refund"}, team["a1"])
    p.sign_off(team["lead"], override_reason="pilot batch")  # agreement: too few answers
    assert state(p, t.item_id) == "signed_off"  # submitted -> signed_off
    left = [i for i in p.items(actor=team["lead"]) if i["id"] != t.item_id]
    assert state(p, left[0]["id"]) == "queued"  # unfinished work is not signed off


def test_sign_off_warns_and_records_override(ws: Workspace, team: dict[str, User]) -> None:
    from truelabel.domain.errors import SignOffNeedsOverride

    p = make(ws, team, overlap=2, n=3, adjudication_threshold=0.2)
    for name, labels in (("a1", ["refund"] * 3), ("a2", ["account", "refund", "account"])):
        for lab in labels:
            t = p.next_task(team[name])
            p.submit(t.id, {"intent": lab}, team[name])
    codes = {w["code"] for w in p.signoff_warnings(actor=team["lead"])}
    assert codes == {"open_adjudications", "low_agreement"}
    with pytest.raises(SignOffNeedsOverride, match="wait for adjudication") as refused:
        p.sign_off(team["lead"], comment="week 1")
    assert {w["code"] for w in refused.value.detail["warnings"]} == codes
    assert p.signoffs(actor=team["lead"]) == []  # nothing written
    done = p.sign_off(team["lead"], comment="week 1", override_reason="pilot: agreed with PM")
    assert done["override_reason"] == "pilot: agreed with PM"
    row = p.signoffs(actor=team["lead"])[0]
    assert row["evidence"]["override_reason"] == "pilot: agreed with PM"
    assert {w["code"] for w in row["evidence"]["signoff_warnings"]} == codes
    admin = ws.add_user("root", "password-123", role="admin")
    entry = next(e for e in ws.audit_log(actor=admin) if e["action"] == "signoff")
    assert "pilot: agreed with PM" in str(entry["detail"])
    # an item waiting for adjudication is not signed off; the agreed one is
    assert sorted(state(p, i["id"]) for i in p.items(actor=team["lead"])) == [
        "in_adjudication", "in_adjudication", "signed_off"]


def test_migration_backfill_matches_the_live_states(ws: Workspace, team: dict[str, User]) -> None:
    """Migration 0008's backfill, run over rows the loop made, gives the states it kept."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    import truelabel.store.migrations.versions as versions

    p = make(ws, team, overlap=2, n=6, adjudication_threshold=0.2,
             review_stages=[{"name": "check"}])
    a1, a2, a3 = team["a1"], team["a2"], team["a3"]
    for lab1, lab2 in (("refund", "refund"), ("refund", "account"), ("refund", "refund"),
                       ("account", "refund")):
        t = p.next_task(a1)
        p.submit(t.id, {"intent": lab1}, a1)
        t = p.next_task(a2)
        p.submit(t.id, {"intent": lab2}, a2)
    p.next_task(a3)  # in progress: a lease
    items = [i["id"] for i in p.items(actor=team["lead"])]
    r = next(x for x in [p.next_review(team["rev"])] if x)
    p.review(r["annotation"]["id"], "accept", team["rev"])  # submitted
    adj = [e["item_id"] for e in p.adjudication_queue(actor=team["lead"])]
    p.adjudicate(adj[0], {"intent": "refund"}, team["lead"])  # decided
    ann = next(a for a in p.annotations(adj[1]) if a["user_id"] == a2.id)
    p.review(ann["id"], "reject", team["rev"], comment="again")  # rejected
    live = {i: state(p, i) for i in items}
    assert set(live.values()) == {"submitted", "in_review", "decided", "rejected",
                                  "in_progress", "queued"}
    path = Path(versions.__file__).parent / "0008_item_state.py"
    spec = importlib.util.spec_from_file_location("m0008", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with p.db.write() as conn:
        conn.execute(text("UPDATE items SET state = 'queued'"))
        for statement in mod.BACKFILL:
            conn.execute(text(statement))
    assert {i: state(p, i) for i in items} == live
