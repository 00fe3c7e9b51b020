"""The one error shape every answer uses: ``{"error": code, "message": text, "detail": …}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse

from truelabel.domain.errors import TruelabelError

log = logging.getLogger("truelabel.server")

#: The codes the HTTP edge answers with itself, without a :mod:`truelabel.errors` class
#: (those carry their own ``code`` and ``status``): code -> (status, what it means). With
#: ``truelabel.errors.error_classes()`` this is every ``"error"`` an answer can hold.
EDGE_CODES: dict[str, tuple[int, str]] = {
    "internal": (500, "An unexpected error; it is in the server's log and nothing was "
                      "half-written."),
    "body_too_large": (413, "The request body is over the limit for its kind of route."),
    "host_not_allowed": (400, "The Host header names a host this server does not answer to."),
    "method_not_allowed": (405, "The route exists, but not for this HTTP method."),
    "http_error": (400, "Another refusal at the HTTP level; the status line says which."),
}


def error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def error_response(exc: BaseException) -> JSONResponse:
    """The answer for an exception a route raised (the app's handlers and the hot loop's)."""
    if isinstance(exc, TruelabelError):
        headers = {}
        if "retry_after" in exc.detail:
            headers["retry-after"] = str(exc.detail["retry_after"])
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)
    if isinstance(exc, OverflowError):
        # ids and numbers past what the driver sends (64-bit): bad input, not a crash
        # (the store answers a number past what a column holds with InvalidInput itself)
        return error(422, "invalid_input", "A number in the request is out of range; ids "
                                            "and counts are 64-bit integers.")
    log.error("unhandled error", exc_info=exc)
    return error(
        500,
        "internal",
        "Something went wrong on the server; the error is in "
        "its log. Nothing was half-written.",
    )
