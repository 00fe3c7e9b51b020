"""The annotator's loop: next task, draft, submit, skip, edit (``docs/loop.md``), and the
claim order's priorities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from truelabel.core import MAX_PRIORITY
from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import Annotation, Credential, Task, User

from ..auth import LOOP, current_user, task_user
from .common import loop_project, project_for, project_for_task

router = APIRouter(tags=["tasks"])
T = TypeVar("T")


#: How long a step of the loop sleeps between tries of a busy SQLite write lock: doubling
#: from the first to the last figure (seconds).
LOCK_WAIT = (0.0005, 0.005)


async def in_lane(state: Any, fn: Callable[[], T]) -> T:
    """Run one step of the annotators' loop (next, submit, draft, skip).

    These steps are short, so they run right on the event loop: no thread hop, and no GIL
    or write lock passing between threads (the convoy that made eight clients slower than
    one). When another thread holds the SQLite write lock (an import, a settings change, a
    login, a token's last-use time) the step waits for it here, sleeping between tries, so
    the loop keeps serving pages and reads meanwhile, and then runs on the loop as usual.

    It does not wait in a worker thread: a thread that took the step held the lock while it
    worked, so the next step found the lock busy and joined that thread too, and so on — one
    brief write turned the whole loop into a thread convoy for as long as clients kept
    coming (8 clients on 1M items: 760 → 450 cycles/s after a single token's last-use write).
    """
    db = state.workspace.db
    if not db.is_sqlite:  # next and submit have async versions there; the rest is brief
        return fn()
    delay, longest = LOCK_WAIT
    while not db.try_hold_writes():
        await anyio.sleep(delay)
        delay = min(delay * 2, longest)
    try:  # holding the lock (re-entrant): the step's own write takes it again at once
        return fn()
    finally:
        db.release_writes()


class TaskOut(BaseModel):
    id: int
    item_id: int
    external_id: str | None
    lease_expires_at: float | None
    data: dict[str, Any]
    draft: dict[str, Any] | None = None
    review_comments: list[dict[str, Any]] = Field(
        default_factory=list,
        description="why a reviewer rejected your earlier work on this item (stage, comment, "
        "reviewer)",
    )
    skipped_before: bool = Field(
        default=False,
        description="you skipped this item before; it came back (once) as nothing else was left",
    )


class SubmitIn(BaseModel):
    value: dict[str, Any] = Field(description="field name → value, checked against the schema")
    idempotency_key: str = Field(
        min_length=1,
        max_length=100,
        description="client-made key; resending it returns the same "
        "annotation instead of a second one",
    )
    time_spent_ms: int | None = Field(default=None, ge=0)


class AnnotationOut(BaseModel):
    id: int
    item_id: int
    value: dict[str, Any]
    schema_version: int
    created_at: float
    supersedes_id: int | None = None
    replayed: bool = False
    feedback: dict[str, Any] | None = Field(
        default=None,
        description="gold items in training rounds: {correct, expected, wrong_fields}",
    )


class DraftIn(BaseModel):
    value: dict[str, Any]


def _json(body: dict[str, Any]) -> Response:
    # The hot routes answer pre-serialised JSON: their documented models (TaskOut,
    # AnnotationOut) describe it, and tests check it conforms; skipping the response model's
    # re-validation saves a third of a request's CPU.
    return Response(orjson.dumps(body), media_type="application/json")


def task_dict(t: Task) -> dict[str, Any]:
    return {"id": t.id, "item_id": t.item_id, "external_id": t.external_id,
            "lease_expires_at": t.lease_expires_at, "data": t.data, "draft": t.draft,
            "review_comments": t.review_comments, "skipped_before": t.skipped_before}


def annotation_dict(a: Annotation) -> dict[str, Any]:
    return {"id": a.id, "item_id": a.item_id, "value": a.value,
            "schema_version": a.schema_version, "created_at": a.created_at,
            "supersedes_id": a.supersedes_id, "replayed": a.replayed, "feedback": a.feedback}


def _task_out(t: Task) -> TaskOut:
    return TaskOut(**task_dict(t))


async def loop_next(state: Any, ref: str, user: User, cred: Credential | None) -> Task | None:
    """Next task for the annotators' loop; shared by the route and :mod:`..hotloop`."""
    p = loop_project(state.workspace, ref)
    if p.db.is_sqlite:
        return await in_lane(state, lambda: p.next_task(user, credential=cred))
    return await p.next_task_async(user, credential=cred)


async def loop_submit(
    state: Any, ref: str, task_id: int, body: SubmitIn, user: User, cred: Credential | None
) -> Annotation:
    """Submit for the annotators' loop; shared by the route and :mod:`..hotloop` (which
    passes a ``SubmitIn`` it checked itself)."""
    p = loop_project(state.workspace, ref)
    kw: dict[str, Any] = {"key": body.idempotency_key, "time_spent_ms": body.time_spent_ms,
                          "credential": cred}
    if p.db.is_sqlite:
        return await in_lane(state, lambda: p.submit(task_id, body.value, user, **kw))
    return await p.submit_async(task_id, body.value, user, **kw)


@router.post(
    "/projects/{project}/tasks/next",
    response_model=TaskOut,
    responses={204: {"description": "no task left for you"}},
    openapi_extra=LOOP,
)
async def next_task(project: str, request: Request, user: User = Depends(task_user)) -> Any:
    """Lease the next item (your open lease first). 204 when there is nothing left."""
    task = await loop_next(request.app.state, project, user, request.state.credential)
    if task is None:
        return Response(status_code=204)
    return _json(task_dict(task))


@router.get("/projects/{project}/tasks/{task_id}", response_model=TaskOut)
def get_task(
    project: str, task_id: int, request: Request, user: User = Depends(current_user)
) -> TaskOut:
    """One of your open tasks: its item, draft and review comments."""
    return _task_out(project_for(request, project, user).task(task_id, user))


@router.put("/projects/{project}/tasks/{task_id}/draft", status_code=204, openapi_extra=LOOP)
async def save_draft(
    project: str, task_id: int, body: DraftIn, request: Request, user: User = Depends(current_user)
) -> Response:
    """Autosave unsubmitted work (kept until submit)."""
    p = project_for_task(request, project)
    await in_lane(request.app.state, lambda: p.save_draft(task_id, body.value, user))
    return Response(status_code=204)


@router.post("/projects/{project}/tasks/{task_id}/submit", response_model=AnnotationOut,
             openapi_extra=LOOP)
async def submit(
    project: str, task_id: int, body: SubmitIn, request: Request, user: User = Depends(task_user)
) -> Response:
    """Store the annotation. Idempotent on ``idempotency_key``; 409 on an expired lease."""
    a = await loop_submit(request.app.state, project, task_id, body, user,
                          request.state.credential)
    return _json(annotation_dict(a))


@router.post("/projects/{project}/tasks/{task_id}/skip", status_code=204, openapi_extra=LOOP)
async def skip(
    project: str, task_id: int, request: Request, user: User = Depends(current_user)
) -> Response:
    """Give a task back without labelling it; its slot returns to the pool."""
    p = project_for_task(request, project)
    await in_lane(request.app.state, lambda: p.skip(task_id, user))
    return Response(status_code=204)


@router.put("/projects/{project}/annotations/{annotation_id}", response_model=AnnotationOut)
def update_annotation(
    project: str,
    annotation_id: int,
    body: SubmitIn,
    request: Request,
    user: User = Depends(current_user),
) -> Response:
    """Replace your annotation with a new version; 409 if a newer version exists."""
    a = project_for(request, project, user).update_annotation(
        annotation_id, body.value, user, key=body.idempotency_key
    )
    return _json(annotation_dict(a))


class PriorityEntry(BaseModel):
    """One item's claim-order priority; the item by ``item_id`` or by ``external_id``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    item_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int = Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY,
                          description="higher is handed out first; 0 is the default")

    @model_validator(mode="after")
    def _one_key(self) -> PriorityEntry:
        if (self.item_id is None) == (self.external_id is None):
            raise ValueError("name the item by exactly one of item_id and external_id")
        return self


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[PriorityEntry] = Field(min_length=1, max_length=100_000)


@router.post("/projects/{project}/items/priority")
def set_priorities(
    project: str, body: PriorityIn, request: Request, user: User = Depends(current_user)
) -> dict[str, int]:
    """Set items' claim-order priorities (higher first, then item id); a manager's. All or
    nothing: an unknown item changes nothing. Every annotator's next task follows them."""
    by_id: dict[int, int] = {}
    by_ext: dict[str, int] = {}
    for e in body.items:
        into: dict[Any, int] = by_id if e.item_id is not None else by_ext
        key = e.item_id if e.item_id is not None else e.external_id
        if key in into:
            raise InvalidInput(f"Item {key!r} is listed twice; give each item once.",
                               field="items")
        into[key] = e.priority
    n = project_for(request, project, user).set_priorities(
        by_id, by_external_id=by_ext, actor=user, source="api")
    return {"set": n}
