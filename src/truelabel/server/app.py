"""The ASGI app: JSON API under ``/api``, HTML page shells, static ES modules.

Build it with :func:`create_app` (nothing happens at import time).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from truelabel import __version__
from truelabel.core import Workspace
from truelabel.domain.errors import TruelabelError

from .access import AccessLog, HeadAsGet, enable_access_log
from .api import admin, manage, projects, quality, remote, tasks, team, users, work
from .api import browse as browse_routes
from .api import jobs as job_routes
from .asgi import is_json, read_body, replay, request_headers
from .edge import Edge
from .errors import error, error_response
from .headers import SecurityHeaders
from .hotloop import HotLoop
from .jobs import JobRunner
from .limits import EdgeSettings
from .pages import admin as admin_pages
from .pages import api_docs
from .pages import plugins as plugin_pages
from .pages import routes as pages

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("truelabel.server")

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "message": {"type": "string", "description": "what happened and what to do"},
        "detail": {"type": "object", "description": "fields, lines, retry hints…"},
    },
}


class StrictJSON:
    """Refuse JSON bodies that are not valid UTF-8 text (e.g. lone surrogate escapes such as
    ``"\\ud800"``, which Python's json accepts but no database or JSON writer can store)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_json(request_headers(scope)):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body and b"\\u" in body:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                if "surrogate" in str(exc) or "UTF-8" in str(exc):
                    response = error(422, "invalid_input", "The request holds text that is not "
                                      "valid Unicode (a lone surrogate escape); send UTF-8 text.")
                    await response(scope, receive, send)
                    return
        await self.app(scope, replay(body), send)


class _App(FastAPI):
    hot_loop = True
    edge = EdgeSettings()

    def build_middleware_stack(self) -> Any:
        """Outside Starlette's own stack, from the outermost: the edge checks (host, body
        size, upload authentication: ``server/edge.py``), the hot loop
        (``server/hotloop.py``), the security headers — outside the server-error layer, so
        a 500 carries them too. Outside them all, ``HEAD`` as ``GET`` and the access log
        (``server/access.py``)."""
        stack = SecurityHeaders(super().build_middleware_stack())
        outer = HeadAsGet(Edge(HotLoop(stack) if self.hot_loop else stack, self.edge))
        return AccessLog(outer) if self.edge.access_log else outer


def create_app(
    workspace: Workspace, *, hot_loop: bool = True, edge: EdgeSettings | None = None
) -> FastAPI:
    """The web app over one workspace.

    Args:
        workspace: the workspace it serves.
        hot_loop: False leaves the hot loop out (the tests compare its answers with the
            routes').
        edge: body limits and allowed host names (:class:`.limits.EdgeSettings`); the
            default limits, and any Host name (``truelabel serve`` always names them).
    """
    app = _App(
        title="truelabel",
        version=__version__,
        description="Label data a team can trust. Every error has the shape "
        '`{"error": code, "message": text, "detail": {...}}`.',
        docs_url=None,  # our own page (pages/api_docs.py): Swagger UI breaks the CSP
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.workspace = workspace
    app.state.jobs = JobRunner(workspace)

    @app.exception_handler(TruelabelError)
    async def _domain_error(_: Request, exc: TruelabelError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return error(
            422, "invalid_input", f"{first['field']}: {first['message']}", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(OverflowError)
    @app.exception_handler(Exception)
    async def _other_error(_: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)

    def openapi() -> dict[str, Any]:
        """The generated spec, with every error documented as the one shape we send."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["Error"] = ERROR_SCHEMA
            ref = {"$ref": "#/components/schemas/Error"}
            for ops in spec.get("paths", {}).values():
                for op in ops.values():
                    responses = op.get("responses", {})
                    if "422" in responses:
                        responses["422"] = {"description": "Invalid input",
                                            "content": {"application/json": {"schema": ref}}}
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.hot_loop = hot_loop
    app.edge = edge or EdgeSettings()
    if app.edge.access_log:
        enable_access_log()
    app.add_middleware(StrictJSON)

    # the annotators' loop first: most requests are theirs, and routes are matched in order
    for r in (tasks.router, work.router, users.router, projects.router, admin.router,
              quality.router, team.router):
        app.include_router(r, prefix="/api")
    app.include_router(remote.router, prefix="/api")
    app.include_router(manage.router, prefix="/api")
    app.include_router(browse_routes.router, prefix="/api")
    app.include_router(job_routes.router, prefix="/api")
    app.include_router(pages.router)
    app.include_router(admin_pages.router)
    app.include_router(api_docs.router)
    app.include_router(plugin_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
