"""Labels given outside the queue (``project.edits``): a script labelling a given item, and
an annotator replacing their own annotation with a new version (append-only; docs/loop.md)."""

from __future__ import annotations

import time
from typing import Any

from truelabel.domain.errors import Conflict, NotFound
from truelabel.domain.lifecycle import ItemEvent
from truelabel.domain.models import Annotation, User
from truelabel.store import items as item_store
from truelabel.store import queue, worklog

from . import lifecycle
from .context import ProjectContext, Service
from .tasks import TaskService, check_key


class EditService(Service):
    """Direct annotation (within the overlap limit) and edits of one's own annotations; both
    idempotent on their key like a submit, and stored by the loop's own writes."""

    name = "edits"

    def __init__(self, ctx: ProjectContext, *, tasks: TaskService) -> None:
        super().__init__(ctx)
        self.tasks = tasks

    def _begin(self, actor: User, key: str | None) -> tuple[str, Annotation | None]:
        """Check the actor and the key; the stored annotation if this key was used before."""
        self.require(actor, "task.work")
        key = check_key(key)
        prior = self.tasks._prior(actor, key)
        return key, (self.tasks._replay(prior, None) if prior is not None else None)

    def annotate(
        self, item_id: int, value: dict[str, Any], actor: User, *, key: str | None = None
    ) -> Annotation:
        """Label a given item directly (a notebook or script), within the overlap limit."""
        key, replay = self._begin(actor, key)
        if replay is not None:
            return replay
        if self._item_data(item_id) is None:
            raise NotFound(f"No item {item_id} in this project.")
        p = self._settings()
        with self.db.write() as conn:
            lease = queue.take_item(
                conn,
                project_id=self.id,
                item_id=item_id,
                user_id=actor.id,
                overlap=int(p["overlap"]),
                status="leased",
                lease_seconds=p["lease_seconds"],
                now=time.time(),
            )
        return self.tasks.submit(lease["id"], value, actor, key=key)

    def update_annotation(
        self, annotation_id: int, value: dict[str, Any], actor: User, *, key: str | None = None
    ) -> Annotation:
        """Replace one's own annotation with a new version; 409 if it is not the newest."""
        key, replay = self._begin(actor, key)
        if replay is not None:
            return replay
        with self.db.read() as conn:
            ctx = self._context(conn, actor, "task.work")
            old = item_store.get_annotation(conn, project_id=self.id, annotation_id=annotation_id)
        if old is None or old["user_id"] != actor.id:
            raise NotFound(f"No annotation {annotation_id} of yours in this project.")
        clean = ctx.schema.validate_annotation(value, self._item_data(old["item_id"]))
        now = time.time()
        with self.db.write() as conn:
            # a decided item's label is settled: an edit would be silently outvoted
            lifecycle.check(conn, self.id, old["item_id"], ItemEvent.EDIT)
            used = worklog.used_by(conn, annotation_ids=[annotation_id], item_id=old["item_id"],
                                   strict=False)
            if used is not None:  # the author's own edits end where others' decisions begin
                raise Conflict(f"This answer can no longer be edited: {used}. Ask a manager "
                               "if it needs changing.")
            new_id = queue.supersede(
                conn,
                old_id=annotation_id,
                values={
                    "item_id": old["item_id"],
                    **self.tasks._annotation_row(
                        key=key, task_id=old["assignment_id"], actor=actor, clean=clean,
                        now=now, time_spent_ms=None, versions=(ctx.schema_id, ctx.guideline_id),
                    ),
                },
            )
        return Annotation(
            new_id, old["item_id"], actor.id, clean, ctx.schema_version, now, annotation_id
        )
