"""Admin-only: the audit log, viewable and exportable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from truelabel.domain.models import User

from ..auth import current_user
from .common import workspace

router = APIRouter(tags=["admin"])


@router.get("/audit")
def audit(request: Request, user: User = Depends(current_user),
          after: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000),
          action: str | None = Query(None, max_length=60)) -> dict[str, Any]:
    """Audit entries after id ``after`` (keyset pages). Admins only."""
    rows = workspace(request).audit_log(actor=user, after=after, limit=limit, action=action)
    return {"entries": rows, "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/audit/export")
def audit_export(request: Request, user: User = Depends(current_user)) -> StreamingResponse:
    """The whole audit log as JSON Lines, streamed page by page. Admins only."""
    ws = workspace(request)
    ws.audit_log(actor=user, limit=1)  # permission check before streaming starts

    def lines() -> Iterator[bytes]:
        after = 0
        while rows := ws.audit_log(actor=user, after=after, limit=1000):
            yield b"".join(orjson.dumps(r) + b"\n" for r in rows)
            after = rows[-1]["id"]

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"content-disposition": 'attachment; filename="audit.jsonl"'})
