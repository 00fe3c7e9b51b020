"""API tokens: scopes, expiry, last use, listing and revocation (API, CLI, library).

Each of the attack probe's cases (issue 10): a token survived a password change, came back
when a disabled user was enabled again, could not be listed or revoked and never expired.
Revocation must count on the very next request, the annotators' hot loop (next, submit)
included, whose one statement re-checks the credential.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpers import PASSWORD, PG_URL
from truelabel import Workspace
from truelabel.core.credentials import DEFAULT_TOKEN_DAYS
from truelabel.domain.errors import Forbidden, InvalidInput, NotFound
from truelabel.domain.models import User
from truelabel.server.app import create_app

NEXT = "/api/projects/support/tasks/next"


def _bearer(app: Any, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _submit(c: TestClient, task_id: int, key: str = "") -> Any:
    return c.post(f"/api/projects/support/tasks/{task_id}/submit",
                  json={"value": {"intent": "refund"}, "idempotency_key": key or f"k{task_id}"})


@pytest.fixture(params=[True, False], ids=["hot-loop", "routes"])
def any_app(request: Any, ws: Workspace) -> Any:
    """The app with its hot loop (next/submit answered by ``server/hotloop.py``) and
    without it (the FastAPI routes): both must refuse the same way."""
    return create_app(ws, hot_loop=request.param)


def test_a_token_dies_with_a_password_change(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    c = _bearer(any_app, ws.create_token(users["ann1"]))
    task = c.post(NEXT).json()
    ws.set_password("ann1", "another-password-1")
    for r in (c.get("/api/me"), c.post(NEXT), _submit(c, task["id"])):
        assert r.status_code == 401 and "revoked" in r.json()["message"], r.text
    assert ws.tokens.list(users["ann1"]) == []
    # the user's own change through the API revokes too
    c2 = _bearer(any_app, ws.create_token(users["ann2"]))
    browser = TestClient(any_app)
    csrf = browser.post("/api/login", json={"username": "ann2", "password": PASSWORD}
                        ).json()["csrf_token"]
    assert browser.post("/api/me/password", headers={"X-CSRF-Token": csrf}, json={
        "current_password": PASSWORD, "new_password": "new-password-22"}).status_code == 204
    assert c2.post(NEXT).status_code == 401


def test_disable_and_enable_does_not_bring_a_token_back(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    c = _bearer(any_app, ws.create_token(users["ann1"]))
    task = c.post(NEXT).json()
    ws.set_disabled("ann1", True)
    ws.set_disabled("ann1", False)
    for r in (c.get("/api/me"), c.post(NEXT), _submit(c, task["id"])):
        assert r.status_code == 401, r.text
    entries = ws.audit_log(action="token.revoke")
    assert entries and entries[-1]["object_id"] == str(users["ann1"].id)
    assert "account disabled" in entries[-1]["detail"]


def test_list_and_revoke_own_tokens_then_401_on_the_next_request(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    c = _bearer(any_app, ws.create_token(users["ann1"], name="laptop"))
    made = c.post("/api/me/tokens", json={"name": "ci", "scope": "annotate",
                                          "expires_in_days": 7})
    assert made.status_code == 201
    new = made.json()
    assert new["token"].startswith("tl_") and new["scope"] == "annotate"
    assert 6.9 * 86400 < new["expires_at"] - new["created_at"] <= 7 * 86400
    listed = c.get("/api/me/tokens").json()
    assert [(t["name"], t["scope"]) for t in listed] == [("laptop", "manage"),
                                                        ("ci", "annotate")]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert new["token"] not in c.get("/api/me/tokens").text  # shown once, never again

    ci = _bearer(any_app, new["token"])
    task = ci.post(NEXT).json()  # remembered by this process (seen_credential)
    assert c.delete(f"/api/me/tokens/{new['id']}").status_code == 204
    for r in (ci.post(NEXT), _submit(ci, task["id"]), ci.get("/api/me")):
        assert r.status_code == 401, r.text
    assert [t["name"] for t in c.get("/api/me/tokens").json()] == ["laptop"]
    # someone else's token id: the same 404 as one that does not exist
    other = ws.tokens.create(users["ann2"], name="theirs")
    assert c.delete(f"/api/me/tokens/{other['id']}").status_code == 404
    assert c.delete("/api/me/tokens/999999").status_code == 404
    actions = [e["action"] for e in ws.audit_log()]
    assert actions.count("token.create") >= 3 and "token.revoke" in actions


def test_admins_list_and_revoke_a_users_tokens(
        app: Any, ws: Workspace, users: dict[str, User], client_for: Any) -> None:
    victim = ws.tokens.create(users["ann1"], name="stolen")
    admin = client_for("admin")
    rows = admin.get("/api/users/ann1/tokens").json()
    assert [r["name"] for r in rows] == ["stolen"]
    assert client_for("manager").get("/api/users/ann1/tokens").status_code == 403
    assert client_for("manager").delete(
        f"/api/users/ann1/tokens/{victim['id']}").status_code == 403
    assert admin.delete(f"/api/users/ann1/tokens/{victim['id']}").status_code == 204
    assert _bearer(app, victim["token"]).get("/api/me").status_code == 401
    with pytest.raises(Forbidden):
        ws.tokens.list(users["ann1"], actor=users["ann2"])


def test_an_expired_token_is_refused_everywhere(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    made = ws.tokens.create(users["ann1"], name="short")
    c = _bearer(any_app, made["token"])
    task = c.post(NEXT).json()
    with ws.db.write() as conn:  # its time ran out
        conn.execute(text("UPDATE api_tokens SET expires_at = :t WHERE id = :i"),
                     {"t": time.time() - 1, "i": made["id"]})
    for r in (c.post(NEXT), _submit(c, task["id"]), c.get("/api/me")):
        assert r.status_code == 401 and "expired" in r.json()["message"], r.text


def test_new_tokens_expire_in_90_days_unless_never_is_asked(
        ws: Workspace, users: dict[str, User]) -> None:
    t = ws.tokens.create(users["ann1"])
    assert t["expires_at"] - t["created_at"] == pytest.approx(DEFAULT_TOKEN_DAYS * 86400)
    assert ws.tokens.create(users["ann1"], expires_in_days=None)["expires_at"] is None
    for bad in (0, -1, 10_000):
        with pytest.raises(InvalidInput):
            ws.tokens.create(users["ann1"], expires_in_days=bad)
    with pytest.raises(InvalidInput, match="scopes are"):
        ws.tokens.create(users["ann1"], scope="root")


def test_a_read_token_cannot_write(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    c = _bearer(any_app, ws.create_token(users["manager"], scope="read"))
    assert c.get("/api/projects/support").status_code == 200
    assert c.get("/api/me/tokens").status_code == 200
    for r in (c.post(NEXT), _submit(c, 1),
              c.patch("/api/projects/support", json={"lease_seconds": 60}),
              c.post("/api/me/tokens", json={"name": "wider"})):
        assert r.status_code == 403 and r.json()["detail"]["scope"] == "read", r.text


def test_an_annotate_token_works_the_loop_but_cannot_manage(
        any_app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    c = _bearer(any_app, ws.create_token(users["manager"], scope="annotate"))
    task = c.post(NEXT).json()
    base = f"/api/projects/support/tasks/{task['id']}"
    assert c.put(f"{base}/draft", json={"value": {"intent": "refund"}}).status_code == 204
    assert _submit(c, task["id"]).status_code == 200
    task2 = c.post(NEXT).json()
    assert c.post(f"/api/projects/support/tasks/{task2['id']}/skip").status_code == 204
    assert c.get("/api/projects/support").status_code == 200
    for r in (c.patch("/api/projects/support", json={"lease_seconds": 60}),
              c.post("/api/projects/support/members",
                     json={"username": "ann2", "role": "reviewer"}),
              c.post("/api/me/tokens", json={"name": "wider", "scope": "manage"}),
              c.delete("/api/me/tokens/1")):
        assert r.status_code == 403 and r.json()["detail"]["scope"] == "annotate", r.text


def test_exactly_the_loop_is_open_to_annotate_tokens(app: Any) -> None:
    """The routes an annotate token may write to are marked in the OpenAPI spec."""
    spec = app.openapi()
    marked = {(m.upper(), path) for path, ops in spec["paths"].items()
              for m, op in ops.items() if op.get("x-token-scope") == "annotate"}
    base = "/api/projects/{project}/tasks"
    assert marked == {("POST", f"{base}/next"), ("PUT", base + "/{task_id}/draft"),
                      ("POST", base + "/{task_id}/submit"), ("POST", base + "/{task_id}/skip"),
                      ("POST", base + "/{task_id}/undo")}


def test_last_use_is_recorded_coarsely(
        app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    made = ws.tokens.create(users["ann1"], name="loop")
    assert ws.tokens.list(users["ann1"])[0]["last_used_at"] is None
    c = _bearer(app, made["token"])
    before = time.time()
    assert c.post(NEXT).status_code == 200
    ws.tokens.flush()
    first = ws.tokens.list(users["ann1"])[0]["last_used_at"]
    assert first is not None and first >= before - 1
    c.get("/api/me")
    ws.tokens.flush()  # within a minute: not written again
    assert ws.tokens.list(users["ann1"])[0]["last_used_at"] == first


def test_cli_creates_lists_and_revokes(tmp_path: Any) -> None:
    if PG_URL:
        pytest.skip("the CLI test uses a workspace folder")
    from truelabel.cli.main import main

    loc = str(tmp_path / "cli")
    ws = Workspace.init(loc)
    user = ws.add_user("alice", PASSWORD)
    run = CliRunner().invoke
    r = run(main, ["user", "token", loc, "alice", "--name", "ci", "--scope", "annotate",
                   "--expires-in", "30"])
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    assert token.startswith("tl_")
    r = run(main, ["user", "token", loc, "alice", "--name", "forever", "--expires-in", "never"])
    assert r.exit_code == 0, r.output
    r = run(main, ["user", "tokens", loc, "alice", "--json"])
    rows = {t["name"]: t for t in __import__("json").loads(r.output)}
    assert rows["ci"]["scope"] == "annotate" and rows["forever"]["expires_at"] is None
    assert token not in r.output
    r = run(main, ["user", "revoke-token", loc, "alice", str(rows["ci"]["id"])])
    assert r.exit_code == 0, r.output
    assert [t["name"] for t in ws.tokens.list(user)] == ["forever"]
    r = run(main, ["user", "revoke-token", loc, "alice", str(rows["ci"]["id"])])
    assert r.exit_code == 1 and "no token" in r.output
    with pytest.raises(NotFound):
        ws.tokens.revoke(user, rows["ci"]["id"])
    ws.close()

