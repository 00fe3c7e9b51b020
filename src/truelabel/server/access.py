"""What every HTTP request passes first: ``HEAD`` answered as ``GET`` without a body, and the
access log.

The access log is one line per request on the ``truelabel.access`` logger::

    GET /p/support/label 200 4.1ms ann
    POST /api/login 401 182.0ms -

method, path (never the query string: it may carry a secret), status, duration and the user
when the request was authenticated (``-`` otherwise). Tokens, cookies and bodies are never
written. ``truelabel serve`` turns it on (``--no-access-log`` or ``TRUELABEL_ACCESS_LOG=0``
turn it off) and writes it to standard error.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any
from urllib.parse import quote

log = logging.getLogger("truelabel.access")


class HeadAsGet:
    """A ``HEAD`` request runs the ``GET`` route and is answered with its status and headers
    but no body (HTTP requires ``HEAD`` wherever ``GET`` is served; monitors and link
    checkers send it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def no_body(message: Any) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, no_body)


class AccessLog:
    """Writes the access-log line of every HTTP request (see the module)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the routes' request.state: who called
        status = 500
        start = time.perf_counter()

        async def seen(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            user = state.get("user")
            log.info("%s %s %d %.1fms %s", scope["method"],
                     quote(scope["path"], safe="/:@-._~!$&'()*+,;=%"), status,
                     (time.perf_counter() - start) * 1000,
                     getattr(user, "username", None) or "-")


def enable_access_log() -> None:
    """Write the access log to standard error (once per process, however often called)."""
    if any(getattr(h, "_truelabel", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    handler._truelabel = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
