"""The annotators' loop on PostgreSQL as plans of single statements (see :mod:`.plans`):
"next task" and "submit" for :class:`~.tasks.TaskService`, each a generator that yields
statements and gets their rows back, so the same plan runs on a sync or an async
connection. A plan that cannot decide hands over to the service's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import orjson

from truelabel.domain.errors import NotFound, TruelabelError
from truelabel.domain.models import Credential, Task, User
from truelabel.domain.roles import Role, role_allows
from truelabel.store import lifecycle as lc_store
from truelabel.store import loopstate, queue, queue_pg
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store

from .manage import refuse_archived
from .plans import Plan
from .review import rejections

if TYPE_CHECKING:
    from truelabel.store.db import Database

    from .context import _Ctx

    #: what a stored submit did: context, item id, annotation id, the checked value
    Done = tuple[_Ctx, int, int, dict[str, Any]]


class LoopService(Protocol):
    """What the plans use of :class:`~.tasks.TaskService` (its loop state and row helpers)."""

    id: int
    db: Database
    _pool_settings: tuple[str | None] | None
    _submit_versions: tuple[int, int | None] | None
    _schema_cache: Any

    def _ctx_from_row(self, row: dict[str, Any] | None, actor: User | None, permission: str,
                      cred: Credential | None) -> _Ctx: ...

    def _annotation_row(self, *, key: str, task_id: int | None, actor: User,
                        clean: dict[str, Any], now: float, time_spent_ms: int | None,
                        versions: tuple[int, int | None]) -> dict[str, Any]: ...

#: the member roles that may work on tasks
WORK_ROLES = sorted(r.value for r in Role if role_allows(r, "task.work"))


def next_plan(
    svc: LoopService, actor: User, credential: Credential | None, now: float
) -> Plan[tuple[bool, Task | None]]:
    """"Next task" as one statement (``store.queue_pg.next_query``): the caller's context
    and, when the pool decides, the claim with the item and draft. ``(False, None)``
    hands over to the transaction: a gold item may be due, or the user already has an
    open task. Once a second it also sweeps expired leases and refreshes the claim floor
    (``store.loopstate.LoopState``; docs/loop.md)."""
    state = svc.db.loop
    if state.sweep_due(now):
        rows = yield queue_pg.expire_query(now)
        if rows[0]["n"]:
            state.reopened()
    floor = state.floor(svc.id, now)
    if floor is None:
        rows = yield queue_pg.floor_query(svc.id)
        floor = state.remember(svc.id, now, rows[0] if rows else None)
    for _ in range(3):
        known = svc._pool_settings
        rows = yield queue_pg.next_query(
            project_id=svc.id,
            user_id=actor.id,
            now=now,
            floor=floor,
            settings=known[0] if known else None,
            known=known is not None,
            roles=WORK_ROLES,
            admin=actor.is_admin,
            credential=credential,
        )
        row = rows[0] if rows else None
        ctx = svc._ctx_from_row(row, actor, "task.work", credential)
        assert row is not None
        refuse_archived(row)
        if ctx.workflow.gold_rate > 0 or row["has_open"]:
            return False, None
        if not row["attempted"]:  # settings or priorities changed since seen: claim again
            svc._pool_settings = (row["settings"],)
            if row["claim_version"] != floor.version:  # from the start of the new order
                floor = loopstate.top(int(row["claim_version"]))
                state.forget(svc.id)  # the next claim reads the new floor
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
        project_id=svc.id,
        lease_expires_at=row["lease_expires_at"],
        data=orjson.loads(row["data"]),
        external_id=row["external_id"],
        draft=orjson.loads(draft) if draft else None,
        review_comments=comments,
    )


def submit_plan(
    svc: LoopService, task_id: int, value: dict[str, Any], actor: User, key: str,
    time_spent_ms: int | None, now: float, credential: Credential | None,
) -> Plan[tuple[dict[str, Any] | None, Done | None]]:
    """A submit in one statement when it can be (``store.queue_pg.submit_one_query``): the
    value checked first against the schema version this process saw last, when that
    schema needs no item data (no spans); otherwise every read in one statement, then
    one atomic write.

    A value that fails that early check takes the long way, so a non-member learns
    nothing of the schema. (None, None) hands over to ``TaskService._submit_in_transaction``:
    the lease changed between statements, and that path says how.
    """
    row: dict[str, Any] | None = None
    seen = svc._submit_versions
    schema = svc._schema_cache.get(seen[0]) if seen else None
    if seen is not None and schema is not None and not schema.needs_item:
        try:
            clean = schema.validate_annotation(value)
        except TruelabelError:
            clean = None
        if clean is not None:
            rows = yield queue_pg.submit_one_query(
                values=svc._annotation_row(
                    key=key, task_id=task_id, actor=actor, clean=clean, now=now,
                    time_spent_ms=time_spent_ms, versions=seen,
                ),
                now=now,
                roles=WORK_ROLES,
                admin=actor.is_admin,
                credential=credential,
            )
            row = rows[0] if rows else None
            ctx = svc._ctx_from_row(row, actor, "task.work", credential)
            assert row is not None
            if row["new_id"] is not None:
                return None, (ctx, int(row["task_item_id"]), int(row["new_id"]), clean)
            # not stored: find out why below, from the same statement's context
    if row is None:
        rows = yield project_store.hot_context_query(
            project_id=svc.id, user_id=actor.id, submit=(task_id, key),
            credential=credential,
        )
        row = rows[0] if rows else None
    ctx = svc._ctx_from_row(row, actor, "task.work", credential)
    assert row is not None
    svc._submit_versions = (ctx.schema_id, ctx.guideline_id)
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
    if row["task_project_id"] != svc.id:
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
            **svc._annotation_row(
                key=key, task_id=task_id, actor=actor, clean=clean, now=now,
                time_spent_ms=time_spent_ms, versions=(ctx.schema_id, ctx.guideline_id),
            ),
        },
        now=now,
    )
    if not rows:
        return None, None
    return None, (ctx, item_id, int(rows[0]["id"]), clean)
