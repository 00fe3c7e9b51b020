"""Login, logout, the current user, users and API tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from truelabel.core import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from truelabel.domain.errors import AuthError, Forbidden
from truelabel.domain.models import User

from ..auth import SESSION_COOKIE, authenticate, current_user
from ..ratelimit import device_cookie, remember_device
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
    """``POST /api/tokens`` (kept for old scripts): a ``manage`` token."""

    name: str = Field(default="", max_length=200)
    ttl_seconds: int | None = Field(default=None, ge=60, le=MAX_TOKEN_DAYS * 86400)


class NewTokenIn(BaseModel):
    name: str = Field(default="", max_length=200)
    scope: Literal["read", "annotate", "manage"] = "manage"
    #: days until it expires; null: never (explicitly)
    expires_in_days: int | None = Field(default=DEFAULT_TOKEN_DAYS, ge=1, le=MAX_TOKEN_DAYS)


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
    user, token, csrf, device = workspace(request).login(
        body.username, body.password, address=_address(request),
        device_cookie=device_cookie(request, body.username))
    remember_device(request, response, body.username, device)
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
    """The logged-in user (and the CSRF token of a browser session)."""
    return _me(user, getattr(request.state, "csrf", None))


@router.get("/users")
def list_users(request: Request, user: User = Depends(current_user)) -> Sequence[Mapping[str, Any]]:
    """Every user of the workspace (admins only)."""
    if not user.is_admin:
        raise Forbidden("Only an admin can list users.")
    return workspace(request).list_users()


@router.post("/users", status_code=201)
def add_user(body: UserIn, request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """Create a user (admins only); the password is stored as an argon2id hash."""
    new = workspace(request).add_user(
        body.username, body.password, role=body.role, display_name=body.display_name, actor=user
    )
    return _me(new)


@router.post("/tokens", status_code=201)
def create_token(
    body: TokenIn, request: Request, user: User = Depends(current_user)
) -> dict[str, str]:
    """A new ``manage`` API token (older form of ``POST /api/me/tokens``; without
    ``ttl_seconds`` it expires in 90 days). It is shown once; store it safely."""
    days = None if body.ttl_seconds else DEFAULT_TOKEN_DAYS
    return {"token": workspace(request).create_token(
        user, name=body.name, ttl_seconds=body.ttl_seconds, expires_in_days=days, actor=user)}


@router.get("/me/tokens")
def my_tokens(request: Request, user: User = Depends(current_user)) -> Sequence[Mapping[str, Any]]:
    """Your API tokens: id, name, scope, created_at, expires_at, last_used_at (Unix
    seconds; never the secret)."""
    return workspace(request).tokens.list(user, actor=user)


@router.post("/me/tokens", status_code=201)
def new_token(body: NewTokenIn, request: Request,
              user: User = Depends(current_user)) -> Mapping[str, Any]:
    """A new API token: ``scope`` read (GET only), annotate (reads + next, draft, submit,
    skip) or manage (all your role allows); ``expires_in_days`` (default 90, null: never).
    The answer holds the ``token``, shown this once; store it safely."""
    return workspace(request).tokens.create(
        user, name=body.name, scope=body.scope, expires_in_days=body.expires_in_days,
        actor=user)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: int, request: Request, user: User = Depends(current_user)) -> None:
    """Revoke one of your tokens; its next request gets 401."""
    workspace(request).tokens.revoke(user, token_id, actor=user)


@router.get("/users/{username}/tokens")
def user_tokens(username: str, request: Request,
                user: User = Depends(current_user)) -> Sequence[Mapping[str, Any]]:
    """Admins: a user's API tokens (as ``GET /api/me/tokens``)."""
    ws = workspace(request)
    if not user.is_admin:
        raise Forbidden("Only an admin can see other users' tokens.")
    return ws.tokens.list(ws.get_user(username), actor=user)


@router.delete("/users/{username}/tokens/{token_id}", status_code=204)
def revoke_user_token(username: str, token_id: int, request: Request,
                      user: User = Depends(current_user)) -> None:
    """Admins: revoke a user's API token."""
    ws = workspace(request)
    if not user.is_admin:
        raise Forbidden("Only an admin can revoke other users' tokens.")
    ws.tokens.revoke(ws.get_user(username), token_id, actor=user)


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=8, max_length=1000)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordIn, request: Request, response: Response,
                    user: User = Depends(current_user)) -> None:
    """Change your password. Every session and API token of yours ends, this one included.
    Wrong current passwords are throttled per account (429 with Retry-After)."""
    workspace(request).change_password(user, body.current_password, body.new_password,
                                       address=_address(request))
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


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"
