"""Who is calling: API token (``Authorization: Bearer``) or session cookie (+ CSRF on writes).

A token's scope is enforced here, in :func:`check_scope`, for every route and the hot loop
alike: ``read`` tokens may only use safe methods; ``annotate`` tokens also the annotators'
loop (routes marked :data:`LOOP`); ``manage`` tokens (and sessions) whatever the user's role allows.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request

from truelabel.core import Workspace
from truelabel.domain.errors import AuthError, Forbidden
from truelabel.domain.models import Credential, User
from truelabel.domain.roles import TokenScope

SESSION_COOKIE = "tl_session"
CSRF_HEADER = "x-csrf-token"
_SAFE = {"GET", "HEAD", "OPTIONS"}
#: marks the annotators' loop's routes (next, draft, submit, skip, undo: ``openapi_extra``), the
#: writes an ``annotate`` token may make; the OpenAPI spec shows it on each
LOOP: dict[str, Any] = {"x-token-scope": "annotate"}


def check_scope(scope: TokenScope, method: str, loop: bool) -> None:
    """Forbidden unless a token of ``scope`` may make this request (``loop``: the route is
    one of the annotators' loop's, marked with :data:`LOOP`)."""
    if scope is TokenScope.MANAGE or method in _SAFE:
        return
    if scope is TokenScope.ANNOTATE and loop:
        return
    allowed = ("reads and the annotators' loop (next, draft, submit, skip, undo)"
               if scope is TokenScope.ANNOTATE else "reads (GET)")
    raise Forbidden(f"This API token's scope ({scope.value}) allows only {allowed}; use a "
                    "token with a wider scope (manage) or log in.", scope=scope.value)


async def current_user(request: Request) -> User:
    """FastAPI dependency: resolved on the event loop (one indexed lookup), no thread hop."""
    return authenticate(request)


def authenticate(request: Request) -> User:
    """The authenticated user, or 401. Cookie-authenticated writes need the CSRF header."""
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    ws: Workspace = request.app.state.workspace
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user, scope = ws.token_login(auth[7:].strip())
        extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
        check_scope(scope, request.method, extra.get("x-token-scope") == "annotate")
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise AuthError(
                "Log in first (session cookie) or send 'Authorization: Bearer <token>'."
            )
        user, csrf = ws.session_user(token)
        _check_csrf(request, csrf)
    request.state.user = user
    return user


def _check_csrf(request: Request, csrf: str) -> None:
    """Cookie-authenticated writes carry the session's CSRF token in a header."""
    if request.method not in _SAFE:
        csrf_matches(request.headers.get(CSRF_HEADER, ""), csrf)
    request.state.csrf = csrf


def csrf_matches(sent: str, csrf: str) -> None:
    if not hmac.compare_digest(sent, csrf):
        raise Forbidden("Missing or wrong CSRF token; reload the page and try again.")


def loop_credential(
    ws: Workspace, authorization: str, session: str | None, csrf_sent: str
) -> tuple[User, Credential] | None:
    """Who is calling one of the annotators' loop's writes (next task, submit), from the
    ``Authorization`` header, the session cookie and the CSRF header; None when the request
    carries no credential at all.

    A credential this process has seen is not looked up again here: the caller passes it
    to the core method, whose first statement checks it again, so a revoked token, an ended
    session or a disabled account fails on its very next request all the same."""
    if authorization.lower().startswith("bearer "):
        user, _, cred, scope = ws.seen_credential("token", authorization[7:].strip())
        check_scope(scope, "POST", True)  # next and submit: writes of the loop
        return user, cred
    if not session:
        return None
    user, csrf, cred, _ = ws.seen_credential("session", session)
    csrf_matches(csrf_sent, csrf)
    return user, cred


async def task_user(request: Request) -> User:
    """``current_user`` for the annotators' loop (see :func:`loop_credential`); the route
    passes ``request.state.credential`` on to the core method."""
    found = loop_credential(
        request.app.state.workspace,
        request.headers.get("authorization", ""),
        request.cookies.get(SESSION_COOKIE),
        request.headers.get(CSRF_HEADER, ""),
    )
    if found is None:
        request.state.credential = None
        return authenticate(request)  # the same 401
    request.state.user, request.state.credential = found
    return found[0]


def optional_user(request: Request) -> User | None:
    try:
        return authenticate(request)
    except (AuthError, Forbidden):
        return None
