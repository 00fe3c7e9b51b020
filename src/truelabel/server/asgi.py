"""Small plain-ASGI helpers shared by the server's own middleware (strict JSON, hot loop)."""

from __future__ import annotations

from typing import Any


def request_headers(scope: Any) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; the first of a repeated one, as
    Starlette's ``Headers.get`` answers."""
    out: dict[bytes, bytes] = {}
    for k, v in scope["headers"]:
        out.setdefault(k, v)
    return out


def is_json(headers: dict[bytes, bytes]) -> bool:
    return b"json" in headers.get(b"content-type", b"")


async def read_body(receive: Any) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes | None) -> Any:
    """A ``receive`` that hands out ``body`` again (None: the client's disconnect)."""
    queue: list[Any] = [{"type": "http.disconnect"} if body is None else
                        {"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Any:
        if queue:
            return queue.pop(0)
        return {"type": "http.disconnect"}

    return receive
