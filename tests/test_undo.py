"""Undo of the last submit or skip, back to the previous item, and skipped items coming back
(issue 12; docs/loop.md, "Undo, history and skipped items")."""

from __future__ import annotations

from typing import Any

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import Conflict, NotFound
from truelabel.domain.models import User

VALUE = {"intent": "refund"}


def test_an_undone_skip_gives_the_item_back_with_the_draft(
    project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    assert t is not None
    project.save_draft(t.id, {"intent": "other"}, a)
    project.skip(t.id, a)
    nxt = project.next_task(a)
    assert nxt is not None and nxt.item_id != t.item_id
    assert project.item(t.item_id)["state"] == "queued"  # the skip gave the slot back
    back = project.work.undo(t.id, a)
    assert (back.id, back.item_id, back.draft) == (t.id, t.item_id, {"intent": "other"})
    assert project.item(t.item_id)["state"] == "in_progress"  # docs/lifecycle.md
    assert project.work.progress(a)["skipped"] == 0
    # both items are open for ann1 now; the one left for the undo comes after it
    project.submit(back.id, VALUE, a)
    assert project.next_task(a).item_id == nxt.item_id


def test_an_undone_submit_removes_the_answer_and_prefills_it(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    assert t is not None
    ann = project.submit(t.id, {"intent": "shipping"}, a, key="undo-me")
    before = project.status()["submitted"]
    assert project.item(t.item_id)["state"] == "submitted"
    back = project.work.undo(t.id, a)
    assert project.item(t.item_id)["state"] == "in_progress"  # open work again
    assert back.item_id == t.item_id and back.draft == {"intent": "shipping"}
    assert project.annotations(t.item_id) == []
    assert project.status()["submitted"] == before - 1
    assert [e["object_id"] for e in ws.audit_log(action="annotation.retract")] == [str(ann.id)]
    again = project.submit(back.id, {"intent": "refund"}, a, key="second")
    assert [x["value"] for x in project.annotations(t.item_id)] == [{"intent": "refund"}]
    assert again.id != ann.id


def test_undo_is_refused_once_a_reviewer_used_the_answer(
    project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    assert t is not None
    ann = project.submit(t.id, VALUE, a)
    project.set_workflow(review_stages=[{"name": "check", "role": "reviewer", "sample_rate": 1.0}])
    project.review(ann.id, "accept", users["reviewer"])
    with pytest.raises(Conflict, match="reviewed"):
        project.work.undo(t.id, a)
    assert len(project.annotations(t.item_id)) == 1


def test_undo_is_refused_after_the_grace_period(
    project: Project, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    assert t is not None
    project.submit(t.id, VALUE, a)
    monkeypatch.setenv("TRUELABEL_UNDO_SECONDS", "0")
    with pytest.raises(Conflict, match="turned off"):
        project.work.undo(t.id, a)
    u = project.next_task(a)
    assert u is not None
    project.skip(u.id, a)
    with pytest.raises(Conflict, match="turned off"):
        project.work.undo(u.id, a)


def test_undo_of_a_skip_whose_item_others_filled_is_refused(
    project: Project, users: dict[str, User]
) -> None:
    a, b = users["ann1"], users["ann2"]
    t = project.next_task(a)
    assert t is not None
    project.skip(t.id, a)
    tb = project.next_task(b)
    assert tb is not None and tb.item_id == t.item_id  # others get a skipped item first
    with pytest.raises(Conflict, match="took every place"):
        project.work.undo(t.id, a)


def test_undo_is_only_for_ones_own_tasks(project: Project, users: dict[str, User]) -> None:
    a, b = users["ann1"], users["ann2"]
    t = project.next_task(a)
    assert t is not None
    project.submit(t.id, VALUE, a)
    with pytest.raises(NotFound):
        project.work.undo(t.id, b)


def test_skipped_items_come_back_to_the_skipper_only_at_the_end(
    ws: Workspace, users: dict[str, User]
) -> None:
    p = ws.create_project("few", {"fields": [{"name": "intent", "type": "choice",
                                              "options": ["refund", "other"]}]})
    p.import_records([{"id": f"x{i}", "text": f"t {i}"} for i in range(3)])
    a = users["ann1"]
    p.add_member(a, "annotator")
    order: list[Any] = []
    first = p.next_task(a)
    assert first is not None
    p.skip(first.id, a)
    while (t := p.next_task(a)) is not None:
        order.append(t.item_id)
        if t.item_id == first.item_id:
            p.submit(t.id, VALUE, a)
        else:
            p.submit(t.id, VALUE, a)
    assert order[-1] == first.item_id and len(order) == 3
    assert p.work.skipped(a) == []
    assert p.next_task(a) is None


def test_a_skipped_item_comes_back_once(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    tasks = []
    while (t := project.next_task(a)) is not None and not t.skipped_before:
        tasks.append(t)
        project.skip(t.id, a)
    assert t is not None and t.item_id == tasks[0].item_id  # the oldest skip first
    back = [t.item_id]
    project.skip(t.id, a)
    while (t := project.next_task(a)) is not None:
        assert t.skipped_before
        back.append(t.item_id)
        project.skip(t.id, a)
    assert back == [x.item_id for x in tasks]  # each once, in skip order; then none
    assert len(project.work.skipped(a)) == 20
    # an undone skip does not count
    u = project.work.undo(tasks[-1].id, a)
    project.skip(u.id, a)
    assert project.next_task(a) is None  # the undo took its second skip back; this is it again


def test_undo_and_progress_over_http(client_for: Any, project: Project) -> None:
    c = client_for("ann1")
    base = f"/api/projects/{project.name}"
    assert c.get(f"{base}/me/progress").json() == {
        "done_today": 0, "done_total": 0, "skipped": 0, "remaining": 20}
    t = c.post(f"{base}/tasks/next").json()
    r = c.post(f"{base}/tasks/{t['id']}/submit", json={"value": VALUE, "idempotency_key": "k"})
    assert r.status_code == 200
    t2 = c.post(f"{base}/tasks/next").json()
    assert c.post(f"{base}/tasks/{t2['id']}/skip").status_code == 204
    assert c.get(f"{base}/me/progress").json() == {
        "done_today": 1, "done_total": 1, "skipped": 1, "remaining": 18}
    r = c.post(f"{base}/tasks/{t['id']}/undo")
    assert r.status_code == 200 and r.json()["draft"] == VALUE
    after = c.get(f"{base}/me/progress").json()
    assert (after["done_total"], after["done_today"]) == (0, 0)  # an undone submit counts nowhere
    r = c.post(f"{base}/tasks/999999/undo")
    assert r.status_code == 404
