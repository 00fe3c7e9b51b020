"""The HTTP edge (server/edge.py): body limits per kind of route, uploads read only after
authentication, every answer (413s and 500s too) in the one error shape with the security
headers."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge_client import CHUNK, Answer, call
from helpers import PASSWORD
from truelabel import Workspace
from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import User
from truelabel.server.app import create_app
from truelabel.server.edge import PROJECT_BODY
from truelabel.server.headers import SECURITY_HEADERS
from truelabel.server.limits import (
    MIB,
    MULTIPART_SLACK,
    EdgeSettings,
    format_size,
    parse_size,
)

BIG = 64 * MIB
NEXT = "/api/projects/support/tasks/next"
IMPORTS = "/api/projects/support/imports"
ROUTES = [  # (method, path, kind of route)
    ("POST", NEXT, "json"),
    ("POST", "/api/projects", "project"),
    ("PATCH", "/api/projects/support", "project"),
    ("POST", "/api/login", "login"),
    ("POST", IMPORTS, "upload"),
    ("POST", "/api/projects/support/gold", "upload"),
    ("POST", "/api/projects/support/media", "upload"),
]


def run(coro: Any) -> Any:
    """``asyncio.run`` on a thread of its own (the browser tests leave this one a running
    event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def assert_shaped(a: Answer, status: int, code: str) -> dict[str, Any]:
    assert a.status == status, (a.status, a.body[:300])
    body = a.json()
    assert body["error"] == code and body["message"]
    for k, v in SECURITY_HEADERS.items():
        assert a.headers.get(k) == v, k
    return body


def test_a_declared_oversized_body_is_refused_unread(app: Any, users: dict[str, User],
                                                     ws: Workspace) -> None:
    """Anonymous or not, a Content-Length over the route's limit gets 413 before one byte
    of the body is read, in the one error shape, naming the limit and what to do."""
    token = ws.create_token(users["manager"])
    for method, path, kind in ROUTES:
        for auth in ({}, {"authorization": f"Bearer {token}"}):
            a = run(call(app, method, path, size=BIG * 40, headers=auth))
            body = assert_shaped(a, 413, "body_too_large")
            assert a.pulled == 0, (path, a.pulled)
            limit = body["detail"]["limit_bytes"]
            shown = limit - MULTIPART_SLACK if kind == "upload" else limit
            assert format_size(shown) in body["message"]
            assert {"json": "--max-json-body", "login": "user name", "project": "schema",
                    "upload": "truelabel import"}[kind] in body["message"], body["message"]


def test_a_chunked_oversized_body_is_cut_off_at_the_limit(app: Any, users: dict[str, User],
                                                          ws: Workspace) -> None:
    """No Content-Length: the body is counted as it streams, and the request is answered
    413 as soon as it passes the limit (the reader — strict JSON, the hot loop, FastAPI's
    body or form parser — sees the client leave; its own answer is replaced)."""
    token = ws.create_token(users["manager"])
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    for method, path, kind in ROUTES:
        if kind == "upload":
            continue  # anonymous ones are refused unread (below); a small limit: next test
        a = run(call(app, method, path, size=BIG, declare=False, headers=auth))
        assert_shaped(a, 413, "body_too_large")
        limit = PROJECT_BODY if kind == "project" else MIB
        assert a.pulled <= limit + CHUNK, (path, a.pulled)


def test_uploads_are_read_only_after_authentication(ws: Workspace, users: dict[str, User]
                                                    ) -> None:
    """An upload from nobody (or from a cookie without its CSRF token) is answered 401/403
    before its body is read, declared or chunked; an authenticated one is streamed under the
    upload limit (here 1 MiB) and cut off past it."""
    app = create_app(ws, edge=EdgeSettings(max_upload_body="1MiB"))
    form = {"content-type": "multipart/form-data; boundary=xyz"}
    for declare in (True, False):
        a = run(call(app, "POST", IMPORTS, size=1000, declare=declare, headers=form))
        assert_shaped(a, 401, "unauthorized")
        assert a.pulled == 0
        a = run(call(app, "POST", IMPORTS, size=1000, declare=declare,
                     headers={**form, "cookie": "tl_session=not-a-session"}))
        assert a.status == 401 and a.pulled == 0
    c = TestClient(app)
    c.post("/api/login", json={"username": "manager", "password": PASSWORD})
    session = c.cookies["tl_session"]
    a = run(call(app, "POST", IMPORTS, size=1000, headers={**form,
                 "cookie": f"tl_session={session}"}))
    assert_shaped(a, 403, "forbidden")
    assert a.pulled == 0
    token = ws.create_token(users["manager"])
    part = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    a = run(call(app, "POST", IMPORTS, size=BIG, declare=False, prefix=part,
                 headers={**form, "authorization": f"Bearer {token}"}))
    assert_shaped(a, 413, "body_too_large")
    assert a.pulled <= 2 * MIB
    # within the limit an upload still works (declared length, the route's own parsing)
    r = TestClient(app, headers={"authorization": f"Bearer {token}"}).post(
        IMPORTS, files={"file": ("more.jsonl", b'{"id": "u1", "text": "hi"}\n')})
    assert r.status_code == 202, r.text
    job = app.state.jobs.wait(r.json()["id"])  # done before the workspace closes
    assert job.status == "done", job.message


def test_project_settings_are_read_only_after_authentication(
        app: Any, users: dict[str, User], ws: Workspace) -> None:
    """A project's schema and guidelines may be larger than other JSON (up to what
    ``domain.limits`` allows), so, like uploads, they are read only from a logged-in caller:
    nobody's body is answered 401 unread; a manager's 3 MiB of guidelines reaches the route,
    whose own limit answers (422), while 3 MiB elsewhere is 413."""
    for method, path in (("POST", "/api/projects"), ("PATCH", "/api/projects/support")):
        for declare in (True, False):
            a = run(call(app, method, path, size=3 * MIB, declare=declare,
                         headers={"content-type": "application/json"}))
            assert_shaped(a, 401, "unauthorized")
            assert a.pulled == 0, (path, declare)
    c = TestClient(app, headers={"authorization": f"Bearer {ws.create_token(users['admin'])}"})
    r = c.patch("/api/projects/support", json={"guidelines": "x" * (3 * MIB)})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "guidelines", r.text
    r = c.put("/api/projects/support/items/1/gold", json={"value": {"x": "y" * (3 * MIB)}})
    assert r.status_code == 413, r.text


def test_twenty_concurrent_anonymous_bodies_are_answered_without_being_read(
        app: Any, users: dict[str, User]) -> None:
    """20 × 64 MiB at once, to every kind of route, with and without Content-Length: each
    is answered 413 or 401, and the app reads at most the JSON limit of each (1 MiB) —
    not the 1.25 GiB sent. (bench/bench_abuse.py does the same to a real server with
    1 GiB bodies and measures its memory.)"""
    jobs = []
    for i in range(20):
        method, path, _ = ROUTES[i % len(ROUTES)]
        jobs.append(call(app, method, path, size=BIG, declare=i % 2 == 0,
                         headers={"content-type": "application/json"}))

    async def all_of() -> list[Answer]:
        return list(await asyncio.gather(*jobs))

    answers = run(all_of())
    assert sorted({a.status for a in answers}) in ([401, 413], [413])
    for a in answers:
        assert a.json()["error"] in ("body_too_large", "unauthorized")
        assert a.pulled <= MIB + CHUNK
    assert sum(a.pulled for a in answers) <= 20 * (MIB + CHUNK)


def test_limits_are_settings(ws: Workspace, users: dict[str, User]) -> None:
    """Each limit can be set (bytes or a size with a unit); a JSON body over a small limit
    is refused, one under it is served as before."""
    app = create_app(ws, edge=EdgeSettings(max_json_body="2KiB", max_login_body=512))
    token = ws.create_token(users["admin"])
    c = TestClient(app, headers={"authorization": f"Bearer {token}"})
    w = "/api/projects/support/workflow"
    r = c.patch(w, json={"gold_rate": 0.0, "slice_keys": ["x" * 3000]})
    assert r.status_code == 413 and "2 KiB" in r.json()["message"]
    assert c.patch(w, json={"gold_rate": 0.0}).status_code == 200
    r = c.post("/api/login", json={"username": "admin", "password": "p" * 600})
    assert r.status_code == 413 and "512 bytes" in r.json()["message"]
    assert parse_size("4GiB") == 4 << 30 and parse_size("1 mb") == MIB
    assert parse_size(" 512 KiB ") == 512 << 10 and parse_size(10) == 10
    for bad in ("lots", "1.5MiB", "-1", "0", "3 parsecs"):
        with pytest.raises(InvalidInput):
            parse_size(bad)
    env = EdgeSettings.from_env({"TRUELABEL_MAX_JSON_BODY": "2MiB",
                                 "TRUELABEL_ALLOWED_HOSTS": "labels.example.org"})
    assert env.max_json_body == 2 * MIB and env.max_login_body == EdgeSettings().max_login_body
    assert env.allowed_hosts is not None and env.allowed_hosts.allows(b"labels.example.org")
    with pytest.raises(InvalidInput, match="TRUELABEL_MAX_UPLOAD_BODY"):
        EdgeSettings.from_env({"TRUELABEL_MAX_UPLOAD_BODY": "huge"})


def test_unhandled_errors_carry_the_security_headers(ws: Workspace) -> None:
    """A route or a middleware that raises: the 500 is in the one shape and carries the
    CSP, frame-ancestors and nosniff headers like every other answer."""
    app = create_app(ws)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/boom-page")
    def boom_page() -> None:
        raise ValueError("boom")

    class Raising:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope.get("path") == "/raise-in-middleware":
                raise RuntimeError("middleware boom")
            await self.inner(scope, receive, send)

    app.add_middleware(Raising)
    c = TestClient(app, raise_server_exceptions=False)
    for path in ("/api/boom", "/boom-page", "/raise-in-middleware"):
        r = c.get(path)
        assert r.status_code == 500, path
        assert r.json()["error"] == "internal"
        for k, v in SECURITY_HEADERS.items():
            assert r.headers.get(k) == v, (path, k)


ODD_NAMES = [
    "a" * 300 + ".jsonl",  # past the 255 bytes a file name may have
    "é" * 200 + ".jsonl",  # 200 characters, 400 bytes
    "../../" + "b" * 250 + "/c.jsonl",
    "tab\there\x00nul\u202e.jsonl",
    "..",
]


def test_long_or_odd_upload_names_are_imported_under_a_safe_name(
        app: Any, client_for: Any) -> None:
    """A file name of any length or content is fine: the copy on disk has a name of its
    own (keeping only the type suffix), and the name shown is at most 200 characters
    without folders or control characters. (Past 255 bytes it used to be a 500.)"""
    m = client_for("manager")
    for i, name in enumerate(ODD_NAMES):
        data = f'{{"id": "odd{i}", "text": "odd {i}"}}\n'.encode()
        fmt = {"format": "jsonl"} if name == ".." else {}
        r = m.post(IMPORTS, files={"file": (name, data)}, data=fmt)
        assert r.status_code == 202, (name, r.text)
        job = app.state.jobs.wait(r.json()["id"])
        assert m.get(f"/api/jobs/{job.id}").json()["status"] == "done", name
        gold = f'{{"id": "odd{i}", "value": {{"intent": "refund"}}}}\n'.encode()
        r = m.post("/api/projects/support/gold", files={"file": (name, gold)}, data=fmt)
        assert r.status_code == 200, (name, r.text)
        shown = r.json()["source"]
        assert len(shown) <= 200 and "/" not in shown and "\x00" not in shown
        assert "\t" not in shown and "\u202e" not in shown
        assert shown.endswith(".jsonl") or name == ".."
    sources = [b["source"] for b in m.get("/api/projects/support/batches").json()]
    assert all(len(s) <= 200 for s in sources), sources
