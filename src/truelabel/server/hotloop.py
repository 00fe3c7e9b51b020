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

The routes stay in the OpenAPI spec and stay the reference: ``tests/test_hotloop.py`` sends
the same requests to an app with and without this layer and compares the answers.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import cookie_parser

from .api.tasks import SubmitIn, annotation_dict, loop_next, loop_submit, task_dict
from .auth import CSRF_HEADER, SESSION_COOKIE, loop_credential
from .errors import error_response
from .headers import API_HEADERS, SecurityHeaders

_NEXT = re.compile(r"/api/projects/([^/]+)/tasks/next")
_SUBMIT = re.compile(r"/api/projects/([^/]+)/tasks/([0-9]{1,18})/submit")  # < 2**63
_CSRF = CSRF_HEADER.encode()
_JSON = [(b"content-type", b"application/json")]


class HotLoop:
    """Plain ASGI middleware: see the module's docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.endswith("/next") and (m := _NEXT.fullmatch(path)):
            await self._next(scope, receive, send, m[1])
        elif path.endswith("/submit") and (m := _SUBMIT.fullmatch(path)):
            await self._submit(scope, receive, send, m[1], int(m[2]))
        else:
            await self.app(scope, receive, send)

    async def _next(self, scope: Any, receive: Any, send: Any, ref: str) -> None:
        body = await _read(receive)
        if body is None:  # the client went away
            return
        again = replay([{"type": "http.request", "body": body, "more_body": False}])
        try:
            # a JSON body with escapes: the strict-JSON check; no credential: the route's 401
            found = None if b"\\u" in body and _is_json(scope) else _credential(scope)
            if found is None:
                await self.app(scope, again, send)
                return
            task = await loop_next(scope["app"].state, ref, *found)
        except Exception as exc:  # noqa: BLE001 - answered as the app's handlers answer
            await _send_error(scope, again, send, exc)
            return
        if task is None:
            await send({"type": "http.response.start", "status": 204, "headers": API_HEADERS})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, task_dict(task))

    async def _submit(self, scope: Any, receive: Any, send: Any, ref: str, task_id: int) -> None:
        body = await _read(receive)
        if body is None:  # the client went away
            return
        again = replay([{"type": "http.request", "body": body, "more_body": False}])
        try:
            checked = _submit_body(scope, body)
            found = _credential(scope) if checked is not None else None
            if checked is None or found is None:  # the route answers (401, 422…)
                await self.app(scope, again, send)
                return
            user, cred = found
            annotation = await loop_submit(scope["app"].state, ref, task_id, checked, user, cred)
        except Exception as exc:  # noqa: BLE001 - answered as the app's handlers answer
            await _send_error(scope, again, send, exc)
            return
        await _send_json(send, annotation_dict(annotation))


def _headers(scope: Any) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for k, v in scope["headers"]:
        out.setdefault(k, v)  # the first of a repeated header, as Starlette's ``get``
    return out


def _credential(scope: Any) -> Any:
    headers = _headers(scope)
    cookie = headers.get(b"cookie")
    session = cookie_parser(cookie.decode("latin-1")).get(SESSION_COOKIE) if cookie else None
    return loop_credential(
        scope["app"].state.workspace,
        headers.get(b"authorization", b"").decode("latin-1"),
        session,
        headers.get(_CSRF, b"").decode("latin-1"),
    )


def _is_json(scope: Any) -> bool:
    return b"json" in _headers(scope).get(b"content-type", b"")


def _submit_body(scope: Any, body: bytes) -> SubmitIn | None:
    """The submit body if it is plainly valid JSON of the documented shape; None for
    anything the route's own validation should judge (and word the refusal for)."""
    if _headers(scope).get(b"content-type", b"").split(b";")[0].strip() != b"application/json":
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


async def _read(receive: Any) -> bytes | None:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send_json(send: Any, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [*_JSON, (b"content-length", str(len(data)).encode()), *API_HEADERS]})
    await send({"type": "http.response.body", "body": data})


async def _send_error(scope: Any, receive: Any, send: Any, exc: Exception) -> None:
    await SecurityHeaders(error_response(exc))(scope, receive, send)


def replay(messages: list[Any]) -> Any:
    """A ``receive`` that hands out ``messages`` again, then a disconnect."""
    queue = list(messages)

    async def receive() -> Any:
        if queue:
            return queue.pop(0)
        return {"type": "http.disconnect"}

    return receive
