"""The annotators' loop on a project (``project.tasks``): leases, drafts, submits, edits.
Every submit is idempotent on its key; an expired lease or a stale edit is 409.
``docs/loop.md`` is the loop's specification; the claim order's seam is :mod:`.claim_order`."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any

import orjson

from truelabel.domain.errors import (
    AlreadyExists,
    Conflict,
    ConstraintViolation,
    InvalidInput,
    NotFound,
)
from truelabel.domain.models import Annotation, Credential, Task, User
from truelabel.store import items as item_store
from truelabel.store import lifecycle as lc_store
from truelabel.store import queue, worklog

from .context import ProjectContext, Service, Submitted
from .loop_plans import next_plan, submit_plan
from .manage import refuse_archived
from .plans import arun_plan, run_plan
from .qa import QualityService
from .review import ReviewService

if TYPE_CHECKING:
    from .loop_plans import Done

_MAX_KEY = 100


class TaskService(Service):
    """Next task, skip, drafts and submit (assignment: :mod:`.assignments`; direct
    annotation and edits: :mod:`.edits`).

    A stored submit is announced as ``after_submit``; the loop asks ``quality`` whether a
    gold task is due and for gold feedback, and ``review`` for the rejections to show."""

    name = "tasks"

    def __init__(
        self, ctx: ProjectContext, *, quality: QualityService, review: ReviewService
    ) -> None:
        super().__init__(ctx)
        self.quality = quality
        self.review = review
        # settings text last seen free of a gold rate: the pool decides next tasks there
        self._pool_settings: tuple[str | None] | None = None
        # (schema id, guideline id) current at this process's last submit
        self._submit_versions: tuple[int, int | None] | None = None

    def next_task(self, actor: User, *, credential: Credential | None = None) -> Task | None:
        """Lease the next item to ``actor`` (their open lease first). None when done.

        ``credential``: how the caller authenticated, if that was not checked just now (see
        ``Workspace.seen_credential``); it is checked in the first statement here.

        On PostgreSQL, when the pool decides (no gold due, no open task), one read and one
        atomic claim statement, no transaction (:func:`.loop_plans.next_plan`); otherwise one
        transaction: role and settings, the claim, and the item with its draft.
        """
        if not self.db.is_sqlite:
            decided, task = run_plan(self.db, next_plan(self, actor, credential, time.time()))
            if decided:
                return task
        return self._next_in_transaction(actor, credential)

    async def next_task_async(
        self, actor: User, *, credential: Credential | None = None
    ) -> Task | None:
        """:meth:`next_task` for a server's event loop (PostgreSQL): the statements run on an
        async connection, so the loop serves other requests while the database works."""
        decided, task = await arun_plan(self.db, next_plan(self, actor, credential, time.time()))
        if decided:
            return task
        return await asyncio.to_thread(self._next_in_transaction, actor, credential)

    def _next_in_transaction(self, actor: User, credential: Credential | None) -> Task | None:
        with self.db.write(durable=False) as conn:  # a lost lease costs nothing
            ctx = self._context(conn, actor, "task.work", credential=credential)
            refuse_archived(ctx.row)
            wants_gold = ctx.workflow.gold_rate > 0 and self.quality._wants_gold(
                actor,
                queue.count_assignments(conn, project_id=self.id, user_id=actor.id),
                rate=ctx.workflow.gold_rate,
            )
            lease = queue.claim(
                conn,
                project_id=self.id,
                user_id=actor.id,
                overlap=int(ctx.row["overlap"]),
                lease_seconds=ctx.row["lease_seconds"],
                now=time.time(),
                skip_locked=not self.db.is_sqlite,
                want_gold=wants_gold,
            )
            return self._task(lease, actor, conn=conn) if lease else None

    def task(self, task_id: int, actor: User) -> Task:
        self.require(actor, "task.work")
        with self.db.read() as conn:
            row = queue.get_task(conn, task_id=task_id, user_id=actor.id, project_id=self.id)
        if row is None:
            raise NotFound(f"No task {task_id} for you in this project.")
        return self._task(row, actor)

    def _task(self, lease: dict[str, Any], actor: User, *, conn: Any = None) -> Task:
        if conn is None:
            with self.db.read() as c:
                return self._task(lease, actor, conn=c)
        item = item_store.get_item(conn, self.id, lease["item_id"])
        draft = queue.get_draft(conn, user_id=actor.id, item_id=lease["item_id"])
        comments = self.review._review_comments(lease["item_id"], actor, conn=conn)
        if draft is None and comments:  # rework opens with the rejected answer
            draft = lc_store.rejected_answer(conn, user_id=actor.id, item_id=lease["item_id"])
        assert item is not None
        return Task(
            id=lease["id"],
            item_id=lease["item_id"],
            project_id=self.id,
            lease_expires_at=lease["lease_expires_at"],
            data=orjson.loads(item["data"]),
            external_id=item["external_id"],
            draft=orjson.loads(draft) if draft else None,
            review_comments=comments,
            skipped_before=bool(lease.get("skipped_before")),
        )

    def skip(self, task_id: int, actor: User) -> None:
        self.require(actor, "task.work")
        with self.db.write() as conn:
            self._own_task(conn, task_id, actor)
            queue.release(conn, assignment_id=task_id, user_id=actor.id, status="skipped")
            worklog.mark_skipped(conn, assignment_id=task_id, now=time.time())

    def _own_task(self, conn: Any, task_id: int, actor: User) -> dict[str, Any]:
        row = queue.get_task(conn, task_id=task_id, user_id=actor.id, project_id=self.id)
        if row is None:
            raise NotFound(f"No task {task_id} for you in this project.")
        return row

    def save_draft(self, task_id: int, value: dict[str, Any], actor: User) -> None:
        """Keep unsubmitted work on the server so a closed tab loses nothing."""
        self.require(actor, "task.work")
        try:
            blob = orjson.dumps(value)
        except TypeError as exc:  # e.g. integers past 64 bits
            raise InvalidInput(f"The draft cannot be stored as JSON: {exc}.") from None
        if len(blob) > 1_000_000:
            raise InvalidInput("A draft is limited to 1 MB.")
        with self.db.write(durable=False) as conn:
            row = self._own_task(conn, task_id, actor)
            queue.save_draft(
                conn, user_id=actor.id, item_id=row["item_id"], value=blob.decode(), now=time.time()
            )

    def submit(
        self,
        task_id: int,
        value: dict[str, Any],
        actor: User,
        *,
        key: str | None = None,
        time_spent_ms: int | None = None,
        credential: Credential | None = None,
    ) -> Annotation:
        """Store an annotation for a leased task (``credential``: as for :meth:`next_task`).

        Idempotent on ``key``: sending the same key again returns the stored annotation.
        A submit on an expired lease raises :class:`LeaseExpired` (409).
        """
        key = check_key(key)
        now = time.time()
        args = (task_id, value, actor, key, time_spent_ms, now, credential)
        try:
            prior, done = None, None
            if not self.db.is_sqlite:
                prior, done = run_plan(self.db, submit_plan(self, *args))
            if done is None and prior is None:
                prior, done = self._submit_in_transaction(*args)
        except (AlreadyExists, ConstraintViolation):  # a racing submit stored it first
            prior, done = self._raced(actor, key), None
        if prior is not None:
            return self._replay(prior, task_id)
        assert done is not None
        return self._submitted(done, actor, now)

    async def submit_async(
        self,
        task_id: int,
        value: dict[str, Any],
        actor: User,
        *,
        key: str | None = None,
        time_spent_ms: int | None = None,
        credential: Credential | None = None,
    ) -> Annotation:
        """:meth:`submit` for a server's event loop (PostgreSQL), as :meth:`next_task_async`.
        The rare paths (a replayed key, a lost lease, follow-up work the workflow asks for)
        run in a worker thread."""
        key = check_key(key)
        now = time.time()
        args = (task_id, value, actor, key, time_spent_ms, now, credential)
        try:
            prior, done = await arun_plan(self.db, submit_plan(self, *args))
            if done is None and prior is None:
                prior, done = await asyncio.to_thread(self._submit_in_transaction, *args)
        except (AlreadyExists, ConstraintViolation):  # a racing submit stored it first
            prior, done = await asyncio.to_thread(self._raced, actor, key), None
        if prior is not None:
            return await asyncio.to_thread(self._replay, prior, task_id)
        assert done is not None
        wf = done[0].workflow
        if (wf.adaptive or wf.adjudication_threshold is not None or wf.gold_feedback
                or wf.review_stages):
            return await asyncio.to_thread(self._submitted, done, actor, now)
        return self._submitted(done, actor, now)

    def _raced(self, actor: User, key: str) -> dict[str, Any]:
        """The same key won a race on another connection: what it stored."""
        with self.db.read() as conn:
            prior = queue.find_by_key(conn, actor.id, key)
        if prior is None:
            raise Conflict("This submit collided with another write; send it again.")
        return prior

    def _submitted(self, done: Done, actor: User, now: float) -> Annotation:
        """The answer to a stored submit, after the follow-up work its workflow asks for."""
        ctx, item_id, aid, clean = done
        wf = ctx.workflow
        if wf.review_stages:  # a submitted item waits for its review (docs/lifecycle.md)
            with self.db.write() as conn:
                lc_store.mark_in_review(
                    conn, item_id, round(wf.review_stages[0].sample_rate * 1000))
        if self.events.wanted("after_submit"):
            self.events.emit("after_submit", Submitted(item_id, aid, actor, clean, wf))
        return Annotation(
            aid,
            item_id,
            actor.id,
            clean,
            ctx.schema_version,
            now,
            feedback=self.quality._gold_feedback(item_id, clean) if wf.gold_feedback else None,
        )

    def _annotation_row(
        self, *, key: str, task_id: int | None, actor: User, clean: dict[str, Any], now: float,
        time_spent_ms: int | None, versions: tuple[int, int | None],
    ) -> dict[str, Any]:
        """An annotation's columns but its item (``versions``: schema and guideline ids;
        ``task_id``: its assignment, None for one made outside the queue)."""
        return {
            "project_id": self.id,
            "user_id": actor.id,
            "assignment_id": task_id,
            "schema_version_id": versions[0],
            "guideline_version_id": versions[1],
            "value": orjson.dumps(clean).decode(),
            "idempotency_key": key,
            "time_spent_ms": time_spent_ms,
            "created_at": now,
        }

    def _submit_in_transaction(
        self, task_id: int, value: dict[str, Any], actor: User, key: str,
        time_spent_ms: int | None, now: float, credential: Credential | None = None,
    ) -> tuple[dict[str, Any] | None, Done | None]:
        """One transaction: role, lease, key, validation against the item, the writes.
        Returns (the annotation already stored under ``key``, None) or (None, what was done)."""
        with self.db.write() as conn:
            ctx = self._context(conn, actor, "task.work", credential=credential)
            prior = queue.find_by_key(conn, actor.id, key)
            if prior is None:
                lease = queue.lock_assignment(
                    conn, assignment_id=task_id, user_id=actor.id, lock=not self.db.is_sqlite
                )
                if lease["project_id"] != self.id:
                    raise NotFound(f"No task {task_id} for you in this project.")
                prior = queue.find_by_key(conn, actor.id, key)  # a racing twin (PG)
            if prior is not None:
                return prior, None
            item_id = lease["item_id"]
            item_row = item_store.get_item(conn, self.id, item_id)
            assert item_row is not None
            clean = ctx.schema.validate_annotation(value, orjson.loads(item_row["data"]))
            queue.ensure_leased(lease, now)
            aid = queue.insert_annotation(
                conn,
                {
                    "item_id": item_id,
                    **self._annotation_row(
                        key=key, task_id=task_id, actor=actor, clean=clean, now=now,
                        time_spent_ms=time_spent_ms, versions=(ctx.schema_id, ctx.guideline_id),
                    ),
                },
            )
            queue.complete(conn, assignment_id=task_id, item_id=item_id, user_id=actor.id)
        return None, (ctx, item_id, aid, clean)

    def _replay(self, prior: dict[str, Any], task_id: int | None) -> Annotation:
        if prior["project_id"] != self.id or (
            task_id is not None and prior["assignment_id"] not in (task_id, None)
        ):
            raise Conflict(
                "This idempotency key was already used for another task; "
                "send a new key for each annotation."
            )
        a = next(
            x
            for x in self.annotations(prior["item_id"], current_only=False)
            if x["id"] == prior["id"]
        )
        return Annotation(
            a["id"],
            prior["item_id"],
            a["user_id"],
            a["value"],
            a["schema_version"],
            a["created_at"],
            a["supersedes_id"],
            replayed=True,
        )

    def _prior(self, actor: User, key: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            return queue.find_by_key(conn, actor.id, key)



def check_key(key: str | None) -> str:
    if key is None:
        return secrets.token_hex(16)
    if not isinstance(key, str) or not 1 <= len(key) <= _MAX_KEY:
        raise InvalidInput(
            f"The idempotency key must be 1-{_MAX_KEY} characters.", field="idempotency_key"
        )
    return key
