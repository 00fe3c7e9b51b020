"""The annotator's own work: undo and back, the progress counter, the "my work" history and
the skipped list, and per-item questions to the managers (``docs/loop.md``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from truelabel.domain.models import User

from ..auth import LOOP, current_user
from .common import project_for
from .tasks import TaskOut, task_dict

router = APIRouter(tags=["my work"])


@router.post("/projects/{project}/tasks/{task_id}/undo", response_model=TaskOut, openapi_extra=LOOP)
def undo(project: str, task_id: int, request: Request,
         user: User = Depends(current_user)) -> TaskOut:
    """Undo your skip or submit of a task within the grace period (``TRUELABEL_UNDO_SECONDS``)
    and get it back: a skip with your draft, a submit with its answer filled in (the
    annotation is retracted). 409 when too late, or once a review, an adjudication or an
    aggregation used the answer."""
    task = project_for(request, project, user).work.undo(task_id, user)
    return TaskOut(**task_dict(task))


@router.get("/projects/{project}/me/progress")
def progress(project: str, request: Request, since: float | None = None,
             user: User = Depends(current_user)) -> dict[str, int]:
    """Your counts: ``done_today`` (submits since ``since``, a Unix time; default the start
    of today, UTC), ``done_total``, ``skipped``, and ``remaining`` (items you may still be
    given)."""
    return project_for(request, project, user).work.progress(user, since=since)


@router.get("/projects/{project}/me/annotations")
def my_annotations(project: str, request: Request, offset: int = Query(0, ge=0),
                   limit: int = Query(20, ge=1, le=100),
                   user: User = Depends(current_user)) -> dict[str, Any]:
    """Your submitted labels, newest first, a page at a time; ``editable`` while no review or
    adjudication decision has used one (edit with ``PUT .../annotations/{id}``)."""
    return project_for(request, project, user).work.history(user, offset=offset, limit=limit)


@router.get("/projects/{project}/me/annotations/{annotation_id}")
def my_annotation(project: str, annotation_id: int, request: Request,
                  user: User = Depends(current_user)) -> dict[str, Any]:
    """One of your annotations with its item's data, to show or edit it."""
    return project_for(request, project, user).work.my_annotation(annotation_id, user)


@router.get("/projects/{project}/me/skipped")
def my_skipped(project: str, request: Request,
               user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """Your skipped items, newest first. They come back to you once nothing else is left."""
    return project_for(request, project, user).work.skipped(user)


class QuestionIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class AnswerIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    resolve: bool = Field(default=True, description="close the question with this answer")


@router.post("/projects/{project}/items/{item_id}/questions", status_code=201)
def ask(project: str, item_id: int, body: QuestionIn, request: Request,
        user: User = Depends(current_user)) -> dict[str, Any]:
    """Ask the managers a question about an item you were given."""
    return project_for(request, project, user).questions.ask(item_id, body.text, user)


@router.get("/projects/{project}/me/questions")
def my_questions(project: str, request: Request, item_id: int | None = None,
                 user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """Your questions here (about one item, if ``item_id``), newest first, with answers."""
    return project_for(request, project, user).questions.mine(user, item_id=item_id)


@router.get("/projects/{project}/questions")
def questions(project: str, request: Request, status: str | None = "open",
              user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """Annotators' questions (managers, reviewers): ``status`` open (default, oldest first)
    or resolved; empty for all."""
    return project_for(request, project, user).questions.listing(user, status=status or None)


@router.post("/projects/{project}/questions/{question_id}/answer")
def answer(project: str, question_id: int, body: AnswerIn, request: Request,
           user: User = Depends(current_user)) -> dict[str, Any]:
    """Answer a question (and resolve it, unless ``resolve`` is false)."""
    return project_for(request, project, user).questions.answer(
        question_id, body.text, user, resolve=body.resolve)
