"""The annotator's "my work" history and skipped list (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from truelabel.core import Project
from truelabel.domain.errors import Conflict, InvalidInput
from truelabel.domain.models import User


def _label(project: Project, user: User, n: int, value: str = "refund") -> list[int]:
    ids = []
    for _ in range(n):
        t = project.next_task(user)
        assert t is not None
        ids.append(project.submit(t.id, {"intent": value}, user).id)
    return ids


def test_history_is_mine_newest_first_and_paged(
    project: Project, users: dict[str, User]
) -> None:
    a, b = users["ann1"], users["ann2"]
    mine = _label(project, a, 5)
    _label(project, b, 2)
    page1 = project.work.history(a, limit=3)
    assert page1["total"] == 5
    assert [r["id"] for r in page1["rows"]] == mine[::-1][:3]
    page2 = project.work.history(a, offset=3, limit=3)
    assert [r["id"] for r in page2["rows"]] == mine[::-1][3:]
    row = page1["rows"][0]
    assert row["value"] == {"intent": "refund"} and row["editable"] and row["preview"]
    with pytest.raises(InvalidInput):
        project.work.history(a, limit=0)


def test_an_edit_is_a_new_version_and_reviewed_work_is_read_only(
    project: Project, users: dict[str, User]
) -> None:
    a = users["ann1"]
    first, second = _label(project, a, 2)
    v2 = project.update_annotation(first, {"intent": "other"}, a)
    rows = {r["item_id"]: r for r in project.work.history(a)["rows"]}
    assert rows[v2.item_id]["id"] == v2.id and rows[v2.item_id]["edited"]
    project.set_workflow(review_stages=[{"name": "check", "role": "reviewer", "sample_rate": 1.0}])
    project.review(second, "accept", users["reviewer"])
    one = project.work.my_annotation(second, a)
    assert one["settled"] == "reviewed" and not one["editable"] and one["data"]["text"]
    with pytest.raises(Conflict, match="reviewed"):
        project.update_annotation(second, {"intent": "other"}, a)


def test_skipped_list_newest_first(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    skipped = []
    for _ in range(3):
        t = project.next_task(a)
        assert t is not None
        project.skip(t.id, a)
        skipped.append(t.item_id)
    rows = project.work.skipped(a)
    assert [r["item_id"] for r in rows] == skipped[::-1]
    assert all(r["open"] and r["skipped_at"] for r in rows)
    assert project.work.skipped(users["ann2"]) == []


def test_history_over_http(client_for: Any, project: Project, users: dict[str, User]) -> None:
    _label(project, users["ann1"], 2)
    c = client_for("ann1")
    base = f"/api/projects/{project.name}"
    r = c.get(f"{base}/me/annotations", params={"limit": 1})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2 and len(body["rows"]) == 1
    aid = body["rows"][0]["id"]
    one = c.get(f"{base}/me/annotations/{aid}").json()
    assert one["data"]["text"] and one["editable"]
    r = c.put(f"{base}/annotations/{aid}", json={"value": {"intent": "other"},
                                                 "idempotency_key": "edit-1"})
    assert r.status_code == 200
    assert client_for("ann2").get(f"{base}/me/annotations/{aid}").status_code == 404
    assert c.get(f"{base}/me/skipped").json() == []
