"""The ASGI app: JSON API under ``/api``, HTML page shells, static ES modules.

Build it with :func:`create_app` (nothing happens at import time).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from truelabel import __version__
from truelabel.core import Workspace
from truelabel.domain.errors import TruelabelError

from .api import admin, projects, quality, remote, tasks, users
from .jobs import JobRunner
from .pages import admin as admin_pages
from .pages import routes as pages
from .ratelimit import LoginLimiter

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("truelabel.server")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Plain ASGI middleware (no per-request wrapper objects): adds the security headers to
    every response that does not set its own, and ``no-store`` to API answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._base = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._base + ([(b"cache-control", b"no-store")]
                              if scope["path"].startswith("/api/") else [])

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def create_app(workspace: Workspace) -> FastAPI:
    """The web app over one workspace."""
    app = FastAPI(
        title="truelabel",
        version=__version__,
        description="Label data a team can trust. Every error has the shape "
        '`{"error": code, "message": text, "detail": {...}}`.',
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.workspace = workspace
    app.state.jobs = JobRunner()
    app.state.login_limiter = LoginLimiter()

    @app.exception_handler(TruelabelError)
    async def _domain_error(_: Request, exc: TruelabelError) -> JSONResponse:
        headers = {}
        if "retry_after" in exc.detail:
            headers["retry-after"] = str(exc.detail["retry_after"])
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return _error(
            422, "invalid_input", f"{first['field']}: {first['message']}", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # ids and numbers past what the database stores (64-bit): bad input, not a crash
        return _error(422, "invalid_input", "A number in the request is out of range; ids "
                                            "and counts are 64-bit integers.")

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(
            500,
            "internal",
            "Something went wrong on the server; the error is in "
            "its log. Nothing was half-written.",
        )

    app.add_middleware(SecurityHeaders)

    for r in (users.router, projects.router, tasks.router, admin.router, quality.router):
        app.include_router(r, prefix="/api")
    app.include_router(remote.router, prefix="/api")
    app.include_router(pages.router)
    app.include_router(admin_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
