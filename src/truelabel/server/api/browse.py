"""The data browser: filtered pages with counts, bulk actions, saved views, item records."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from truelabel.domain.models import User

from ..auth import current_user
from .common import project_for

router = APIRouter(tags=["browse"])

_F = "a browser filter (docs/browse.md)"


class BulkIn(BaseModel):
    action: Literal["assign", "review", "requeue", "delete"]
    item_ids: list[int] | None = Field(default=None, max_length=100_000,
                                       description="the selected items")
    query: str | None = Field(default=None, max_length=4000,
                              description="or every item this browser query matches")
    username: str | None = Field(default=None, description="assign: the annotator")
    expect: int | None = Field(default=None, ge=0,
                               description="refuse if this many items no longer match")
    dry_run: bool = Field(default=False, description="only count the items")


class ViewIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    query: str = Field(max_length=4000, description="the browser's URL query")
    shared: bool = False


@router.get("/projects/{project}/browse")
def browse(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    q: str | None = Query(None, description="text search in the data or external id"),
    status: str | None = Query(None, description="lifecycle state (or unlabeled, done)"),
    annotator: str | None = Query(None, description="a username: items they answered"),
    label: str | None = Query(None, description="field=value: an answer gives it"),
    agreement: Literal["agree", "disagree"] | None = Query(None, description=_F),
    agreement_field: str | None = Query(None, description="the field agreement compares"),
    gt: str | None = Query(None, description="ground truth: has, none or field=value"),
    review: Literal["accepted", "rejected", "corrected", "unreviewed"] | None = None,
    imported_from: str | None = Query(None, description="date or date-time, UTC"),
    imported_to: str | None = Query(None, description="date (inclusive) or date-time"),
    annotated_from: str | None = Query(None, description="an answer submitted since"),
    annotated_to: str | None = Query(None, description="an answer submitted until"),
    meta: str | None = Query(None, description="slice metadata key=value"),
    batch: str | None = Query(None, description="import batch id"),
    sort: Literal["id", "-id", "n_done", "-n_done"] = "id",
    after: str | None = Query(None, description="next_after of the previous page"),
    before: str | None = Query(None, description="prev_before of the next page"),
    limit: str | None = Query(None, description="rows per page, 1-500 (50)"),
    count: str | None = Query(None, description="0: skip the count"),
) -> dict[str, Any]:
    """A filtered, sorted page of items with its count (exact up to 10,000, then
    ``total_exact`` false) and the positions of the next and previous pages. Annotators
    see only items given to them and may not filter by others' answers."""
    return project_for(request, project, user).browse(dict(request.query_params), actor=user)


@router.post("/projects/{project}/items/bulk")
def bulk_items(
    project: str, body: BulkIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Assign, send to review, re-queue or delete the selected items, or every item a
    browser query matches: all or nothing, audited (managers). ``dry_run`` counts them."""
    return project_for(request, project, user).bulk_items(
        body.action, item_ids=body.item_ids, query=body.query, username=body.username,
        expect=body.expect, dry_run=body.dry_run, actor=user)


@router.get("/projects/{project}/views")
def saved_views(
    project: str, request: Request, user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    """The caller's saved browser views and the project's shared ones."""
    return project_for(request, project, user).saved_views(actor=user)


@router.post("/projects/{project}/views", status_code=201)
def save_view(
    project: str, body: ViewIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Save a named browser view (its filters and sort); a view of the same name is
    replaced. ``shared`` shows it to everyone in the project."""
    return project_for(request, project, user).save_view(
        body.name, body.query, shared=body.shared, actor=user)


@router.delete("/projects/{project}/views/{view_id}", status_code=204)
def delete_view(
    project: str, view_id: int, request: Request, user: User = Depends(current_user)
) -> None:
    """Delete a saved view (one's own; a manager also a shared one)."""
    project_for(request, project, user).delete_view(view_id, actor=user)


@router.get("/projects/{project}/items/{item_id}/record")
def item_record(
    project: str, item_id: int, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Everything about one item: data, every answer (superseded too), reviews,
    adjudication, ground truth and its audit history (annotators: their own answers)."""
    return project_for(request, project, user).item_record(item_id, actor=user)
