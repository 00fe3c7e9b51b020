"""The annotators' loop on PostgreSQL, each step one atomic statement.

A round trip to PostgreSQL costs CPU in both processes, and the annotators' loop is most
of a team's traffic, so there a claim and a submit's writes are each one statement (a
data-modifying CTE), run outside a transaction: the statement is the transaction. Its
conditions re-check everything the caller read before, so the invariants of
:mod:`.queue` hold without a surrounding transaction. These functions only build
(statement, parameters): the caller runs them on a sync or an async connection
(``fast.rows`` / ``fast.arows``). SQLite (no CTE writes, no round trips) runs the
functions of :mod:`.queue` in one write transaction instead. Both are built from the
fragments of :mod:`.queue_sql`; ``docs/loop.md`` is the specification.
"""

from __future__ import annotations

import functools
from typing import Any

from .loopstate import Floor
from .queue_sql import (
    FLOOR,
    LEASE_LAPSED,
    REASSIGN,
    RETURN_SLOTS,
    RETURN_STATE,
    SUBMIT_STATE,
    TAKE_SLOT,
    lease_live,
    pool_walk,
)

Query = tuple[str, dict[str, Any]]

#: Lease the candidate ``c``, count its slot (``{overlap}``, ``{expires}``: SQL expressions)
#: and return the item: CTEs ``l`` (the lease) and ``t`` (the item).
_LEASE_CTES = (
    "l AS (INSERT INTO assignments (project_id, item_id, user_id, status, "
    "lease_expires_at, created_at) SELECT :p, c.id, :u, 'leased', {expires}, :now FROM c "
    f"{REASSIGN} RETURNING id, item_id, lease_expires_at), "
    f"t AS (UPDATE items SET {TAKE_SLOT} FROM l "
    "WHERE items.id = l.item_id RETURNING items.id, items.external_id, items.data)"
)

def _allowed(credential_kind: str | None) -> str:
    """SQL over the ``ctx`` row: the caller may work on tasks here. ``:roles``: the member
    roles that may; without a credential to check, ``:admin`` says the caller is an admin."""
    if credential_kind is None:
        return "(:admin OR ctx.member_role = ANY(:roles))"
    return "ctx.auth_uid = :u AND (ctx.auth_role = 'admin' OR ctx.member_role = ANY(:roles))"


@functools.lru_cache(maxsize=8)
def _next_sql(credential_kind: str | None) -> str:
    from .projects import hot_sql

    allowed = _allowed(credential_kind)
    # the pool walk, taken only when ``go`` has its row
    walk = pool_walk(" AND EXISTS (SELECT 1 FROM go)")
    lease = _LEASE_CTES.format(
        overlap="(SELECT overlap FROM ctx)", expires=":now + (SELECT lease_seconds FROM ctx)"
    )
    return (
        f"WITH ctx AS ({hot_sql('next', credential_kind)}), "
        "go AS (SELECT 1 FROM ctx WHERE :know AND ctx.settings IS NOT DISTINCT FROM :expect "
        f"AND ctx.claim_version = :version AND NOT ctx.has_open AND {allowed} "
        "AND ctx.archived_at IS NULL), "
        f"c AS ({walk}), {lease} "
        # a lease is not worth a wait for the disk (as ``Database.write(durable=False)``):
        # this statement's commit is not fsynced at once; a crash may lose the lease
        # whole (the annotator's submit then answers 409), never half of it
        "SELECT ctx.*, set_config('synchronous_commit', 'off', true) AS relaxed, "
        "EXISTS (SELECT 1 FROM go) AS attempted, l.id AS lease_id, "
        "l.item_id AS lease_item_id, l.lease_expires_at, t.external_id, t.data, "
        "(SELECT d.value FROM drafts d WHERE d.user_id = :u AND d.item_id = l.item_id) AS draft, "
        "EXISTS (SELECT 1 FROM annotations o JOIN reviews r ON r.annotation_id = o.id "
        "WHERE o.item_id = l.item_id AND o.user_id = :u AND r.decision = 'reject') AS rejected "
        "FROM ctx LEFT JOIN l ON TRUE LEFT JOIN t ON t.id = l.item_id"
    )


def next_query(
    *,
    project_id: int,
    user_id: int,
    now: float,
    floor: Floor,
    settings: str | None,
    known: bool,
    roles: list[str],
    admin: bool,
    credential: Any = None,
) -> Query:
    """The whole of "next task" in one statement: the caller's context as
    ``store.projects.hot_context`` reads it for ``next_at`` (columns of the project, role,
    ``has_open``, credential check) and, when the pool decides, the claim of
    pool: this user's first open item in the claim order from ``floor`` on, skipping rows
    other claims hold, leased and its slot counted (``lease_*``, the item's ``data`` and
    ``external_id``, the user's ``draft``, whether a reviewer ``rejected`` their earlier
    work on it).

    The claim is ``attempted`` only if the caller may work here (``roles``: member roles
    that may; ``admin``: the caller is a workspace admin, when no ``credential`` is
    checked), has no open task, and the project's settings text is still ``settings``, the
    one the caller last saw and found free of a gold rate (``known``: it has seen one),
    and the project's priorities are still those of ``floor.version``.
    """
    from .projects import hot_context_query

    _, params = hot_context_query(
        project_id=project_id, user_id=user_id, next_at=now, credential=credential
    )
    params.update(fp=floor.priority, fid=floor.item_id, version=floor.version, expect=settings,
                  know=known, roles=roles, admin=admin)
    return _next_sql(credential and credential.kind), params


def submit_query(*, values: dict[str, Any], now: float) -> Query:
    """If the task is still this user's live lease: mark it submitted, store the annotation
    (``values``: its columns), count the item done and drop the draft; returns the new
    annotation's ``id``. No row when the lease is gone (the caller finds out why)."""
    return f"WITH {_submit_writes(values)} SELECT id FROM n", {**values, "now": now}


_SUBMIT_WRITES = (
    "a AS (UPDATE assignments SET status = 'submitted', lease_expires_at = NULL "
    "WHERE id = :assignment_id AND user_id = :user_id AND project_id = :project_id "
    "AND " + lease_live("assignments") + "{gate} RETURNING id, item_id), "
    "n AS (INSERT INTO annotations (item_id, {cols}) SELECT a.item_id, {params} FROM a "
    "RETURNING id), "
    f"t AS (UPDATE items SET n_done = n_done + 1, {SUBMIT_STATE} FROM a "
    "WHERE items.id = a.item_id AND items.is_gold = FALSE), "
    "d AS (DELETE FROM drafts USING a WHERE drafts.user_id = :user_id "
    "AND drafts.item_id = a.item_id)"
)


def _submit_writes(values: dict[str, Any], gate: str = "") -> str:
    cols = [k for k in values if k != "item_id"]
    return _SUBMIT_WRITES.format(
        gate=gate, cols=", ".join(cols), params=", ".join(f":{k}" for k in cols)
    )


def submit_one_query(
    *, values: dict[str, Any], now: float, roles: list[str], admin: bool, credential: Any = None
) -> Query:
    """A whole submit in one statement, for a value already checked against the schema and
    guideline versions it names (``values["schema_version_id"]``, ``guideline_version_id``):
    the caller's context as ``store.projects.hot_context`` reads it for a submit, and the
    writes of :func:`submit_query`, done only if the caller may work here (``roles``,
    ``admin`` as for :func:`next_query`), nothing is stored under the key yet, the task is
    in this project and those versions are still the current ones. ``new_id``: the stored
    annotation, or NULL (the context columns say why)."""
    from .projects import hot_context_query, hot_sql

    kind = credential and credential.kind
    allowed = _allowed(kind)
    sql = (
        f"WITH ctx AS ({hot_sql('submit', kind)}), "
        "go AS (SELECT 1 FROM ctx WHERE ctx.prior_id IS NULL AND ctx.task_project_id = :p "
        "AND ctx.schema_id = :schema_version_id "
        f"AND ctx.guideline_id IS NOT DISTINCT FROM :guideline_version_id AND {allowed}), "
        + _submit_writes(values, " AND EXISTS (SELECT 1 FROM go)")
        + " SELECT ctx.*, (SELECT id FROM n) AS new_id FROM ctx"
    )
    _, params = hot_context_query(
        project_id=values["project_id"],
        user_id=values["user_id"],
        submit=(values["assignment_id"], values["idempotency_key"]),
        credential=credential,
    )
    params.update(values, now=now, roles=roles, admin=admin)
    return sql, params


def expire_query(now: float) -> Query:
    """:func:`expire_leases` as one statement: returns ``n``, the leases expired."""
    return (
        "WITH e AS (UPDATE assignments SET status = 'expired' WHERE status = 'leased' "
        f"AND id IN (SELECT id FROM assignments WHERE {LEASE_LAPSED} "
        "LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING item_id), "
        "c AS (SELECT item_id, COUNT(*) AS n FROM e GROUP BY item_id), "
        f"r AS (UPDATE items SET {RETURN_SLOTS.format(n='c.n')}, "
        f"{RETURN_STATE.format(n='c.n')} FROM c "
        "WHERE items.id = c.item_id AND items.is_gold = FALSE) "
        "SELECT COUNT(*) AS n FROM e",
        {"now": now},
    )


def floor_query(project_id: int) -> Query:
    """The project's first open item in the claim order and its ``claim_version``
    (``loopstate.LoopState.remember`` keeps it)."""
    return FLOOR, {"p": project_id}
