"""HTML page shells. Data comes from the JSON API via ES modules; no inline script.

Each page is a small Jinja2 template naming one entry module under ``static/js/pages/``.
The shell carries only what the module needs to start (project name, role flags, the CSRF
token); everything a user typed is fetched as JSON and rendered with ``textContent``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from truelabel import __version__
from truelabel.core import DEFAULT_METHOD, Workspace, truth_method_names
from truelabel.domain.errors import NotFound
from truelabel.domain.models import User
from truelabel.domain.roles import role_allows

from ..auth import optional_user
from .redirects import safe_next

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

router = APIRouter(include_in_schema=False)


@cache
def _templates() -> Jinja2Templates:
    # Built on first use, not at import time.
    return Jinja2Templates(directory=str(TEMPLATES))


def _render(request: Request, template: str, *, page: str, user: User | None = None,
            status_code: int = 200, **context: Any) -> HTMLResponse:
    ctx = {"page": page, "user": user, "version": __version__,
           "csrf": getattr(request.state, "csrf", None), **context}
    response = _templates().TemplateResponse(request, template, ctx, status_code=status_code)
    # Pages carry the session's CSRF token: never serve one from a cache after a re-login.
    response.headers["cache-control"] = "no-store"
    return response


def _to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


#: What each role may see and do on the project pages (links, buttons, forms).
PAGE_FLAGS = {
    "can_import": "items.import",
    "can_export": "annotations.export",
    "can_review": "review.work",
    "can_adjudicate": "quality.adjudicate",
    "can_quality": "quality.read",
    "can_aggregate": "quality.aggregate",
    "can_signoff": "quality.signoff",
    "can_edit": "project.edit",
    "can_jobs": "jobs.read",
    "can_assign": "items.assign",
    "can_answers": "annotations.read",
    "can_delete": "project.edit",
}


def _project_page(request: Request, name: str, template: str, page: str,
                  need: str | None = None, **extra: Any) -> Response:
    user = optional_user(request)
    if user is None:
        return _to_login(request)
    ws: Workspace = request.app.state.workspace
    try:
        project = ws.project(name, actor=user)
    except NotFound as exc:
        return _render(request, "not_found.html", page="shell", user=user, status_code=404,
                       message=exc.message)
    role = project.role_of(user)
    if role is None:  # visible projects always give a role; be safe anyway
        return _render(request, "not_found.html", page="shell", user=user, status_code=404,
                       message="No such project. Ask a manager to add you to it.")
    flags = {k: role_allows(role, perm) for k, perm in PAGE_FLAGS.items()}
    if need is not None and not role_allows(role, need):
        return _render(request, "forbidden.html", page="shell", user=user, status_code=403,
                       message=f"Your role in this project ({role.value}) may not open this "
                       "page. Ask a manager if you need it.", project_name=project.name)
    return _render(request, template, page=page, user=user, project_name=project.name,
                   role=role.value, **flags, **extra)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    target = safe_next(next)
    if optional_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _render(request, "login.html", page="login", next=target)


@router.get("/", response_class=HTMLResponse)
def projects_page(request: Request) -> Response:
    user = optional_user(request)
    if user is None:
        return _to_login(request)
    return _render(request, "projects.html", page="projects", user=user)


@router.get("/p/{name}", response_class=HTMLResponse)
def browse_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "browse.html", "browse")


@router.get("/p/{name}/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, name: str, item_id: str) -> Response:
    # a non-number is an item that is not there (the page says so), after the project check
    number = int(item_id) if item_id.isascii() and item_id.isdecimal() else 0
    return _project_page(request, name, "item.html", "item", item_id=number)


@router.get("/p/{name}/label", response_class=HTMLResponse)
def label_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "label.html", "label")


@router.get("/p/{name}/review", response_class=HTMLResponse)
def review_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "review.html", "review", need="review.work")


@router.get("/p/{name}/adjudicate", response_class=HTMLResponse)
def adjudicate_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "adjudicate.html", "adjudicate",
                         need="quality.adjudicate")


@router.get("/p/{name}/quality", response_class=HTMLResponse)
def quality_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "quality.html", "quality", need="quality.read",
                         truth_methods=truth_method_names(), default_method=DEFAULT_METHOD)


@router.get("/p/{name}/work", response_class=HTMLResponse)
def work_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "work.html", "work", need="task.work")


@router.get("/p/{name}/questions", response_class=HTMLResponse)
def questions_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "questions.html", "questions",
                         need="quality.adjudicate")


@router.get("/p/{name}/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "jobs.html", "jobs", need="jobs.read")


@router.get("/p/{name}/team", response_class=HTMLResponse)
def team_page(request: Request, name: str) -> Response:
    return _project_page(request, name, "team.html", "team", need="quality.read")
