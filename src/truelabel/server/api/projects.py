"""Projects, items, import and export."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from truelabel.core import JobContext, import_message
from truelabel.domain.fields import field_kinds
from truelabel.domain.models import User
from truelabel.domain.schema import schema_json_schema

from ..auth import current_user
from ..limits import format_size
from ..uploads import display_name, save_upload
from .common import parse_meta, project_for, workspace

router = APIRouter(tags=["projects"])



class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    title: str = ""
    label_schema: dict[str, Any] | str = Field(
        alias="schema",
        description="truelabel schema (mapping or YAML/JSON text) or a Label "
        "Studio XML labeling config",
    )
    overlap: int = Field(default=1, ge=1, le=100)
    guidelines: str = ""


class ProjectPatch(BaseModel):
    overlap: int | None = Field(default=None, ge=1, le=100)
    lease_seconds: int | None = Field(default=None, ge=1)
    guidelines: str | None = None
    label_schema: dict[str, Any] | str | None = Field(default=None, alias="schema")


class MemberIn(BaseModel):
    username: str
    role: Literal["admin", "manager", "reviewer", "annotator"]


class AssignIn(BaseModel):
    item_ids: list[int] = Field(min_length=1, max_length=10_000)
    username: str


@router.get("/projects")
def list_projects(request: Request, user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """The projects you are a member of (all of them for admins)."""
    return [
        {"id": p["id"], "name": p["name"], "title": p["title"], "overlap": p["overlap"],
         "archived": p["archived_at"] is not None}
        for p in workspace(request).list_projects(actor=user)
    ]


@router.post("/projects", status_code=201)
def create_project(
    body: ProjectIn, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """Create a project from a label schema (admins only)."""
    p = workspace(request).create_project(
        body.name,
        body.label_schema,
        title=body.title,
        overlap=body.overlap,
        guidelines=body.guidelines,
        actor=user,
    )
    return p.info(actor=user)


@router.get("/projects/{project}")
def get_project(
    project: str, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """A project's settings, schema and progress counts."""
    p = project_for(request, project, user)
    return {**p.info(actor=user), "status": p.status(actor=user)}


@router.patch("/projects/{project}")
def patch_project(
    project: str, body: ProjectPatch, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """Change a project's schema, overlap, lease or guidelines (managers)."""
    p = project_for(request, project, user)
    if body.label_schema is not None:
        p.set_schema(body.label_schema, actor=user)
    if body.overlap is not None:
        p.set_overlap(body.overlap, actor=user)
    if body.lease_seconds is not None:
        p.set_lease_seconds(body.lease_seconds, actor=user)
    if body.guidelines is not None:
        p.set_guidelines(body.guidelines, actor=user)
    return p.info(actor=user)


@router.get("/schema.json")
def label_schema_format() -> dict[str, Any]:
    """JSON Schema of the label schema format (every registered field type)."""
    return schema_json_schema()


@router.get("/field-kinds")
def list_field_kinds() -> list[dict[str, Any]]:
    """Every registered field kind (plug-ins included): versioned name, short type, summary,
    agreement measures and aggregators that apply, UI element and ES module URL."""
    return [cls.describe() for _, cls in sorted(field_kinds().items())]


@router.get("/projects/{project}/members")
def members(
    project: str, request: Request, user: User = Depends(current_user)
) -> Sequence[Mapping[str, Any]]:
    """The project's members and their roles."""
    return project_for(request, project, user).members(actor=user)


@router.post("/projects/{project}/members", status_code=204)
def add_member(
    project: str, body: MemberIn, request: Request, user: User = Depends(current_user)
) -> None:
    """Give a user a role in the project (managers)."""
    project_for(request, project, user).add_member(body.username, body.role, actor=user)


@router.post("/projects/{project}/assign")
def assign(
    project: str, body: AssignIn, request: Request, user: User = Depends(current_user)
) -> dict[str, int]:
    """Reserve items for one annotator (managers); they get them first."""
    n = project_for(request, project, user).assign(body.item_ids, body.username, actor=user)
    return {"assigned": n}


@router.get("/projects/{project}/items")
def list_items(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    after: int = Query(0, ge=0, description="last id of the previous page"),
    limit: int = Query(50, ge=1, le=500),
    q: str | None = Query(None, max_length=200, description="text search"),
    status: Literal["unlabeled", "in_progress", "done"] | None = None,
    batch: int | None = None,
    meta: str | None = Query(None, max_length=300, pattern=r"^[^=]+=.*$",
                             description="slice metadata filter, key=value (e.g. language=en)"),
) -> dict[str, Any]:
    """A page of items, newest-last; pass ``next_after`` back as ``after`` for the next page."""
    key, _, value = (meta or "").partition("=")
    rows = project_for(request, project, user).items(
        actor=user, after=after, limit=limit, search=q, status=status, batch_id=batch,
        meta=(key, value) if meta else None,
    )
    return {"items": rows, "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/projects/{project}/items/{item_id}")
def get_item(
    project: str, item_id: int, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """One item with its data and provenance (annotators: only items they were given)."""
    return project_for(request, project, user).item(item_id, actor=user)


@router.get("/projects/{project}/batches")
def batches(
    project: str, request: Request, user: User = Depends(current_user)
) -> Sequence[Mapping[str, Any]]:
    """The import batches of the project, newest last."""
    return project_for(request, project, user).batches(actor=user)


@router.post("/projects/{project}/imports", status_code=202)
def start_import(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    file: UploadFile = File(...),
    format: str | None = Form(None),
    id_field: str = Form("id"),
    meta: str | None = Form(None, max_length=4000,
                            description='slice metadata for every item, a JSON object '
                            '(e.g. {"language": "en", "channel": "email"})'),
    dedup: Literal["content", "none"] = Form(
        "content", description="records without an id whose text repeats: merged (content) "
        "or each its own item (none)"),
    on_conflict: Literal["fail", "keep-first", "keep-last"] = Form(
        "fail", description="a record reusing an id with different content: fail the import "
        "(nothing stored), keep the first, or keep the last"),
) -> dict[str, Any]:
    """Upload a file and import it in the background; poll ``/jobs/{id}`` for progress.

    All or nothing: a bad record, an item of more than 1 MiB of JSON, or (``on_conflict=fail``)
    an id reused with different content fails the job with the file, line and reason, and
    nothing is imported. The job's result counts and shows every record not added as a new
    item, and items past the warning size (``TRUELABEL_LARGE_ITEM_BYTES``)."""
    p = project_for(request, project, user)
    p.require(user, "items.import")
    slice_meta = parse_meta(meta)
    name = display_name(file.filename, "upload")
    cap = request.app.edge.max_upload_body
    tmp, size = save_upload(file.file, name, prefix="tl-upload-", limit=cap, what=(
        f"The upload is larger than {format_size(cap)}; import it with the command line "
        "(`truelabel import`)."))

    def work(job: JobContext) -> dict[str, Any]:
        try:
            with open(tmp, "rb") as fh:
                r = p.import_stream(
                    fh,
                    source=name,
                    fmt=format or None,
                    id_field=id_field or None,
                    actor=user,
                    progress=job.progress,
                    total_bytes=size,
                    meta=slice_meta,
                    dedup=dedup,
                    on_conflict=on_conflict,
                )
        finally:
            os.unlink(tmp)
        job.message = import_message(r)
        return r.to_dict()

    job = request.app.state.jobs.start("import", work, user_id=user.id, project_id=p.id)
    out: dict[str, Any] = job.to_dict()
    return out


@router.get("/projects/{project}/export")
def export(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    format: Literal["jsonl", "parquet", "answers"] = "jsonl",
    only_labeled: bool = False,
) -> FileResponse:
    """Download every item with its annotations (every annotator), streamed from disk;
    ``format=answers`` is the long CSV table (item, field, annotator, label) that
    ``truelabel agreement`` and ``aggregate`` read."""
    p = project_for(request, project, user)
    folder = tempfile.mkdtemp(prefix="tl-export-")
    try:
        path = Path(folder) / (f"{p.name}-answers.csv" if format == "answers"
                               else f"{p.name}.{format}")
        p.export(path, fmt=format, only_labeled=only_labeled, actor=user)
        return _TempFileResponse(
            path, folder=folder, filename=path.name, media_type="application/octet-stream"
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused export leaves nothing behind
        raise


class _TempFileResponse(FileResponse):
    """A file in a temporary folder, removed once the response ends whatever happens: sent,
    refused by a Range check (416 returns before a ``background`` task would run), or cut
    off by the client."""

    def __init__(self, path: Path, *, folder: str, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.folder = folder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await anyio.to_thread.run_sync(shutil.rmtree, self.folder, True)
