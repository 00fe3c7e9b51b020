"""Security headers on every answer (CSP without inline script, nosniff, no framing)."""

from __future__ import annotations

from typing import Any

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


#: What an API answer carries (the hot loop sends these itself).
API_HEADERS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()] + [
    (b"cache-control", b"no-store")
]
