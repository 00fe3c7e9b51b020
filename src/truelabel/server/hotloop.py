"""The annotators' loop (next task, submit) answered without the web framework's machinery.

Next and submit are most of a team's requests, and each is one short database statement;
FastAPI's routing, dependency solving, body validation and middleware layers cost more CPU
than that statement (``docs/architecture.md`` has the figures). :class:`HotLoop` is the
outermost layer of the app (``app._App.build_middleware_stack``) and answers the common
case of those two routes itself:

* same core calls (:func:`.api.tasks.loop_next`, :func:`.api.tasks.loop_submit`), same
  credential and CSRF check (:func:`.auth.loop_credential`), same errors
  (:func:`.errors.error_response`), same JSON, same security headers
  (:data:`.headers.API_HEADERS`);
* anything it does not handle exactly as the route would — no credential, a body that is
  not plainly valid, an id past 64 bits, a mounted app — goes on, unchanged, through the
  middleware to the documented FastAPI route, so every refusal keeps the route's answer.

The loop itself is specified in ``docs/loop.md``. The routes stay in the OpenAPI spec and
stay the reference: ``tests/test_hotloop.py`` sends the same requests to an app with and
without this layer and compares the answers.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import cookie_parser

from .api.tasks import SubmitIn, annotation_dict, loop_next, loop_submit, task_dict
from .asgi import is_json, read_body, replay, request_headers
from .auth import CSRF_HEADER, SESSION_COOKIE, loop_credential
from .errors import error_response
from .headers import API_HEADERS, SecurityHeaders

_NEXT = re.compile(r"/api/projects/([^/]+)/tasks/next")
_SUBMIT = re.compile(r"/api/projects/([^/]+)/tasks/([0-9]{1,18})/submit")  # < 2**63
_CSRF = CSRF_HEADER.encode()
_JSON = [(b"content-type", b"application/json")]
_HAND_ON = object()  # not answered here: the route answers


class HotLoop:
    """Plain ASGI middleware: see the module's docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        nxt = sub = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            if path.endswith("/next"):
                nxt = _NEXT.fullmatch(path)
            elif path.endswith("/submit"):
                sub = _SUBMIT.fullmatch(path)
        if nxt is None and sub is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:  # the client went away
            return
        headers = request_headers(scope)
        state = scope["app"].state
        out: Any = _HAND_ON
        try:
            if nxt is not None:
                # a JSON body with escapes: the strict-JSON check; no credential: the 401
                found = None if b"\\u" in body and is_json(headers) else _credential(state, headers)
                if found is not None:
                    task = await loop_next(state, nxt[1], *found)
                    out = None if task is None else task_dict(task)
            elif sub is not None:
                checked = _submit_body(headers, body)
                found = _credential(state, headers) if checked is not None else None
                if checked is not None and found is not None:
                    out = annotation_dict(
                        await loop_submit(state, sub[1], int(sub[2]), checked, *found))
        except Exception as exc:  # noqa: BLE001 - answered as the app's handlers answer
            await SecurityHeaders(error_response(exc))(scope, replay(body), send)
            return
        if out is _HAND_ON:
            await self.app(scope, replay(body), send)  # the route answers (401, 422…)
        else:
            if found is not None:  # who it was, for the access log
                scope.setdefault("state", {})["user"] = found[0]
            await _send_json(send, out)


def _credential(state: Any, headers: dict[bytes, bytes]) -> Any:
    cookie = headers.get(b"cookie")
    session = cookie_parser(cookie.decode("latin-1")).get(SESSION_COOKIE) if cookie else None
    return loop_credential(
        state.workspace,
        headers.get(b"authorization", b"").decode("latin-1"),
        session,
        headers.get(_CSRF, b"").decode("latin-1"),
    )


def _submit_body(headers: dict[bytes, bytes], body: bytes) -> SubmitIn | None:
    """The submit body if it is plainly valid JSON of the documented shape; None for
    anything the route's own validation should judge (and word the refusal for)."""
    if headers.get(b"content-type", b"").split(b";")[0].strip() != b"application/json":
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    value, key = data.get("value"), data.get("idempotency_key")
    spent = data.get("time_spent_ms")
    if (type(value) is not dict or type(key) is not str or not 1 <= len(key) <= 100
            or not (spent is None or (type(spent) is int and spent >= 0))):
        return None
    return SubmitIn.model_construct(value=value, idempotency_key=key, time_spent_ms=spent)


async def _send_json(send: Any, body: dict[str, Any] | None) -> None:
    """200 with ``body`` as JSON, or 204 for None."""
    if body is None:
        await send({"type": "http.response.start", "status": 204, "headers": API_HEADERS})
        await send({"type": "http.response.body", "body": b""})
        return
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [*_JSON, (b"content-length", str(len(data)).encode()), *API_HEADERS]})
    await send({"type": "http.response.body", "body": data})
