"""Management routes (issue 12): archive, guideline versions and notices, members leaving,
assign by count, schema checks, the workflow settings' schema, users disabled and reset."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User


def _actions(ws: Workspace, action: str) -> list[dict[str, Any]]:
    return [e for e in ws.audit_log(limit=1000) if e["action"] == action]


def test_archive_hides_the_project_and_refuses_new_tasks(
    client_for: Any, ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    admin, manager, ann = client_for("admin"), client_for("manager"), client_for("ann1")
    # a manager may not archive; an admin may
    assert manager.post("/api/projects/support/archive", json={"archived": True}).status_code == 403
    r = admin.post("/api/projects/support/archive", json={"archived": True})
    assert r.status_code == 200 and r.json() == {"archived": True}
    assert [p["name"] for p in ann.get("/api/projects").json()] == []
    listed = admin.get("/api/projects").json()
    assert [(p["name"], p["archived"]) for p in listed] == [("support", True)]
    assert admin.get("/api/projects/support").json()["archived"] is True
    r = ann.post("/api/projects/support/tasks/next")
    assert r.status_code == 409 and r.json()["error"] == "project_archived"
    assert project.status()["items"] == 20  # the data stays
    assert len(_actions(ws, "project.archive")) == 1
    # unarchived: back in the list and giving tasks again
    assert admin.post("/api/projects/support/archive",
                      json={"archived": False}).json() == {"archived": False}
    assert [p["name"] for p in ann.get("/api/projects").json()] == ["support"]
    assert ann.post("/api/projects/support/tasks/next").status_code == 200
    assert len(_actions(ws, "project.unarchive")) == 1


def test_guideline_versions_carry_notes_and_are_announced_once(
    client_for: Any, ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    manager, ann = client_for("manager"), client_for("ann1")
    first = ann.get("/api/projects/support/guidelines/changes").json()
    assert first["seen"] is None and first["changes"] == [] and first["current"] == 1
    assert ann.post("/api/projects/support/guidelines/seen", json={"version": 1}
                    ).status_code == 204
    # annotators may not edit; managers may, with a note
    assert ann.put("/api/projects/support/guidelines",
                   json={"guidelines": "x", "note": "n"}).status_code == 403
    r = manager.put("/api/projects/support/guidelines",
                    json={"guidelines": "# Rules\nRefunds first.", "note": "Refunds win ties"})
    assert r.status_code == 200 and r.json() == {"version": 2}
    changes = ann.get("/api/projects/support/guidelines/changes").json()
    assert changes["current"] == 2 and changes["seen"] == 1
    assert [(c["version"], c["note"]) for c in changes["changes"]] == [(2, "Refunds win ties")]
    history = manager.get("/api/projects/support/guidelines/versions").json()
    assert [(h["version"], h["note"]) for h in history] == [(2, "Refunds win ties"), (1, "")]
    assert project.info()["guidelines"] == "# Rules\nRefunds first."
    # acknowledged: nothing new any more; a version from the future is refused
    ann.post("/api/projects/support/guidelines/seen", json={"version": 2})
    assert ann.get("/api/projects/support/guidelines/changes").json()["changes"] == []
    r = ann.post("/api/projects/support/guidelines/seen", json={"version": 9})
    assert r.status_code == 422 and "current one is 2" in r.json()["message"]
    detail = json.loads(_actions(ws, "guidelines.version")[-1]["detail"])
    assert detail == {"version": 2, "note": "Refunds win ties"}


def test_members_change_role_and_leave(
    client_for: Any, ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    manager = client_for("manager")
    ws.add_user("newbie", PASSWORD)
    assert manager.post("/api/projects/support/members",
                        json={"username": "newbie", "role": "annotator"}).status_code == 204
    manager.post("/api/projects/support/members", json={"username": "newbie", "role": "reviewer"})
    roles = {m["username"]: m["role"] for m in manager.get("/api/projects/support/members").json()}
    assert roles["newbie"] == "reviewer"
    assert client_for("ann1").delete("/api/projects/support/members/ann2").status_code == 403
    assert manager.delete("/api/projects/support/members/newbie").status_code == 204
    names = [m["username"] for m in manager.get("/api/projects/support/members").json()]
    assert "newbie" not in names
    # out already: nothing to do, nothing logged
    assert manager.delete("/api/projects/support/members/newbie").status_code == 204
    assert manager.delete("/api/projects/support/members/nobody").status_code == 404
    assert manager.delete("/api/projects/support/members/manager").status_code == 422
    assert [json.loads(e["detail"]) for e in _actions(ws, "member.remove")] == [{"user": "newbie"}]


def test_assign_by_count_reserves_untouched_items(
    client_for: Any, project: Project, users: dict[str, User]
) -> None:
    manager = client_for("manager")
    r = manager.post("/api/projects/support/assign/count", json={"count": 3, "username": "ann2"})
    assert r.status_code == 200 and r.json() == {"assigned": 3, "item_ids": [1, 2, 3]}
    r = manager.post("/api/projects/support/assign/count", json={"count": 2, "username": "ann1"})
    assert r.json()["item_ids"] == [4, 5]  # the reserved ones are taken: the next ones
    task = project.next_task(users["ann2"])
    assert task is not None and task.item_id == 1
    r = client_for("ann1").post("/api/projects/support/assign/count",
                                json={"count": 1, "username": "ann1"})
    assert r.status_code == 403


def test_schema_check_parses_without_saving(
    client_for: Any, project: Project, users: dict[str, User]
) -> None:
    manager = client_for("manager")
    text = "fields:\n  - name: intent\n    type: choice\n    options: [refund, other]\n"
    r = manager.post("/api/projects/support/schema/check", json={"schema": text})
    assert r.status_code == 200
    out = r.json()
    assert out["valid"] is True and out["changed"] is True and out["current_version"] == 1
    assert [f["name"] for f in out["schema"]["fields"]] == ["intent"]
    assert [f["name"] for f in out["current"]["fields"]][:2] == ["intent", "tags"]
    assert project.info()["schema_version"] == 1  # nothing saved
    bad = manager.post("/api/projects/support/schema/check",
                       json={"schema": "fields:\n  - name: x\n    type: nope\n"})
    assert bad.status_code == 200 and bad.json()["valid"] is False
    error = bad.json()["error"]
    assert error["error"] == "unknown_component" and "nope" in error["message"]
    same = manager.post("/api/projects/support/schema/check",
                        json={"schema": out["current"]}).json()
    assert same["changed"] is False
    assert client_for("ann1").post("/api/projects/support/schema/check",
                                   json={"schema": text}).status_code == 403


def test_workflow_schema_describes_every_setting(app: Any) -> None:
    from truelabel.domain.workflow import Workflow

    body = TestClient(app).get("/api/workflow.schema.json").json()
    assert set(body["properties"]) == set(Workflow.model_fields)
    assert all(p.get("description") for p in body["properties"].values())


def test_disabled_user_cannot_log_in_and_a_reset_password_works(
    client_for: Any, app: Any, users: dict[str, User]
) -> None:
    admin = client_for("admin")
    web = TestClient(app)
    assert web.post("/api/login", json={"username": "ann1", "password": PASSWORD}
                    ).status_code == 200
    assert admin.patch("/api/users/ann1", json={"disabled": True}).status_code == 204
    listed = {u["username"]: u["disabled"] for u in admin.get("/api/users").json()}
    assert listed["ann1"] is True
    assert TestClient(app).post("/api/login", json={"username": "ann1", "password": PASSWORD}
                                ).status_code == 401
    admin.patch("/api/users/ann1", json={"disabled": False, "password": "brand-new-pass"})
    assert TestClient(app).post("/api/login", json={"username": "ann1", "password": PASSWORD}
                                ).status_code == 401
    assert TestClient(app).post("/api/login", json={"username": "ann1",
                                                    "password": "brand-new-pass"}
                                ).status_code == 200
