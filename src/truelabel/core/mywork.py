"""An annotator's own work (``project.work``): undo of the last submit or skip and going
back to the previous item, the progress counter, the "my work" history and the skipped list
(docs/loop.md, "Undo, history and skipped items")."""

from __future__ import annotations

import time
from typing import Any

import orjson

from truelabel.domain.environment import UNDO_SECONDS
from truelabel.domain.errors import Conflict, InvalidInput, NotFound
from truelabel.domain.models import Task, User
from truelabel.store import projects as project_store
from truelabel.store import worklog

from .context import ProjectContext, Service
from .tasks import TaskService

#: history page size limits
MAX_PAGE = 100


def undo_seconds() -> float:
    """The grace period for undo (``TRUELABEL_UNDO_SECONDS``)."""
    text = UNDO_SECONDS.read().strip()
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(
            f"TRUELABEL_UNDO_SECONDS is {text!r}; set it to a number of seconds (0: no undo)."
        ) from None
    return max(0.0, value)


def _preview(head: str | None, limit: int = 160) -> str:
    """A short text for an item, from the first part of its JSON data."""
    if not head:
        return ""
    try:
        data = orjson.loads(head)
    except orjson.JSONDecodeError:  # cut off: the first quoted run of the head
        parts = head.split('"')
        data = {"t": max(parts[3:4] or [""], key=len)}
    if isinstance(data, dict):
        for v in data.values():
            if isinstance(v, str) and v.strip():
                return v[:limit]
    return str(data)[:limit]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"], "item_id": r["item_id"], "task_id": r["assignment_id"],
        "external_id": r["external_id"], "value": orjson.loads(r["value"]),
        "created_at": r["created_at"], "edited": r["supersedes_id"] is not None,
        "settled": r["settled"], "editable": r["settled"] is None,
    }


class WorkService(Service):
    """What an annotator sees of their own work; every method is the actor's own rows."""

    name = "work"

    def __init__(self, ctx: ProjectContext, *, tasks: TaskService) -> None:
        super().__init__(ctx)
        self.tasks = tasks

    def undo(self, task_id: int, actor: User) -> Task:
        """Take back the actor's skip or submit of task ``task_id`` within the grace period
        and lease the item to them again: a skip with their draft, a submit with its answer
        as the draft (the annotation is retracted). Refused (409) past the grace period, when
        the item's last slot went to someone else, or once a review, an adjudication or an
        aggregation used the answer."""
        self.require(actor, "task.work")
        grace = undo_seconds()
        now = time.time()
        p = self._settings()
        expires = now + float(p["lease_seconds"])
        with self.db.write() as conn:
            row = worklog.assignment(conn, assignment_id=task_id, user_id=actor.id,
                                     project_id=self.id)
            if row is None:
                raise NotFound(f"No task {task_id} of yours in this project.")
            if row["status"] == "skipped":
                if row["released_at"] is None or now - row["released_at"] > grace:
                    raise Conflict(self._too_late("skip", grace))
                if not worklog.reopen_skipped(conn, row, overlap=int(p["overlap"]),
                                              expires=expires, undo=True):
                    raise Conflict("Other annotators took every place on this item since "
                                   "you skipped it, so it cannot come back to you; go on "
                                   "with the next item.")
            elif row["status"] == "submitted":
                self._retract(conn, row, actor, grace, now, expires, str(p["name"]))
            elif row["status"] in ("leased", "queued"):
                pass  # already open: nothing to undo, show it
            else:
                raise Conflict(f"Task {task_id} is {row['status']}; only a skip or a submit "
                               "can be undone.")
        return self.tasks.task(task_id, actor)

    def _too_late(self, what: str, grace: float) -> str:
        if grace <= 0:
            return "Undo is turned off on this server (TRUELABEL_UNDO_SECONDS=0)."
        return (f"Your {what} is more than {grace:g} seconds old and can no longer be undone; "
                + ("find the item in your skipped list." if what == "skip"
                   else "edit the answer from My work instead."))

    def _retract(self, conn: Any, row: dict[str, Any], actor: User, grace: float,
                 now: float, expires: float, project: str) -> None:
        versions = worklog.first_answer(conn, row["id"])
        if not versions:
            raise Conflict(f"Task {row['id']} has no answer to take back.")
        if now - versions[0]["created_at"] > grace:
            raise Conflict(self._too_late("submit", grace))
        if not versions[-1]["is_current"]:
            raise Conflict("This answer was rejected or replaced, so it cannot be undone; "
                           "the item comes back to you if it needs more work.")
        ids = [int(v["id"]) for v in versions]
        used = worklog.used_by(conn, annotation_ids=ids, item_id=row["item_id"])
        if used is not None:
            raise Conflict(f"This answer cannot be taken back: {used}. Ask a manager if it "
                           "needs changing.")
        worklog.retract(conn, assignment_id=row["id"], item_id=row["item_id"],
                        user_id=actor.id, annotation_ids=ids, draft=versions[-1]["value"],
                        expires=expires, now=now)
        project_store.audit(conn, at=now, user_id=actor.id, action="annotation.retract",
                            object_type="annotation", object_id=ids[-1],
                            detail={"project": project, "item": row["item_id"],
                                    "task": row["id"]})

    def progress(self, actor: User, *, since: float | None = None) -> dict[str, int]:
        """The actor's counts here: ``done_today`` (submits since ``since``, default the
        start of today in UTC), ``done_total``, ``skipped``, and ``remaining`` (items they
        may still be given, an upper bound: others may fill some first)."""
        self.require(actor, "task.work")
        if since is None:
            now = time.time()
            since = now - now % 86400
        with self.db.read() as conn:
            return worklog.progress(conn, project_id=self.id, user_id=actor.id, since=since)

    def history(self, actor: User, *, offset: int = 0, limit: int = 20) -> dict[str, Any]:
        """The actor's current annotations, newest first, one page: ``total``, ``rows``
        (each with ``editable``: no review or adjudication decision has used it)."""
        self.require(actor, "task.work")
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"Ask for 1-{MAX_PAGE} rows from an offset of 0 or more.")
        with self.db.read() as conn:
            total, rows = worklog.history(conn, project_id=self.id, user_id=actor.id,
                                          offset=offset, limit=limit)
        out = []
        for r in rows:
            d = _row(r)
            d["preview"] = _preview(r["data_head"])
            out.append(d)
        return {"total": total, "offset": offset, "limit": limit, "rows": out}

    def my_annotation(self, annotation_id: int, actor: User) -> dict[str, Any]:
        """One of the actor's annotations with its item's data (to edit it)."""
        self.require(actor, "task.work")
        with self.db.read() as conn:
            r = worklog.annotation(conn, project_id=self.id, user_id=actor.id,
                                   annotation_id=annotation_id)
        if r is None:
            raise NotFound(f"No annotation {annotation_id} of yours in this project.")
        d = _row(r)
        d["current"] = bool(r["is_current"])
        d["editable"] = d["editable"] and d["current"]
        d["data"] = orjson.loads(r["data"])
        return d

    def skipped(self, actor: User, *, limit: int = 100) -> list[dict[str, Any]]:
        """The actor's skipped items, newest skip first (``open``: it may still come back)."""
        self.require(actor, "task.work")
        with self.db.read() as conn:
            rows = worklog.skipped(conn, project_id=self.id, user_id=actor.id,
                                   limit=min(max(limit, 1), 500))
        return [{"task_id": r["task_id"], "item_id": r["item_id"],
                 "external_id": r["external_id"], "skipped_at": r["released_at"],
                 "open": bool(r["open"]), "preview": _preview(r["data_head"])} for r in rows]

