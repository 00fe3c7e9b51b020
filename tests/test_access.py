"""Issue 12: HEAD on every GET page answers 200 (not 405), and the access log: one line per
request, user when known, never a token, cookie or query string."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.domain.models import User
from truelabel.server.app import create_app
from truelabel.server.limits import EdgeSettings


@pytest.mark.parametrize("path", ["/login", "/", "/p/support/label", "/api/schema.json",
                                  "/static/js/api.js"])
def test_head_answers_like_get_without_a_body(app: Any, users: Any, path: str) -> None:
    c = TestClient(app)
    get, head = c.get(path, follow_redirects=False), c.head(path, follow_redirects=False)
    assert head.status_code == get.status_code != 405
    assert head.content == b""
    assert head.headers.get("content-type") == get.headers.get("content-type")
    if path == "/login":
        assert head.status_code == 200


def test_head_is_refused_where_get_is(app: Any, users: Any) -> None:
    c = TestClient(app)
    assert c.head("/api/login").status_code == 405  # POST only


@pytest.fixture
def logged(ws: Workspace, caplog: pytest.LogCaptureFixture,
           monkeypatch: pytest.MonkeyPatch) -> TestClient:
    client = TestClient(create_app(ws, edge=EdgeSettings(access_log=True)))
    caplog.set_level(logging.INFO, logger="truelabel.access")
    # caplog listens at the root; the log's own handler writes to stderr
    monkeypatch.setattr(logging.getLogger("truelabel.access"), "propagate", True)
    return client


def test_access_log_one_line_per_request_with_the_user(
        logged: TestClient, ws: Workspace, users: dict[str, User],
        caplog: pytest.LogCaptureFixture) -> None:
    token = ws.create_token(users["ann1"])
    r = logged.post("/api/login", json={"username": "manager", "password": PASSWORD})
    assert r.status_code == 200
    cookie = logged.cookies.get("tl_session")
    logged.get("/api/me")
    logged.get("/api/projects/support?secret=hunter2&token=abc",
               headers={"Authorization": f"Bearer {token}"})
    nxt = logged.post("/api/projects/support/tasks/next",  # the hot loop answers it
                      headers={"Authorization": f"Bearer {token}"})
    assert nxt.status_code == 200
    logged.cookies.clear()
    logged.head("/login")
    logged.get("/nowhere")
    lines = [r.getMessage() for r in caplog.records if r.name == "truelabel.access"]
    assert len(lines) == 6, lines
    login, me, proj, loop, head, missing = (line.split() for line in lines)
    assert loop[:3] == ["POST", "/api/projects/support/tasks/next", "200"] and loop[4] == "ann1"
    assert login[:3] == ["POST", "/api/login", "200"] and login[4] == "-"
    assert me[:3] == ["GET", "/api/me", "200"] and me[4] == "manager"
    assert proj[:3] == ["GET", "/api/projects/support", "200"] and proj[4] == "ann1"
    assert head[:3] == ["HEAD", "/login", "200"] and head[4] == "-"
    assert missing[:3] == ["GET", "/nowhere", "404"]
    assert all(x[3].endswith("ms") and float(x[3][:-2]) >= 0 for x in (login, me, proj))
    text = "\n".join(lines)
    for secret in (token, cookie or "no-cookie", PASSWORD, "hunter2", "abc", "?"):
        assert secret not in text


def test_access_log_is_off_unless_asked(ws: Workspace, users: Any,
                                        caplog: pytest.LogCaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(create_app(ws))
    caplog.set_level(logging.INFO, logger="truelabel.access")
    monkeypatch.setattr(logging.getLogger("truelabel.access"), "propagate", True)
    client.get("/login")
    assert not [r for r in caplog.records if r.name == "truelabel.access"]


@pytest.mark.parametrize(("args", "env", "expected"), [
    ([], {}, True), (["--no-access-log"], {}, False), ([], {"TRUELABEL_ACCESS_LOG": "0"}, False),
])
def test_serve_turns_the_access_log_on_by_default(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str],
        expected: bool) -> None:
    import truelabel.server.run as run_mod
    from truelabel.cli.main import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(run_mod, "serve", lambda ws, **kw: seen.update(kw))
    r = CliRunner().invoke(main, ["serve", ws.location, *args], env=env)
    assert r.exit_code == 0, r.output
    assert seen["edge"].access_log is expected
