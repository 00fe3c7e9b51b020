"""Login, logout, the current user, users and API tokens."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from truelabel.domain.errors import AuthError, Forbidden
from truelabel.domain.models import User

from ..auth import SESSION_COOKIE, authenticate, current_user
from .common import workspace

router = APIRouter(tags=["users"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    role: Literal["admin", "manager", "reviewer", "annotator"] = "annotator"
    display_name: str = ""


class TokenIn(BaseModel):
    name: str = Field(default="", max_length=200)
    ttl_seconds: int | None = Field(default=None, ge=60)


def _me(user: User, csrf: str | None = None) -> dict[str, Any]:
    out = {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "display_name": user.display_name,
    }
    if csrf:
        out["csrf_token"] = csrf
    return out


@router.post("/login")
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Check the password and set the session cookie; returns the CSRF token for writes."""
    ws = workspace(request)
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "?"
    limiter.check(address, body.username)
    try:
        user = ws.authenticate(body.username, body.password)
    except AuthError:
        limiter.failed(address, body.username)
        ws.audit_event("login.failed", "user", body.username[:100], actor=None,
                       detail={"address": address})
        raise
    limiter.succeeded(address, body.username)
    token, csrf = ws.create_session(user)
    ws.audit_event("login", "user", user.id, actor=user, detail={"address": address})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=7 * 24 * 3600,
        path="/",
    )
    return _me(user, csrf)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    """End the session. A live session must send its CSRF token (no cross-site logout)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            authenticate(request)  # raises Forbidden without the right CSRF header
        except AuthError:
            pass  # already ended: just clear the cookie
        else:
            workspace(request).end_session(token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me")
def me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return _me(user, getattr(request.state, "csrf", None))


@router.get("/users")
def list_users(request: Request, user: User = Depends(current_user)) -> list[dict[str, Any]]:
    if not user.is_admin:
        raise Forbidden("Only an admin can list users.")
    return workspace(request).list_users()


@router.post("/users", status_code=201)
def add_user(body: UserIn, request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    new = workspace(request).add_user(
        body.username, body.password, role=body.role, display_name=body.display_name, actor=user
    )
    return _me(new)


@router.post("/tokens", status_code=201)
def create_token(
    body: TokenIn, request: Request, user: User = Depends(current_user)
) -> dict[str, str]:
    """A new API token for your scripts. It is shown once; store it safely."""
    return {
        "token": workspace(request).create_token(user, name=body.name, ttl_seconds=body.ttl_seconds)
    }


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=1000)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordIn, request: Request, response: Response,
                    user: User = Depends(current_user)) -> None:
    """Change your password. Every session of yours ends, this one included."""
    ws = workspace(request)
    ws.authenticate(user.username, body.current_password)
    ws.set_password(user.username, body.new_password, actor=user)
    response.delete_cookie(SESSION_COOKIE, path="/")


class UserPatch(BaseModel):
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)


@router.patch("/users/{username}", status_code=204)
def patch_user(username: str, body: UserPatch, request: Request,
               user: User = Depends(current_user)) -> None:
    """Admins: disable/enable a user or set a password (their sessions end)."""
    ws = workspace(request)
    if not user.is_admin:
        raise Forbidden("Only an admin can change other users.")
    if body.disabled is not None:
        ws.set_disabled(username, body.disabled, actor=user)
    if body.password is not None:
        ws.set_password(username, body.password, actor=user)
