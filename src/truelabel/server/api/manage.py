"""Managing a project from the browser: archive, guideline versions and notices, members
leaving, assigning by count, schema checks, the workflow settings' descriptions.

Thin routes: each parses, calls one ``project.manage`` method (which checks the caller's role
and writes the audit log), and answers JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from truelabel.domain.models import User
from truelabel.domain.workflow import Workflow

from ..auth import current_user
from .common import project_for

router = APIRouter(tags=["manage"])


class ArchiveIn(BaseModel):
    archived: bool


class GuidelinesIn(BaseModel):
    guidelines: str
    note: str = Field(default="", max_length=2000, description="the changelog line annotators see")


class SeenIn(BaseModel):
    version: int = Field(ge=1)


class AssignCountIn(BaseModel):
    count: int = Field(ge=1, le=500)
    username: str


class SchemaCheckIn(BaseModel):
    label_schema: dict[str, Any] | str = Field(
        alias="schema", description="truelabel schema (mapping or YAML/JSON text)")


@router.post("/projects/{project}/archive")
def archive(
    project: str, body: ArchiveIn, request: Request, user: User = Depends(current_user)
) -> dict[str, bool]:
    """Archive or unarchive a project (admins). Archived: no new tasks, gone from members'
    lists; its data is kept."""
    p = project_for(request, project, user)
    return {"archived": p.manage.set_archived(body.archived, actor=user)}


@router.put("/projects/{project}/guidelines")
def put_guidelines(
    project: str, body: GuidelinesIn, request: Request, user: User = Depends(current_user)
) -> dict[str, int]:
    """A new guideline version with its changelog note (managers); annotators are told."""
    p = project_for(request, project, user)
    return {"version": p.manage.set_guidelines(body.guidelines, note=body.note, actor=user)}


@router.get("/projects/{project}/guidelines/versions")
def guideline_versions(
    project: str, request: Request, user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    """Every guideline version, newest first: version, note, created_at, chars."""
    return project_for(request, project, user).manage.guideline_history(actor=user)


@router.get("/projects/{project}/guidelines/changes")
def guideline_changes(
    project: str, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """The guideline versions newer than the one you last acknowledged, with their notes."""
    return project_for(request, project, user).manage.guideline_changes(user)


@router.post("/projects/{project}/guidelines/seen", status_code=204)
def guidelines_seen(
    project: str, body: SeenIn, request: Request, user: User = Depends(current_user)
) -> None:
    """Acknowledge the guidelines up to ``version`` (the notice is not shown again)."""
    project_for(request, project, user).manage.mark_guidelines_seen(body.version, user)


@router.delete("/projects/{project}/members/{username}", status_code=204)
def remove_member(
    project: str, username: str, request: Request, user: User = Depends(current_user)
) -> None:
    """Take a user out of the project (managers); their annotations stay."""
    project_for(request, project, user).manage.remove_member(username, actor=user)


@router.post("/projects/{project}/assign/count")
def assign_count(
    project: str, body: AssignCountIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Reserve the next ``count`` untouched items for one annotator (managers)."""
    ids = project_for(request, project, user).manage.assign_count(
        body.count, body.username, actor=user)
    return {"assigned": len(ids), "item_ids": ids}


@router.post("/projects/{project}/schema/check")
def check_schema(
    project: str, body: SchemaCheckIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Parse a schema without saving it (managers): ``valid`` with the normalised schema, the
    current one and ``changed``; or ``valid: false`` with the ``error`` saying why."""
    p = project_for(request, project, user)
    return p.manage.check_schema(body.label_schema, actor=user)


@router.get("/workflow.schema.json")
def workflow_schema() -> dict[str, Any]:
    """JSON Schema of the workflow settings: each setting's type, default, limits and
    description (the settings form is built from it)."""
    return Workflow.model_json_schema()
