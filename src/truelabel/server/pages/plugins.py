"""``/plugins/<name>/<path>``: plug-ins' static assets, same origin (see core/assets.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from truelabel.core import plugin_asset

router = APIRouter(include_in_schema=False)


@router.get("/plugins/{name}/{path:path}")
def plugin_static(name: str, path: str) -> FileResponse:
    target, media = plugin_asset(name, path)
    return FileResponse(target, media_type=media, headers={"cache-control": "no-cache"})
