"""Security defaults: throttled logins without lock-out, revocation, CORS, audit, parsers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.domain.errors import ProjectError
from truelabel.domain.models import User

SRC = Path(__file__).resolve().parent.parent / "src" / "truelabel"


def _login(c: TestClient, name: str, password: str = PASSWORD) -> Any:
    return c.post("/api/login", json={"username": name, "password": password})


def test_login_throttle_does_not_lock_out_the_victim(app: Any, users: Any) -> None:
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    codes = [_login(attacker, "ann1", "wrong-guess").status_code for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    r = _login(attacker, "ann1")  # even the right password waits: no oracle
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["error"] == "too_many_attempts"
    victim = TestClient(app, client=("198.51.100.7", 5000))
    assert _login(victim, "ann1").status_code == 200
    # another account from the attacker's address is still reachable (per-user window)
    assert _login(attacker, "ann2").status_code == 200


def test_sessions_end_on_logout_password_change_and_disable(
        app: Any, ws: Workspace, users: dict[str, User]) -> None:
    c = TestClient(app)
    csrf = _login(c, "ann1").json()["csrf_token"]
    other = TestClient(app)
    _login(other, "ann1")
    r = c.post("/api/me/password", headers={"X-CSRF-Token": csrf},
               json={"current_password": PASSWORD, "new_password": "new-password-99"})
    assert r.status_code == 204
    assert other.get("/api/me").status_code == 401  # the second session ended too
    assert c.get("/api/me").status_code == 401
    assert _login(c, "ann1", "new-password-99").status_code == 200
    admin = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(users['admin'])}"})
    assert admin.patch("/api/users/ann1", json={"disabled": True}).status_code == 204
    assert c.get("/api/me").status_code == 401
    assert _login(c, "ann1", "new-password-99").status_code == 401
    wrong = TestClient(app)
    csrf2 = _login(wrong, "ann2").json()["csrf_token"]
    assert wrong.post("/api/me/password", headers={"X-CSRF-Token": csrf2},
                      json={"current_password": "not-it", "new_password": "whatever-123"}
                      ).status_code == 401


def test_logout_needs_csrf(app: Any, users: Any) -> None:
    c = TestClient(app)
    csrf = _login(c, "ann1").json()["csrf_token"]
    assert c.post("/api/logout").status_code == 403  # no cross-site logout
    assert c.get("/api/me").status_code == 200
    assert c.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.get("/api/me").status_code == 401


def test_cors_is_closed(app: Any, users: Any) -> None:
    c = TestClient(app)
    r = c.options("/api/projects", headers={"Origin": "https://evil.example",
                                           "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = c.get("/api/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_no_self_signup_and_admin_only_users(app: Any, client_for: Any) -> None:
    anon = TestClient(app)
    assert anon.post("/api/users", json={"username": "eve", "password": "password-123"}
                     ).status_code == 401
    assert client_for("manager").post("/api/users", json={
        "username": "eve", "password": "password-123"}).status_code == 403


def test_audit_log_is_append_only_and_admin_only(app: Any, ws: Workspace, users: Any,
                                                 client_for: Any) -> None:
    _login(TestClient(app), "ann1", "wrong-password")
    admin = client_for("admin")
    manager = client_for("manager")  # before the count: creating a token is audited
    entries = admin.get("/api/audit?limit=1000").json()["entries"]
    actions = {e["action"] for e in entries}
    assert {"user.add", "project.create", "items.import", "login.failed",
            "token.create"} <= actions
    assert manager.get("/api/audit").status_code == 403
    exported = admin.get("/api/audit/export")
    assert exported.status_code == 200
    assert len(exported.text.splitlines()) == len(entries)
    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), ws.db.write() as conn:
            conn.execute(text(stmt))
    assert len(admin.get("/api/audit?limit=1000").json()["entries"]) == len(entries)


def test_secret_key_required(ws: Workspace) -> None:
    from truelabel.server.run import serve

    with ws.db.write() as conn:
        conn.execute(text("DELETE FROM settings WHERE key = 'secret_key'"))
    with pytest.raises(ProjectError, match="secret key"):
        serve(ws, port=0)


def test_no_unsafe_deserialisation_in_the_code() -> None:
    """No pickle, no yaml.load, no stdlib XML parsing of untrusted data."""
    bad = re.compile(r"\bimport pickle\b|\bpickle\.loads?\(|yaml\.load\(|yaml\.unsafe_load|"
                     r"xml\.etree|xml\.dom|xml\.sax\.make_parser|lxml")
    hits = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py")
            for n, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert hits == []


def test_the_annotators_loop_rechecks_a_remembered_credential(
        app: Any, ws: Workspace, project: Any, users: dict[str, User]) -> None:
    """next and submit skip the separate login lookup for a credential this process saw
    before and check it inside their own statement: a change made anywhere else (another
    worker process, the CLI, the database) counts on the very next request."""
    nxt = "/api/projects/support/tasks/next"

    def submit(c: TestClient, task_id: int, **kw: Any) -> Any:
        return c.post(f"/api/projects/support/tasks/{task_id}/submit", **kw,
                      json={"value": {"intent": "refund"}, "idempotency_key": f"k{task_id}"})

    token = ws.create_token(users["ann1"])
    c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    first = c.post(nxt)
    assert first.status_code == 200
    with ws.db.write() as conn:  # revoked behind this process's back
        conn.execute(text("UPDATE api_tokens SET revoked = TRUE"))
    for r in (c.post(nxt), submit(c, first.json()["id"])):
        assert r.status_code == 401 and "Unknown API token" in r.json()["message"]

    c2 = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(users['ann2'])}"})
    task = c2.post(nxt).json()
    with ws.db.write() as conn:
        conn.execute(text("UPDATE users SET disabled = TRUE WHERE username = 'ann2'"))
    for r in (c2.post(nxt), submit(c2, task["id"])):
        assert r.status_code == 401 and "disabled" in r.json()["message"]
    with ws.db.write() as conn:
        conn.execute(text("UPDATE users SET disabled = FALSE WHERE username = 'ann2'"))
        conn.execute(text("UPDATE api_tokens SET revoked = FALSE"))
    assert submit(c2, task["id"]).status_code == 200  # good again: no stale refusal either

    u = ws.add_user("ann3", PASSWORD, role="annotator")
    project.add_member(u, "annotator")
    s = TestClient(app)
    csrf = _login(s, "ann3").json()["csrf_token"]
    task = s.post(nxt, headers={"X-CSRF-Token": csrf}).json()
    assert s.post(nxt, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    with ws.db.write() as conn:  # the session ended in another process (logout there)
        conn.execute(text("DELETE FROM sessions"))
    r = submit(s, task["id"], headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401 and "session has ended" in r.json()["message"]
    with ws.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM annotations")).scalar_one() == 1
