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
    TruelabelError,
)
from truelabel.domain.models import Annotation, Credential, Task, User
from truelabel.domain.roles import Role, role_allows
from truelabel.store import items as item_store
from truelabel.store import lifecycle as lc_store
from truelabel.store import loopstate, queue, queue_pg, worklog
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store

from .context import ProjectContext, Service, Submitted
from .manage import refuse_archived
from .plans import Plan, arun_plan, run_plan
from .qa import QualityService
from .review import ReviewService, rejections

if TYPE_CHECKING:
    from .context import _Ctx

    #: what a stored submit did: context, item id, annotation id, the checked value
    Done = tuple[_Ctx, int, int, dict[str, Any]]

_MAX_KEY = 100
#: the member roles that may work on tasks
_WORK_ROLES = sorted(r.value for r in Role if role_allows(r, "task.work"))


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
        atomic claim statement, no transaction (:meth:`_next_plan`); otherwise one
        transaction: role and settings, the claim, and the item with its draft.
        """
        if not self.db.is_sqlite:
            decided, task = run_plan(self.db, self._next_plan(actor, credential, time.time()))
            if decided:
                return task
        return self._next_in_transaction(actor, credential)

    async def next_task_async(
        self, actor: User, *, credential: Credential | None = None
    ) -> Task | None:
        """:meth:`next_task` for a server's event loop (PostgreSQL): the statements run on an
        async connection, so the loop serves other requests while the database works."""
        decided, task = await arun_plan(self.db, self._next_plan(actor, credential, time.time()))
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

    # -- PostgreSQL: the loop as a plan of single statements (see :mod:`.plans`) ------------
    def _next_plan(
        self, actor: User, credential: Credential | None, now: float
    ) -> Plan[tuple[bool, Task | None]]:
        """"Next task" as one statement (``store.queue_pg.next_query``): the caller's context
        and, when the pool decides, the claim with the item and draft. ``(False, None)``
        hands over to the transaction: a gold item may be due, or the user already has an
        open task. Once a second it also sweeps expired leases and refreshes the claim floor
        (``store.loopstate.LoopState``; docs/loop.md)."""
        state = self.db.loop
        if state.sweep_due(now):
            rows = yield queue_pg.expire_query(now)
            if rows[0]["n"]:
                state.reopened()
        floor = state.floor(self.id, now)
        if floor is None:
            rows = yield queue_pg.floor_query(self.id)
            floor = state.remember(self.id, now, rows[0] if rows else None)
        for _ in range(3):
            known = self._pool_settings
            rows = yield queue_pg.next_query(
                project_id=self.id,
                user_id=actor.id,
                now=now,
                floor=floor,
                settings=known[0] if known else None,
                known=known is not None,
                roles=_WORK_ROLES,
                admin=actor.is_admin,
                credential=credential,
            )
            row = rows[0] if rows else None
            ctx = self._ctx_from_row(row, actor, "task.work", credential)
            assert row is not None
            refuse_archived(row)
            if ctx.workflow.gold_rate > 0 or row["has_open"]:
                return False, None
            if not row["attempted"]:  # settings or priorities changed since seen: claim again
                self._pool_settings = (row["settings"],)
                if row["claim_version"] != floor.version:  # from the start of the new order
                    floor = loopstate.top(int(row["claim_version"]))
                    state.forget(self.id)  # the next claim reads the new floor
                continue
            if row["lease_id"] is None and floor != loopstate.top(floor.version):
                floor = loopstate.top(floor.version)  # none after the floor: look before
                continue
            break
        else:
            return False, None
        if row["lease_id"] is None:  # the pool is empty for this user: the transaction
            return False, None       # looks for their skipped items (store.worklog)
        comments: list[dict[str, Any]] = []
        draft = row["draft"]
        if row["rejected"]:
            reviews = yield qa_store.REVIEWS_FOR_ITEM, {"i": row["lease_item_id"]}
            comments = rejections(reviews, actor)
            if draft is None:  # rework opens with the rejected answer
                rows = yield lc_store.REJECTED_ANSWER, {"i": row["lease_item_id"], "u": actor.id}
                draft = rows[0]["value"] if rows else None
        return True, Task(
            id=row["lease_id"],
            item_id=row["lease_item_id"],
            project_id=self.id,
            lease_expires_at=row["lease_expires_at"],
            data=orjson.loads(row["data"]),
            external_id=row["external_id"],
            draft=orjson.loads(draft) if draft else None,
            review_comments=comments,
        )

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
                prior, done = run_plan(self.db, self._submit_plan(*args))
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
            prior, done = await arun_plan(self.db, self._submit_plan(*args))
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

    def _submit_plan(
        self, task_id: int, value: dict[str, Any], actor: User, key: str,
        time_spent_ms: int | None, now: float, credential: Credential | None,
    ) -> Plan[tuple[dict[str, Any] | None, Done | None]]:
        """A submit in one statement when it can be (``store.queue_pg.submit_one_query``): the
        value checked first against the schema version this process saw last, when that
        schema needs no item data (no spans); otherwise every read in one statement, then
        one atomic write.

        A value that fails that early check takes the long way, so a non-member learns
        nothing of the schema. (None, None) hands over to :meth:`_submit_in_transaction`:
        the lease changed between statements, and that path says how.
        """
        row: dict[str, Any] | None = None
        seen = self._submit_versions
        schema = self._schema_cache.get(seen[0]) if seen else None
        if seen is not None and schema is not None and not schema.needs_item:
            try:
                clean = schema.validate_annotation(value)
            except TruelabelError:
                clean = None
            if clean is not None:
                rows = yield queue_pg.submit_one_query(
                    values=self._annotation_row(
                        key=key, task_id=task_id, actor=actor, clean=clean, now=now,
                        time_spent_ms=time_spent_ms, versions=seen,
                    ),
                    now=now,
                    roles=_WORK_ROLES,
                    admin=actor.is_admin,
                    credential=credential,
                )
                row = rows[0] if rows else None
                ctx = self._ctx_from_row(row, actor, "task.work", credential)
                assert row is not None
                if row["new_id"] is not None:
                    return None, (ctx, int(row["task_item_id"]), int(row["new_id"]), clean)
                # not stored: find out why below, from the same statement's context
        if row is None:
            rows = yield project_store.hot_context_query(
                project_id=self.id, user_id=actor.id, submit=(task_id, key),
                credential=credential,
            )
            row = rows[0] if rows else None
        ctx = self._ctx_from_row(row, actor, "task.work", credential)
        assert row is not None
        self._submit_versions = (ctx.schema_id, ctx.guideline_id)
        if row["prior_id"] is not None:
            return {
                "id": row["prior_id"],
                "project_id": row["prior_project_id"],
                "item_id": row["prior_item_id"],
                "assignment_id": row["prior_assignment_id"],
                "supersedes_id": row["prior_supersedes_id"],
            }, None
        if row["task_item_id"] is None:
            raise NotFound(f"No task {task_id} for you. Ask for the next task.")
        if row["task_project_id"] != self.id:
            raise NotFound(f"No task {task_id} for you in this project.")
        item_id = int(row["task_item_id"])
        clean = ctx.schema.validate_annotation(value, orjson.loads(row["item_data"]))
        queue.ensure_leased(
            {"id": task_id, "status": row["task_status"], "lease_expires_at": row["task_expires"]},
            now,
        )
        rows = yield queue_pg.submit_query(
            values={
                "item_id": item_id,
                **self._annotation_row(
                    key=key, task_id=task_id, actor=actor, clean=clean, now=now,
                    time_spent_ms=time_spent_ms, versions=(ctx.schema_id, ctx.guideline_id),
                ),
            },
            now=now,
        )
        if not rows:
            return None, None
        return None, (ctx, item_id, int(rows[0]["id"]), clean)

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
