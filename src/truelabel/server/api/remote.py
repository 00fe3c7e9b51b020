"""Content from outside: URL import (background job), the URL allow-list, project media.

Media are served so they cannot run script in our origin: the type comes from the bytes,
``nosniff``, ``Content-Security-Policy: sandbox``, and ``attachment`` for anything that is not
a passive image, audio or video file.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from truelabel.core import MAX_MEDIA_BYTES
from truelabel.domain.models import User

from ..auth import current_user
from .common import project_for, workspace

router = APIRouter(tags=["remote"])

DIGEST = Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, lowercase hex")
MEDIA_CSP = "sandbox; default-src 'none'"


class UrlImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(min_length=1, max_length=2048)
    format: str | None = None
    id_field: str | None = "id"
    dedup: Literal["content", "none"] = Field(
        "content", description="records without an id whose text repeats: merged "
        "(content) or each its own item (none)")
    on_conflict: Literal["fail", "keep-first", "keep-last"] = Field(
        "fail", description="a record reusing an id with different content: fail the "
        "import (nothing stored), keep the first, or keep the last")


class AllowListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] = Field(
        max_length=200,
        description="CIDRs / addresses (any port) and host:port entries an import may reach "
        "although they are inside the network",
    )


@router.post("/projects/{project}/imports/url", status_code=202)
def start_url_import(
    project: str, body: UrlImportIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Download a file from ``url`` and import it in the background; poll ``/jobs/{id}``.

    Addresses inside the network (loopback, private, link-local, metadata…) are refused
    unless an admin allow-listed them (``PUT /settings/url-allowlist``).
    """
    p = project_for(request, project, user)
    p.require(user, "items.import")
    p.check_import_url(body.url, actor=user)  # a bad scheme or address: 422 now, not in a job

    job = request.app.state.jobs.submit(
        "import_url", {"url": body.url, "format": body.format or None,
                       "id_field": body.id_field or None, "dedup": body.dedup,
                       "on_conflict": body.on_conflict}, actor=user, project=p)
    out: dict[str, Any] = job.to_dict()
    return out


@router.get("/settings/url-allowlist")
def get_allowlist(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """The hosts URL imports may fetch from (admins)."""
    return {"allow": workspace(request).url_allowlist(actor=user)}


@router.put("/settings/url-allowlist")
def put_allowlist(
    body: AllowListIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Replace the hosts URL imports may fetch from (admins)."""
    return {"allow": workspace(request).set_url_allowlist(body.allow, actor=user)}


@router.post("/projects/{project}/media", status_code=201)
def upload_media(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    file: UploadFile = File(...),
) -> dict[str, Any]:
    """Store a file for this project (managers); returns its id, the SHA-256 of its bytes."""
    p = project_for(request, project, user)
    p.require(user, "items.import")
    data = file.file.read(MAX_MEDIA_BYTES + 1)
    return p.put_media(data, actor=user)


@router.get("/projects/{project}/media/{digest}")
def get_media(
    project: str,
    request: Request,
    digest: str = DIGEST,
    user: User = Depends(current_user),
) -> Response:
    """A file of this project, for its members. Never rendered as a page of this site."""
    p = project_for(request, project, user)
    data, mt = p.get_media(digest, actor=user)
    disposition = "inline" if mt.inline else "attachment"
    return Response(
        content=data,
        media_type=mt.content_type,
        headers={
            "content-disposition": f'{disposition}; filename="{digest}.{mt.extension}"',
            "x-content-type-options": "nosniff",
            "content-security-policy": MEDIA_CSP,
            "cross-origin-resource-policy": "same-origin",
            "cache-control": "private, max-age=3600",
        },
    )
