from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import (
    AnnotationInvalid,
    Conflict,
    LeaseExpired,
    NotFound,
    StaleVersion,
)
from truelabel.domain.models import User

VALUE = {"intent": "refund"}


def test_next_task_is_stable_until_submitted(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t1 = project.next_task(a)
    assert t1 is not None and project.next_task(a).id == t1.id
    project.submit(t1.id, VALUE, a, key="k1")
    t2 = project.next_task(a)
    assert t2 is not None and t2.item_id != t1.item_id


def test_overlap_one_hands_each_item_once(project: Project, users: dict[str, User]) -> None:
    seen: dict[int, str] = {}
    for _ in range(10):
        for name in ("ann1", "ann2"):
            t = project.next_task(users[name])
            assert t is not None
            assert t.item_id not in seen or seen[t.item_id] == name
            seen[t.item_id] = name
            project.submit(t.id, VALUE, users[name])
    assert len(seen) == 20
    assert project.next_task(users["ann1"]) is None
    assert project.status()["submitted"] == 20


def test_overlap_two_gives_each_item_to_two_annotators(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    project.set_overlap(2)
    counts: dict[int, set[str]] = {}
    for name in ("ann1", "ann2", "manager"):
        while (t := project.next_task(users[name])) is not None:
            counts.setdefault(t.item_id, set()).add(name)
            project.submit(t.id, VALUE, users[name])
    assert all(len(v) == 2 for v in counts.values()) and len(counts) == 20


def test_submit_is_idempotent_on_key(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    first = project.submit(t.id, VALUE, a, key="same-key")
    again = project.submit(t.id, {"intent": "other"}, a, key="same-key")
    assert again.id == first.id and again.replayed and again.value == VALUE
    assert len(project.annotations(t.item_id)) == 1
    with pytest.raises(Conflict, match="already submitted"):
        project.submit(t.id, VALUE, a, key="new-key")


def test_expired_lease_answers_409_and_returns_item(
    project: Project, users: dict[str, User]
) -> None:
    project.set_lease_seconds(1)
    a, b = users["ann1"], users["ann2"]
    t = project.next_task(a)
    time.sleep(1.1)
    with pytest.raises(LeaseExpired, match="expired"):
        project.submit(t.id, VALUE, a)
    # the abandoned item went back to the pool: the next claimer gets it
    tb = project.next_task(b)
    assert tb.item_id == t.item_id
    assert project.annotations(t.item_id) == []


def test_lease_expiry_frees_slot_for_same_user(project: Project, users: dict[str, User]) -> None:
    project.set_lease_seconds(1)
    a = users["ann1"]
    t = project.next_task(a)
    time.sleep(1.1)
    t2 = project.next_task(a)
    assert t2.item_id == t.item_id and t2.id == t.id  # re-leased, same assignment
    project.submit(t2.id, VALUE, a)


def test_skip_returns_item_to_others_not_to_skipper(
    project: Project, users: dict[str, User]
) -> None:
    a, b = users["ann1"], users["ann2"]
    t = project.next_task(a)
    project.skip(t.id, a)
    assert project.next_task(a).item_id != t.item_id
    assert project.next_task(b).item_id == t.item_id
    with pytest.raises(Conflict):
        project.skip(t.id, a)


def test_invalid_value_is_rejected_before_storing(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    with pytest.raises(AnnotationInvalid) as exc:
        project.submit(
            t.id, {"intent": "refund", "entities": [{"start": 0, "end": 500, "label": "ORG"}]}, a
        )
    assert exc.value.detail["field"] == "entities"
    assert project.annotations(t.item_id) == []
    assert project.submit(t.id, VALUE, a).id  # lease still valid


def test_stale_edit_answers_409(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    v1 = project.submit(t.id, VALUE, a)
    v2 = project.update_annotation(v1.id, {"intent": "other"}, a)
    assert v2.supersedes_id == v1.id
    with pytest.raises(StaleVersion) as exc:
        project.update_annotation(v1.id, {"intent": "shipping"}, a)
    assert exc.value.detail["current_id"] == v2.id
    current = project.annotations(t.item_id)
    assert [x["value"] for x in current] == [{"intent": "other"}]
    assert len(project.annotations(t.item_id, current_only=False)) == 2
    with pytest.raises(NotFound):
        project.update_annotation(v2.id, VALUE, users["ann2"])


def test_schema_change_keeps_old_annotations_version(
    project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    project.submit(t.id, VALUE, a)
    _, schema = project.schema()
    d = schema.to_dict()
    d["fields"][0]["options"].append({"value": "billing"})
    assert project.set_schema(d) == 2
    assert project.set_schema(d) == 2  # same content, same version
    t2 = project.next_task(a)
    b = project.submit(t2.id, {"intent": "billing"}, a)
    assert b.schema_version == 2
    assert project.annotations(t.item_id)[0]["schema_version"] == 1


def test_drafts_survive_and_clear_on_submit(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    project.save_draft(t.id, {"intent": "other"}, a)
    assert project.next_task(a).draft == {"intent": "other"}
    project.submit(t.id, {"intent": "other"}, a)
    assert project.task(t.id, a).draft is None


def test_assigned_items_come_first_and_count_toward_overlap(
    project: Project, users: dict[str, User]
) -> None:
    items = project.items(limit=5)
    target = items[3]["id"]
    project.assign([target], "ann2")
    assert project.next_task(users["ann2"]).item_id == target
    # overlap 1: nobody else gets it
    got = set()
    while (t := project.next_task(users["ann1"])) is not None:
        got.add(t.item_id)
        project.submit(t.id, VALUE, users["ann1"])
    assert target not in got and len(got) == 19


def test_annotator_sees_only_assigned_items(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    assert project.items(actor=a) == []
    t = project.next_task(a)
    assert [i["id"] for i in project.items(actor=a)] == [t.item_id]
    other = project.items(limit=5)[4]["id"]
    with pytest.raises(NotFound):
        project.item(other, actor=a)
    assert "annotations" not in project.item(t.item_id, actor=a)


def test_non_member_cannot_see_project(ws: Workspace, project: Project, tmp_path: Path) -> None:
    outsider = ws.add_user("outsider", "password-123")
    with pytest.raises(NotFound):
        ws.project("support", actor=outsider)
    assert ws.list_projects(actor=outsider) == []


def test_idempotency_key_reused_in_another_project_is_409(ws: Workspace, project: Project,
                                                          users: dict[str, User]) -> None:
    other = ws.create_project("other", {"fields": [{"name": "x", "type": "text"}]})
    other.import_records([{"text": "elsewhere"}])
    other.add_member(users["ann1"], "annotator")
    t = project.next_task(users["ann1"])
    project.submit(t.id, VALUE, users["ann1"], key="shared-key")
    t2 = other.next_task(users["ann1"])
    with pytest.raises(Conflict, match="already used"):
        other.submit(t2.id, {"x": "y"}, users["ann1"], key="shared-key")
    assert other.annotations(t2.item_id) == []


def test_an_item_reopened_elsewhere_is_offered_again_within_a_second(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    """On PostgreSQL claims start from a remembered floor (``store.loopstate``): an item this
    process reopens (a skip) is offered at once; one another process reopens (here: straight
    in the database) within about a second. Nothing is left behind either way."""
    from sqlalchemy import text

    a1, a2 = users["ann1"], users["ann2"]
    first = project.next_task(a1)
    assert first is not None
    project.skip(first.id, a1)
    again = project.next_task(a2)
    assert again is not None and again.item_id == first.item_id  # at once
    a3 = ws.add_user("ann3", "password-123", role="annotator")
    project.add_member(a3, "annotator")
    time.sleep(1.1)  # the next claim refreshes the floor: above the item, now taken
    t = project.next_task(a3)
    assert t is not None and t.item_id > first.item_id
    project.submit(t.id, VALUE, a3)
    with ws.db.write() as conn:  # another process lets ann2's lease lapse and sweeps it
        conn.execute(text("UPDATE assignments SET status = 'expired' WHERE id = :a"),
                     {"a": again.id})
        conn.execute(text("UPDATE items SET n_taken = n_taken - 1, open = 1 WHERE id = :i"),
                     {"i": again.item_id})
    deadline = time.time() + 3
    served = []
    while time.time() < deadline:
        t = project.next_task(a3)
        assert t is not None, "the reopened item was never offered"
        served.append(t.item_id)
        if t.item_id == first.item_id:
            break
        project.submit(t.id, VALUE, a3)
        time.sleep(0.05)
    assert served[-1] == first.item_id
    assert time.time() < deadline


def test_a_value_valid_only_under_the_old_schema_is_refused_after_a_change(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    """On PostgreSQL a submit is checked first against the schema version this process saw
    last and stored in one statement only if that version is still current: a value the
    new version refuses is refused, and nothing is stored."""
    a = users["ann1"]
    t = project.next_task(a)
    project.submit(t.id, VALUE, a)  # the process has now seen version 1
    _, schema = project.schema()
    d = schema.to_dict()
    d["fields"][0]["options"] = [o for o in d["fields"][0]["options"] if o["value"] != "refund"]
    assert project.set_schema(d) == 2
    t2 = project.next_task(a)
    with pytest.raises(AnnotationInvalid):
        project.submit(t2.id, {"intent": "refund"}, a)
    assert project.status()["submitted"] == 1
    b = project.submit(t2.id, {"intent": "other"}, a)
    assert b.schema_version == 2


def test_a_stranger_learns_nothing_of_the_schema_from_a_bad_value(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    project.submit(t.id, VALUE, a)
    t2 = project.next_task(a)
    stranger = ws.add_user("stranger", "password-123", role="annotator")
    for bad in ({"intent": "not-an-option"}, VALUE):
        with pytest.raises(NotFound):
            project.submit(t2.id, bad, stranger)
    with pytest.raises(NotFound):  # a member, but not their task
        project.submit(t2.id, {"intent": "not-an-option"}, users["ann2"])


def test_a_lease_is_committed_without_a_disk_wait_and_only_the_lease(
    project: Project, users: dict[str, User]
) -> None:
    """PostgreSQL: next's one statement relaxes its own commit (as the transactional path's
    ``durable=False``), and the relaxation ends with it: the connection's next statement,
    a submit say, commits durably again."""
    if project.db.is_sqlite:
        pytest.skip("SQLite runs next in a transaction of its own (Database.write)")
    from truelabel.store import fast, queue_pg
    from truelabel.store.loopstate import top

    a = users["ann1"]
    with project.db.auto() as conn:
        sql, params = queue_pg.next_query(
            project_id=project.id, user_id=a.id, now=time.time(), floor=top(0), settings=None,
            known=False, roles=["annotator"], admin=False)
        assert fast.rows(conn, sql, params)[0]["relaxed"] == "off"
        assert fast.rows(conn, "SHOW synchronous_commit")[0]["synchronous_commit"] == "on"
    t = project.next_task(a)
    assert t is not None
    assert project.submit(t.id, VALUE, a, key="durable").id


def test_the_loop_finds_rows_by_index_even_when_statistics_call_the_tables_empty(
    project: Project, users: dict[str, User]
) -> None:
    """PostgreSQL: a new project's ``assignments`` and ``annotations`` start empty, and
    until autovacuum analyzes them again the planner (and every prepared statement planned
    meanwhile) reads them by sequential scan: once per item a claim walks past. The async
    connections of the annotators' loop plan with sequential scans off, so next's claim and
    its other look-ups go through indexes whatever ANALYZE last saw."""
    if project.db.is_sqlite:
        pytest.skip("SQLite's planner has no statistics to go stale here")
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from truelabel.store import fast, queue_pg
    from truelabel.store.loopstate import top

    with project.db.auto() as conn:
        conn.exec_driver_sql("ANALYZE assignments, annotations, drafts")  # empty, as on day 1
    sql, params = queue_pg.next_query(
        project_id=project.id, user_id=users["ann1"].id, now=time.time(), floor=top(0),
        settings=None, known=False, roles=["annotator"], admin=False)

    def scans(rows: list[dict[str, Any]]) -> set[str]:
        plan = "\n".join(r["QUERY PLAN"] for r in rows)
        return {t for t in ("assignments", "annotations", "items") if f"Seq Scan on {t}" in plan}

    async def hot() -> list[dict[str, Any]]:
        async with project.db.aconnect() as conn:
            return await fast.arows(conn, "EXPLAIN " + sql, params)

    # in a thread of its own: other tests (the browser's) may leave this thread a running loop
    with ThreadPoolExecutor(1) as pool:
        assert scans(pool.submit(lambda: asyncio.run(hot())).result()) == set()
    with project.db.auto() as conn:  # the premise: planned the default way, it scans
        assert "assignments" in scans(fast.rows(conn, "EXPLAIN " + sql, params))
