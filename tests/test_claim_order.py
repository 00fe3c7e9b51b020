"""The claim-order seam (docs/loop.md, "The claim order"): item priorities decide who gets
what first — higher first, then item id — on both backends, without bending the loop's
other rules (overlap, gold, pre-assigned queue, skips, concurrent claims)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers import PASSWORD, SCHEMA, error_body, make_items
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.claim_order import RandomOrder
from truelabel.domain.errors import Forbidden, InvalidInput, NotFound
from truelabel.domain.models import User

VALUE = {"intent": "refund"}


def claim_order(p: Project, priorities: dict[str, int]) -> list[str]:
    """The external ids of the project's items in the order the spec gives."""
    items = p.items(limit=500, actor=None)
    pairs = [(-priorities.get(i["external_id"], 0), i["id"], i["external_id"]) for i in items]
    return [ext for *_, ext in sorted(pairs)]


def drain(p: Project, user: User) -> list[str]:
    out = []
    while (t := p.next_task(user)) is not None:
        out.append(t.external_id)
        p.submit(t.id, VALUE, user)
    return out


def test_priorities_decide_the_order_then_item_id(
    project: Project, users: dict[str, User]
) -> None:
    prio = {"m5": 10, "m3": 10, "m17": 5, "m0": -1, "m12": 3}
    assert project.set_priorities(by_external_id=prio, actor=users["manager"]) == 5
    got = drain(project, users["ann1"])
    assert got == claim_order(project, prio)
    assert got[:4] == ["m3", "m5", "m17", "m12"] and got[-1] == "m0"


def test_item_ids_and_a_strategy_set_them_too(
    project: Project, users: dict[str, User]
) -> None:
    ids = {i["external_id"]: i["id"] for i in project.items(limit=500, actor=None)}
    project.set_priorities({ids["m9"]: 7}, actor=users["manager"])
    assert project.next_task(users["ann1"]).external_id == "m9"
    n = project.apply_claim_order(RandomOrder(seed=3), actor=users["manager"])
    assert n == 19  # every open item (m9 is leased to ann1)
    order = RandomOrder(seed=3).priorities(sorted(ids[e] for e in ids if e != "m9"))
    by_ext = {e: order[i] for e, i in ids.items() if i in order}
    t = project.next_task(users["ann2"])
    assert t.external_id == claim_order(project, by_ext)[0]


def test_setting_priorities_is_a_managers_all_or_nothing_and_audited(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    with pytest.raises(Forbidden):
        project.set_priorities(by_external_id={"m1": 5}, actor=users["ann1"])
    with pytest.raises(NotFound, match="nope"):
        project.set_priorities(by_external_id={"m1": 5, "nope": 6}, actor=users["manager"])
    with pytest.raises(InvalidInput, match="whole number"):
        project.set_priorities(by_external_id={"m1": 5, "m2": 10**12}, actor=users["manager"])
    with pytest.raises(InvalidInput):
        project.set_priorities(by_external_id={"m1": True}, actor=users["manager"])  # type: ignore[dict-item]
    assert drain(project, users["ann1"])[:2] == ["m0", "m1"]  # nothing was changed
    log = ws.audit_log(actor=users["admin"], action="items.priority")
    assert log == []
    project.set_priorities(by_external_id={"m19": 1}, actor=users["manager"])
    log = ws.audit_log(actor=users["admin"], action="items.priority")
    assert len(log) == 1 and log[0]["user_id"] == users["manager"].id


def test_overlap_two_follows_the_order_for_each_annotator(ws: Workspace) -> None:
    p = ws.create_project("two", SCHEMA, overlap=2)
    p.import_records(make_items(15))
    a, b = (ws.add_user(n, PASSWORD, role="annotator") for n in ("a", "b"))
    for u in (a, b):
        p.add_member(u, "annotator")
    p.apply_claim_order(RandomOrder(seed=11))
    prio = _priorities(p)
    seqs: dict[str, list[str]] = {"a": [], "b": []}
    while True:
        ta, tb = p.next_task(a), p.next_task(b)
        if ta is None and tb is None:
            break
        for name, u, t in (("a", a, ta), ("b", b, tb)):
            if t is not None:
                seqs[name].append(t.external_id)
                p.submit(t.id, VALUE, u)
    expected = claim_order(p, prio)
    assert seqs["a"] == expected and seqs["b"] == expected  # each item to each, in order


def test_gold_rate_and_the_pre_assigned_queue_keep_their_place(
    ws: Workspace, tmp_path: Path
) -> None:
    p = ws.create_project("gold", SCHEMA, overlap=1)
    p.import_records(make_items(30))
    u = ws.add_user("u", PASSWORD, role="annotator")
    p.add_member(u, "annotator")
    gold = [f"m{i}" for i in range(10)]
    f = tmp_path / "gold.jsonl"
    f.write_text("".join(json.dumps({"id": e, "intent": "refund"}) + "\n" for e in gold))
    p.import_gold(f)
    p.set_workflow(gold_rate=0.2)
    p.apply_claim_order(RandomOrder(seed=5))
    prio = _priorities(p)
    lowest = claim_order(p, prio)[-1]
    lowest_id = next(i["id"] for i in p.items(limit=500, actor=None)
                     if i["external_id"] == lowest)
    p.assign([lowest_id], u)
    got = drain(p, u)
    assert got[0] == lowest  # the pre-assigned queue before the pool
    pool = [e for e in got[1:] if e not in gold]
    assert pool == [e for e in claim_order(p, prio) if e not in gold and e != lowest]
    assert sum(e in gold for e in got[1:21]) == 4  # the gold rate as before


def test_a_skipped_item_goes_to_the_next_annotator_not_back(
    project: Project, users: dict[str, User]
) -> None:
    project.set_priorities(by_external_id={"m7": 9, "m4": 8}, actor=users["manager"])
    a1, a2 = users["ann1"], users["ann2"]
    t = project.next_task(a1)
    assert t.external_id == "m7"
    project.skip(t.id, a1)
    assert project.next_task(a1).external_id == "m4"
    assert project.next_task(a2).external_id == "m7"  # back in the pool, first in order


def test_a_raised_priority_is_seen_at_once_by_another_process(
    ws: Workspace, project: Project, users: dict[str, User], tmp_path: Path
) -> None:
    """Two Project objects on one database (two processes, each with its own claim
    floor): a priority one raises is the other's very next claim."""
    url = ws.db.engine.url.render_as_string(hide_password=False)
    with Workspace.open(url, blob_url=str(tmp_path / "blobs2")) as other_ws:
        other = other_ws.project("support")
        a1, a2 = users["ann1"], users["ann2"]
        for _ in range(3):  # the other process now has a floor past the first items
            t = other.next_task(a1)
            other.submit(t.id, VALUE, a1)
        project.set_priorities(by_external_id={"m18": 50}, actor=users["manager"])
        assert other.next_task(a2).external_id == "m18"
        project.set_priorities(by_external_id={"m2": 60, "m19": 40}, actor=users["manager"])
        assert other.next_task(a1).external_id == "m19"  # m2 is done; m18 is a2's
        project.set_priorities(by_external_id={"m10": -5}, actor=users["manager"])  # lowered
        rest = drain(other, users["ann1"])
        assert rest[-1] == "m10" and len(set(rest)) == len(rest)


def test_concurrent_claims_never_hand_an_item_twice(ws: Workspace) -> None:
    p = ws.create_project("race", SCHEMA, overlap=1)
    p.import_records(make_items(60))
    p.apply_claim_order(RandomOrder(seed=2, spread=5))  # many ties: id decides
    team = []
    for n in range(6):
        u = ws.add_user(f"r{n}", PASSWORD, role="annotator")
        p.add_member(u, "annotator")
        team.append(u)
    handed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(u: User) -> None:
        try:
            while (t := p.next_task(u)) is not None:
                with lock:
                    handed.append(t.item_id)
                p.submit(t.id, VALUE, u)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u,)) for u in team]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(handed) == sorted(i["id"] for i in p.items(limit=500, actor=None))


def test_the_route_sets_priorities_strictly(
    ws: Workspace, project: Project, users: dict[str, User], client_for: Any
) -> None:
    mgr, ann = client_for("manager"), client_for("ann1")
    url = "/api/projects/support/items/priority"
    item = project.items(limit=500, actor=None)[-1]
    error_body(ann.post(url, json={"items": [{"item_id": item["id"], "priority": 3}]}), 403)
    error_body(mgr.post(url, json={"items": [{"item_id": item["id"], "priority": "3"}]}), 422)
    error_body(mgr.post(url, json={"items": [{"external_id": "m1", "priority": 3,
                                              "extra": 1}]}), 422)
    error_body(mgr.post(url, json={"items": [{"item_id": 1, "external_id": "m1",
                                              "priority": 3}]}), 422)
    error_body(mgr.post(url, json={"items": [{"external_id": "m1", "priority": 2**40}]}), 422)
    error_body(mgr.post(url, json={"items": []}), 422)
    error_body(mgr.post(url, json={"items": [{"external_id": "m1", "priority": 3},
                                             {"external_id": "m1", "priority": 4}]}), 422)
    error_body(mgr.post(url, json={"items": [{"external_id": "m1", "priority": 3},
                                             {"external_id": "zz", "priority": 4}]}), 404)
    r = mgr.post(url, json={"items": [{"item_id": item["id"], "priority": 3},
                                      {"external_id": "m4", "priority": 2}]})
    assert r.status_code == 200 and r.json() == {"set": 2}
    t1 = ann.post("/api/projects/support/tasks/next").json()
    assert t1["item_id"] == item["id"]


def test_the_cli_sets_priorities_from_a_file_or_a_list(tmp_path: Path) -> None:
    from truelabel.cli.main import main

    folder = tmp_path / "cliws"
    with Workspace.init(folder) as w:
        p = w.create_project("support", SCHEMA)
        p.import_records(make_items(10))
        ids = {i["external_id"]: i["id"] for i in p.items(limit=50, actor=None)}
    (tmp_path / "prio.csv").write_text("external_id,priority\nm6,5\nm2,4\n")
    (tmp_path / "prio.jsonl").write_text(json.dumps({"item_id": ids["m8"], "priority": 9}))
    (tmp_path / "bad.csv").write_text("external_id,priority\nm6,5\nnope,4\n")
    run = CliRunner().invoke
    r = run(main, ["priority", "set", str(folder), str(tmp_path / "prio.csv")])
    assert r.exit_code == 0 and "2 items" in r.output
    r = run(main, ["priority", "set", str(folder), str(tmp_path / "prio.jsonl"), "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == {"set": 1}
    r = run(main, ["priority", "set", str(folder), "--items", f"{ids['m1']},{ids['m3']}",
                   "--priority", "-2"])
    assert r.exit_code == 0
    r = run(main, ["priority", "set", str(folder), str(tmp_path / "bad.csv")])
    assert r.exit_code == 1 and "nope" in r.output
    with Workspace.open(folder) as w:
        p = w.project("support")
        u = w.add_user("u", PASSWORD, role="annotator")
        p.add_member(u, "annotator")
        got = drain(p, u)
    assert got[:3] == ["m8", "m6", "m2"] and got[-2:] == ["m1", "m3"]


def test_next_open_item_is_an_index_walk_with_priorities(
    project: Project, users: dict[str, User]
) -> None:
    """The claim's item lookup walks ix_items_claim in order: never a sort of open items."""
    from truelabel.store import fast, queue_pg
    from truelabel.store.loopstate import Floor
    from truelabel.store.queue_sql import POOL_CANDIDATE

    project.apply_claim_order(RandomOrder(seed=1))
    with project.db.auto() as conn:
        if project.db.is_sqlite:
            plan = fast.rows(conn, "EXPLAIN QUERY PLAN " + POOL_CANDIDATE,
                             {"p": project.id, "u": users["ann1"].id})
            text = "\n".join(str(r["detail"]) for r in plan)
            assert "ix_items_claim" in text and "TEMP B-TREE" not in text
            return
        conn.exec_driver_sql("SET enable_seqscan = off")  # as the loop's connections plan
        sql, params = queue_pg.next_query(
            project_id=project.id, user_id=users["ann1"].id, now=0.0, floor=Floor(5, 3, 0),
            settings=None, known=True, roles=["annotator"], admin=False)
        plan = "\n".join(r["QUERY PLAN"] for r in fast.rows(conn, "EXPLAIN " + sql, params))
        conn.exec_driver_sql("RESET enable_seqscan")
    walk = [line for line in plan.splitlines() if "using ix_items_claim on items o" in line]
    assert len(walk) == 2 and "Sort" not in plan  # the floor's priority on, then lower ones
    assert "(priority = " in plan and "(priority < " in plan


def _priorities(p: Project) -> dict[str, int]:
    with p.db.read() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT external_id, priority FROM items WHERE project_id = :p"),
                            {"p": p.id}).all()
    return {r[0]: r[1] for r in rows}
