"""The hot loop (server/hotloop.py) answers next and submit exactly as the documented routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.domain.models import User
from truelabel.server.app import create_app


def _answer(r: Any) -> tuple[int, dict[str, str], Any]:
    body = r.json() if r.content else None
    return r.status_code, dict(r.headers), body


@pytest.fixture
def both(ws: Workspace, users: dict[str, User]) -> tuple[Any, Any]:
    return create_app(ws), create_app(ws, hot_loop=False)


def _pair(apps: tuple[Any, Any], **headers: str) -> tuple[TestClient, TestClient]:
    return TestClient(apps[0], headers=headers), TestClient(apps[1], headers=headers)


def test_refusals_are_the_routes_own(
    ws: Workspace, users: dict[str, User], both: tuple[Any, Any]
) -> None:
    ws.add_user("outsider", PASSWORD, role="annotator")
    bearer = {"Authorization": f"Bearer {ws.create_token(users['ann1'])}"}
    leased = TestClient(both[1], headers=bearer).post("/api/projects/support/tasks/next")
    tid = leased.json()["id"]
    url = f"/api/projects/support/tasks/{tid}/submit"
    ok = {"value": {"intent": "refund"}, "idempotency_key": "k1"}
    as_json = {"content-type": "application/json"}
    cases: list[tuple[dict[str, str], str, dict[str, Any]]] = [
        ({}, "/api/projects/support/tasks/next", {}),
        ({"Authorization": "Bearer tl_not-a-token"}, "/api/projects/support/tasks/next", {}),
        ({"Authorization": "Basic abc"}, "/api/projects/support/tasks/next", {}),
        ({"Authorization": f"Bearer {ws.create_token(ws.get_user('outsider'))}"},
         "/api/projects/support/tasks/next", {}),
        (bearer, "/api/projects/nosuch/tasks/next", {}),
        (bearer, "/api/projects/999/tasks/next", {}),
        ({}, url, {"json": ok}),
        (bearer, url, {"json": {"value": {"intent": "refund"}}}),
        (bearer, url, {"json": {"value": ["refund"], "idempotency_key": "k"}}),
        (bearer, url, {"json": {"value": {}, "idempotency_key": ""}}),
        (bearer, url, {"json": {"value": {}, "idempotency_key": "k" * 101}}),
        (bearer, url, {"json": {**ok, "time_spent_ms": -1}}),
        (bearer, url, {"json": {**ok, "time_spent_ms": "soon", "idempotency_key": "k2"}}),
        (bearer, url, {"json": {"value": {"intent": "billing"}, "idempotency_key": "k3"}}),
        (bearer, url, {"json": [ok]}),
        (bearer, url, {"content": b"{not json", "headers": as_json}),
        (bearer, url, {"content": b'{"value": NaN}', "headers": as_json}),
        (bearer, url, {"content": b"value=1", "headers": {"content-type": "text/plain"}}),
        (bearer, url, {"content": b'{"value": {}, "idempotency_key": "\\ud800"}',
                       "headers": as_json}),
        (bearer, "/api/projects/support/tasks/next", {"content": b'{"a": "\\ud800"}',
                                                       "headers": as_json}),
        ({"Authorization": "Bearer tl_bad"}, "/api/projects/support/tasks/next",
         {"content": b'{"a": "\\udfff"}', "headers": as_json}),
        (bearer, "/api/projects/support/tasks/99999999/submit", {"json": ok}),
        (bearer, f"/api/projects/support/tasks/{10**30}/submit", {"json": ok}),
        (bearer, "/api/projects/support/tasks/-1/submit", {"json": ok}),
    ]
    for headers, path, kw in cases:
        hot, plain = _pair(both, **headers)
        a, b = _answer(hot.post(path, **kw)), _answer(plain.post(path, **kw))
        assert a[0] >= 400, (path, kw, a)
        assert a == b, (headers, path, kw)
    # nothing was stored by any of them: the lease is still open, with no annotation
    assert ws.project("support").annotations(leased.json()["item_id"], current_only=False) == []
    hot, plain = _pair(both, **bearer)
    slash = "/api/projects/support/tasks/next/"  # redirected by the router, then served
    assert _answer(hot.post(slash)) == _answer(plain.post(slash))
    assert hot.post(slash).json()["id"] == tid


def test_session_cookie_and_csrf_as_the_route(
    ws: Workspace, users: dict[str, User], both: tuple[Any, Any]
) -> None:
    hot, plain = TestClient(both[0]), TestClient(both[1])
    login = plain.post("/api/login", json={"username": "ann2", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    hot.cookies.update(plain.cookies)
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        a = _answer(hot.post("/api/projects/support/tasks/next", headers=headers))
        b = _answer(plain.post("/api/projects/support/tasks/next", headers=headers))
        assert a[0] == 403 and a == b
    a = _answer(hot.post("/api/projects/support/tasks/next", headers={"X-CSRF-Token": csrf}))
    b = _answer(plain.post("/api/projects/support/tasks/next", headers={"X-CSRF-Token": csrf}))
    assert a[0] == 200 and a == b  # the same open lease, the same bytes


def test_success_answers_match(
    ws: Workspace, users: dict[str, User], both: tuple[Any, Any]
) -> None:
    bearer = {"Authorization": f"Bearer {ws.create_token(users['ann1'])}"}
    hot, plain = _pair(both, **bearer)
    a, b = _answer(hot.post("/api/projects/support/tasks/next")), _answer(
        plain.post("/api/projects/support/tasks/next"))
    assert a[0] == 200 and a == b
    url = f"/api/projects/support/tasks/{a[2]['id']}/submit"
    body = {"value": {"intent": "refund"}, "idempotency_key": "same", "time_spent_ms": 1200}
    first, replay = _answer(hot.post(url, json=body)), _answer(plain.post(url, json=body))
    assert first[0] == replay[0] == 200 and replay[2]["replayed"] is True
    assert {**first[2], "replayed": True} == replay[2]
    assert _answer(hot.post(url, json=body))[2] == replay[2]  # and the hot loop replays too
    assert len(ws.project("support").annotations(a[2]["item_id"], current_only=False)) == 1


def test_the_hot_loop_carries_the_loop(ws: Workspace, users: dict[str, User]) -> None:
    """Without the two routes behind it, next and submit still work: the hot loop, not the
    framework, answered them."""
    app = create_app(ws)
    app.router.routes[:] = [
        r for r in app.router.routes
        if getattr(r, "path", "") not in ("/api/projects/{project}/tasks/next",
                                          "/api/projects/{project}/tasks/{task_id}/submit")
    ]
    c = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(users['ann1'])}"})
    task = c.post("/api/projects/support/tasks/next").json()
    r = c.post(f"/api/projects/support/tasks/{task['id']}/submit",
               json={"value": {"intent": "refund"}, "idempotency_key": "x"})
    assert r.status_code == 200 and r.json()["item_id"] == task["item_id"]
