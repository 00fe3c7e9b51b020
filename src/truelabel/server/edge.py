"""The outermost layer of the app: checks that cost one look at the headers, before any
other layer reads a byte of the body.

* **Host** — a name not in :attr:`.EdgeSettings.allowed_hosts` gets 400 (DNS rebinding).
* **Body size** — each request has a limit by kind of route (:meth:`Edge.limit_for`): a
  login, an upload, a project's settings (schema and guidelines), anything else (JSON). A
  declared ``Content-Length`` over it gets 413 at once, unread (the server frames the body by
  that length, so it cannot be longer); a body without one (chunked) is counted as it
  streams, and the request is answered 413 the moment it passes the limit — whatever layer
  was reading it sees the client leave, and its answer is replaced. A 413 leaves the
  connection open (closing it with unread data would reset it and lose the answer).
* **Uploads** and project settings are read only for an authenticated caller: anonymous
  ones get the route's own 401 (or 403 for a cookie without its CSRF token) before their
  body is touched; an upload route then streams the file to disk under the limit.

The hot loop's requests pay one pass over the header list and a few string comparisons.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from truelabel.core import MAX_MEDIA_BYTES
from truelabel.domain.limits import MAX_GUIDELINES_BYTES, MAX_SCHEMA_BYTES

from .auth import authenticate
from .errors import error, error_response
from .headers import SecurityHeaders
from .hosts import host_name
from .limits import MULTIPART_SLACK, EdgeSettings, format_size

#: Upload routes (``POST /api/projects/{project}/<last segment>``) and their own cap on the
#: file (None: ``max_upload_body``). Gold files are capped at 256 MiB, media at 100 MiB by
#: their routes; refusing larger bodies here spares the disk the spooled copy.
UPLOAD_ROUTES: dict[str, int | None] = {
    "imports": None,
    "gold": 256 << 20,
    "media": MAX_MEDIA_BYTES,
}
_LOGIN = "/api/login"
_PROJECTS = "/api/projects/"
#: Creating a project or changing its schema or guidelines (``POST /api/projects``,
#: ``PATCH /api/projects/{project}``) may carry a schema and guidelines as large as
#: ``domain.limits`` allows, as JSON strings (escaping at most doubles them); like uploads,
#: such bodies are read only from an authenticated caller.
PROJECT_BODY = 2 * (MAX_SCHEMA_BYTES + MAX_GUIDELINES_BYTES) + (64 << 10)

_WHAT = {
    "json": ("for a request to this API",
             "Send less per request (split the work into several requests); an admin can raise "
             "the limit with `truelabel serve --max-json-body`."),
    "login": ("for a login", "Send only a user name and a password."),
    "project": ("for a project's settings, schema and guidelines",
                "Shorten the schema or the guidelines (see `truelabel.domain.limits`)."),
    "upload": ("for an upload to this endpoint",
               "Import larger files with the command line (`truelabel import`); an admin can "
               "raise the limit with `truelabel serve --max-upload-body`."),
}


class Edge:
    """Plain ASGI middleware: see the module's docstring."""

    def __init__(self, app: Any, settings: EdgeSettings) -> None:
        self.app = app
        self.settings = settings
        self.hosts = settings.allowed_hosts
        self._uploads = {
            name: (min(cap, settings.max_upload_body) if cap else settings.max_upload_body)
            + MULTIPART_SLACK
            for name, cap in UPLOAD_ROUTES.items()
        }

    def limit_for(self, method: str, path: str) -> tuple[int, str]:
        """The body limit of a request and its kind (``json``, ``login``, ``project`` or
        ``upload``)."""
        if path == _LOGIN:
            return self.settings.max_login_body, "login"
        if (method == "POST" and path == "/api/projects") or (
                method == "PATCH" and path.startswith(_PROJECTS)
                and path.count("/") == 3 and len(path) > len(_PROJECTS)):
            return max(PROJECT_BODY, self.settings.max_json_body), "project"
        if method == "POST" and path.startswith(_PROJECTS):
            head, _, last = path.rpartition("/")
            cap = self._uploads.get(last)
            if cap is not None and head.count("/") == 3 and len(head) > len(_PROJECTS):
                return cap, "upload"
        return self.settings.max_json_body, "json"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = length = chunked = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = host if host is not None else v
            elif k == b"content-length":
                length = v
            elif k == b"transfer-encoding":
                chunked = v
        if self.hosts is not None and not self.hosts.allows(host):
            await _answer(_bad_host(host), scope, receive, send)
            return
        limit, kind = self.limit_for(scope["method"], scope["path"])
        declared: int | None = None
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
        if declared is not None and declared > limit:
            await _answer(_too_large(limit, kind), scope, receive, send)
            return
        if kind in ("upload", "project"):
            refused = await _authenticate(scope)
            if refused is not None:
                await _answer(refused, scope, receive, send)
                return
        if declared is not None or (chunked is None and length is None):
            await self.app(scope, receive, send)  # framed by its length: at most ``limit``
            return
        await _Counted(self.app, limit, kind)(scope, receive, send)


class _Counted:
    """Runs the app on a body of unknown length, counting it; past ``limit`` the app sees
    the client leave, its answer is dropped, and the client gets the 413."""

    def __init__(self, app: Any, limit: int, kind: str) -> None:
        self.app, self.limit, self.kind = app, limit, kind
        self.read = 0
        self.over = self.started = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            if self.over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
                if self.read > self.limit:
                    self.over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Any) -> None:
            if self.over and not self.started:
                return  # the app's answer to a "disconnect"; ours follows
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not self.over:
                raise
        if self.over and not self.started:
            await _answer(_too_large(self.limit, self.kind), scope, receive, send)


async def _authenticate(scope: Any) -> Response | None:
    """None if the caller is authenticated (the route reuses the user looked up here),
    else the answer the route would give: 401, or 403 for a missing CSRF token."""
    try:
        await run_in_threadpool(authenticate, Request(scope))
    except Exception as exc:  # noqa: BLE001 - answered as the app's handlers answer
        return error_response(exc)
    return None


async def _answer(response: Response, scope: Any, receive: Any, send: Any) -> None:
    await SecurityHeaders(response)(scope, receive, send)


def _too_large(limit: int, kind: str) -> Response:
    what, todo = _WHAT[kind]
    shown = limit - MULTIPART_SLACK if kind == "upload" else limit  # the file's limit
    response = error(
        413, "body_too_large",
        f"The request body is larger than {format_size(shown)}, the limit {what}. {todo}",
        {"limit_bytes": limit},
    )
    return response


def _bad_host(raw: bytes | None) -> Response:
    name = host_name(raw.decode("latin-1"))[:100] if raw is not None else ""
    said = f"the host name {name!r}" if name else "a request without a Host header"
    return error(
        400, "host_not_allowed",
        f"This server does not answer to {said}. Open it by the name its admin gave it; "
        "an admin can add a name with `truelabel serve --allowed-hosts` "
        "(or TRUELABEL_ALLOWED_HOSTS).",
    )
