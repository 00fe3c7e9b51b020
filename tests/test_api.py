from __future__ import annotations

import io
import json
import time
from typing import Any

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from helpers import PASSWORD, error_body
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User


def test_login_wrong_password_and_unknown_user_look_the_same(app: Any, users: Any) -> None:
    c = TestClient(app)
    a = c.post("/api/login", json={"username": "ann1", "password": "wrong-password"})
    b = c.post("/api/login", json={"username": "nobody", "password": "wrong-password"})
    assert error_body(a, 401, "unauthorized") == error_body(b, 401, "unauthorized")
    assert "tl_session" not in c.cookies


def test_session_login_csrf_and_logout(app: Any, users: Any) -> None:
    c = TestClient(app)
    r = c.post("/api/login", json={"username": "ann1", "password": PASSWORD})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    assert c.get("/api/me").json()["username"] == "ann1"
    error_body(c.post("/api/projects/support/tasks/next"), 403, "forbidden")
    assert (
        c.post("/api/projects/support/tasks/next", headers={"X-CSRF-Token": csrf}).status_code
        == 200
    )
    assert c.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    error_body(c.get("/api/me"), 401)


def test_expired_and_unknown_tokens(app: Any, ws: Workspace, users: dict[str, User]) -> None:
    token = ws.create_token(users["ann1"], ttl_seconds=1)
    c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert c.get("/api/me").status_code == 200
    time.sleep(1.1)
    body = error_body(c.get("/api/me"), 401, "unauthorized")
    assert "expired" in body["message"]
    bad = TestClient(app, headers={"Authorization": "Bearer tl_not-a-token"})
    error_body(bad.get("/api/me"), 401)


def test_disabled_user_token_refused(app: Any, ws: Workspace, users: dict[str, User]) -> None:
    token = ws.create_token(users["ann2"])
    ws.set_disabled("ann2", True)  # revokes the user's tokens for good (since 0005)
    c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert "revoked" in error_body(c.get("/api/me"), 401)["message"]


def test_annotator_cannot_reach_another_projects_item(
    app: Any, ws: Workspace, project: Project, users: dict[str, User], client_for: Any
) -> None:
    other = ws.create_project("secret", {"fields": [{"name": "x", "type": "text"}]})
    other.import_records([{"text": "confidential payroll data"}])
    secret_id = other.items()[0]["id"]
    c = client_for("ann1")
    missing = c.get("/api/projects/secret/items/999999")
    foreign = c.get(f"/api/projects/secret/items/{secret_id}")
    assert foreign.status_code == 404 and foreign.content == missing.content
    assert b"payroll" not in foreign.content
    # the item id through the annotator's own project: also 404, no data
    via_own = c.get(f"/api/projects/support/items/{secret_id}")
    assert via_own.status_code == 404 and b"payroll" not in via_own.content
    assert [p["name"] for p in c.get("/api/projects").json()] == ["support"]


def test_annotator_cannot_read_unassigned_item_or_export(project: Project, client_for: Any) -> None:
    c = client_for("ann1")
    item_id = project.items(limit=1)[0]["id"]
    error_body(c.get(f"/api/projects/support/items/{item_id}"), 404)
    error_body(c.get("/api/projects/support/export"), 403, "forbidden")
    assert c.get("/api/projects/support/items").json()["items"] == []


def test_submit_bad_value_422_names_field(client_for: Any) -> None:
    c = client_for("ann1")
    task = c.post("/api/projects/support/tasks/next").json()
    r = c.post(
        f"/api/projects/support/tasks/{task['id']}/submit",
        json={"value": {"intent": "refund", "quality": 9}, "idempotency_key": "a"},
    )
    body = error_body(r, 422, "annotation_invalid")
    assert body["detail"]["field"] == "quality" and "quality" in body["message"]
    r = c.post(f"/api/projects/support/tasks/{task['id']}/submit", json={"value": {}})
    body = error_body(r, 422, "invalid_input")
    assert "idempotency_key" in body["message"]


def test_full_loop_over_http_and_export(project: Project, client_for: Any) -> None:
    c = client_for("ann1")
    stored = {}
    for i in range(3):
        task = c.post("/api/projects/support/tasks/next").json()
        assert (
            c.put(
                f"/api/projects/support/tasks/{task['id']}/draft",
                json={"value": {"intent": "other"}},
            ).status_code
            == 204
        )
        again = c.post("/api/projects/support/tasks/next").json()
        assert again["id"] == task["id"] and again["draft"] == {"intent": "other"}
        value = {"intent": "refund", "entities": [{"start": 0, "end": 5, "label": "ORG"}]}
        r = c.post(
            f"/api/projects/support/tasks/{task['id']}/submit",
            json={"value": value, "idempotency_key": f"k{i}"},
        )
        assert r.status_code == 200, r.text
        retry = c.post(
            f"/api/projects/support/tasks/{task['id']}/submit",
            json={"value": value, "idempotency_key": f"k{i}"},
        )
        assert retry.json()["id"] == r.json()["id"] and retry.json()["replayed"]
        stored[task["item_id"]] = r.json()["value"]
    m = client_for("manager")
    lines = [
        json.loads(x) for x in m.get("/api/projects/support/export?format=jsonl").text.splitlines()
    ]
    got = {
        row["id"]: [a["value"] for a in row["annotations"]] for row in lines if row["annotations"]
    }
    assert got == {k: [v] for k, v in stored.items()}
    assert all(a["annotator"] == "ann1" for row in lines for a in row["annotations"])
    pq_bytes = m.get("/api/projects/support/export?format=parquet").content
    table = pq.read_table(io.BytesIO(pq_bytes))
    assert table.num_rows == 20
    labeled = [r for r in table.to_pylist() if r["annotations"]]
    # typed export: the value is a struct of the schema's fields (absent ones null)
    assert {
        r["id"]: {k: v for k, v in r["annotations"][0]["value"].items() if v is not None}
        for r in labeled
    } == stored


def test_no_task_left_is_204(ws: Workspace, users: dict[str, User], client_for: Any) -> None:
    p = ws.create_project("tiny", {"fields": [{"name": "x", "type": "text"}]})
    p.import_records([{"text": "one"}])
    p.add_member(users["ann1"], "annotator")
    c = client_for("ann1")
    t = c.post("/api/projects/tiny/tasks/next").json()
    c.post(
        f"/api/projects/tiny/tasks/{t['id']}/submit",
        json={"value": {"x": "done"}, "idempotency_key": "only"},
    )
    assert c.post("/api/projects/tiny/tasks/next").status_code == 204


def test_upload_import_runs_as_job_with_progress(app: Any, client_for: Any) -> None:
    m = client_for("manager")
    data = "".join(
        json.dumps({"id": f"u{i}", "text": f"uploaded {i}"}) + "\n" for i in range(500)
    ).encode()
    r = m.post("/api/projects/support/imports", files={"file": ("up.jsonl", data)})
    assert r.status_code == 202
    job = app.state.jobs.wait(r.json()["id"])
    body = m.get(f"/api/jobs/{job.id}").json()
    assert body["status"] == "done" and body["result"]["added"] == 500
    assert body["done"] == body["total"] == len(data)
    bad = m.post(
        "/api/projects/support/imports", files={"file": ("bad.jsonl", b'{"text": "a"}\n{oops\n')}
    )
    job = app.state.jobs.wait(bad.json()["id"])
    body = m.get(f"/api/jobs/{job.id}").json()
    assert body["status"] == "failed" and "line 2" in body["error"]["message"]
    # annotators may not import, and cannot see others' jobs
    a = client_for("ann1")
    error_body(a.post("/api/projects/support/imports", files={"file": ("x.jsonl", data)}), 403)
    error_body(a.get(f"/api/jobs/{job.id}"), 404)


def test_items_keyset_pagination_and_search(
    ws: Workspace, client_for: Any, project: Project
) -> None:
    project.import_records([{"id": f"extra{i}", "text": f"needle {i}"} for i in range(130)])
    m = client_for("manager")
    seen, after = [], 0
    while True:
        page = m.get(f"/api/projects/support/items?after={after}&limit=50").json()
        seen += [i["id"] for i in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == 150 and seen == sorted(seen)
    found = m.get("/api/projects/support/items?q=needle 12&limit=500").json()["items"]
    assert {i["data"]["text"] for i in found} == {"needle 12"} | {
        f"needle 12{d}" for d in range(10)
    }
    assert m.get("/api/projects/support/items?q=100%25").json()["items"] == []


def test_manager_creates_project_from_label_studio_xml(client_for: Any) -> None:
    admin = client_for("admin")
    xml = (
        '<View><Text name="text" value="$text"/><Choices name="s" toName="text">'
        '<Choice value="a"/><Choice value="b"/></Choices></View>'
    )
    r = admin.post("/api/projects", json={"name": "from-ls", "schema": xml})
    assert r.status_code == 201, r.text
    assert r.json()["schema"]["fields"][0]["type"] == "choice"
    bad = admin.post(
        "/api/projects",
        json={"name": "x", "schema": {"fields": [{"name": "f", "type": "polygon"}]}},
    )
    body = error_body(bad, 422, "unknown_component")
    assert "choice" in body["message"]
    error_body(client_for("ann1").post("/api/projects", json={"name": "y", "schema": xml}), 403)


def test_openapi_documents_every_route(app: Any) -> None:
    spec = TestClient(app).get("/api/openapi.json").json()
    paths = spec["paths"]
    for p in (
        "/api/login",
        "/api/projects/{project}/tasks/next",
        "/api/projects/{project}/tasks/{task_id}/submit",
        "/api/projects/{project}/export",
        "/api/projects/{project}/imports",
        "/api/jobs/{job_id}",
    ):
        assert p in paths


def test_security_headers_on_every_response(app: Any) -> None:
    r = TestClient(app).get("/api/me")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
