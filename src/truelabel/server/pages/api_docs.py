"""``/api/docs``: the HTTP API reference as a page of this site.

FastAPI's Swagger UI loads its code from a CDN and starts with an inline script, which the
app's CSP (``script-src 'self'``) blocks. This page is one template and one ES module
(``static/js/pages/api_docs.js``) that render ``/api/openapi.json``: nothing is fetched from
elsewhere, and it needs no login (the spec itself is public).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .routes import _render

router = APIRouter(include_in_schema=False)


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return _render(request, "api_docs.html", page="api_docs")
