"""Login throttling at the HTTP edge: the device cookies of ``core/throttle.py``.

The counts live in the database (``Workspace.throttle``), shared by every worker process.
Here: each successful login sets a signed, HttpOnly device cookie for that account (one
cookie per account, sent only to ``/api/login``); a later login presenting it is counted
per device and still gets in while the account is under attack from elsewhere.
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

DEVICE_COOKIE_PREFIX = "tl_device_"
DEVICE_SECONDS = 365 * 24 * 3600
LOGIN_PATH = "/api/login"


def device_cookie_name(username: str) -> str:
    """One cookie per account, named by a hash of the (lower-cased) username."""
    return DEVICE_COOKIE_PREFIX + hashlib.sha256(username.lower().encode()).hexdigest()[:16]


def device_cookie(request: Request, username: str) -> str | None:
    """The device cookie this browser holds for ``username``, if any."""
    return request.cookies.get(device_cookie_name(username))


def remember_device(request: Request, response: Response, username: str, value: str) -> None:
    """Set the device cookie of ``username`` (sent back only to the login route)."""
    response.set_cookie(
        device_cookie_name(username), value, max_age=DEVICE_SECONDS, path=LOGIN_PATH,
        httponly=True, samesite="strict", secure=request.url.scheme == "https")
