"""Admin pages (the audit log, workspace settings, users), a project's "Manage" page and the
user's own API tokens page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..auth import optional_user
from .routes import _project_page, _render, _to_login

router = APIRouter(include_in_schema=False)


def _admin_page(request: Request, template: str, page: str) -> Response:
    user = optional_user(request)
    if user is None:
        return _to_login(request)
    if not user.is_admin:
        return _render(request, "forbidden.html", page="shell", user=user, status_code=403)
    return _render(request, template, page=page, user=user)


@router.get("/admin/audit")
def audit_page(request: Request) -> Response:
    return _admin_page(request, "audit.html", "audit")


@router.get("/admin/settings")
def settings_page(request: Request) -> Response:
    return _admin_page(request, "settings.html", "settings")


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    """Users (admins): add, disable/enable, reset a password (``pages/users.js``)."""
    return _admin_page(request, "users.html", "users")


@router.get("/p/{name}/manage")
def manage_page(request: Request, name: str) -> Response:
    """A project's settings in tabs (``pages/manage.js`` and ``pages/manage/*.js``)."""
    return _project_page(request, name, "manage.html", "manage", need="project.edit")


@router.get("/me/tokens")
def tokens_page(request: Request) -> Response:
    """The logged-in user's API tokens (list, create, revoke: ``static/js/pages/tokens.js``)."""
    user = optional_user(request)
    if user is None:
        return _to_login(request)
    return _render(request, "tokens.html", page="tokens", user=user)
