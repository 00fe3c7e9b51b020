"""The task queue: leases, claims, skips, submits and drafts (the only SQL for them).

Invariant: ``items.n_taken`` counts the item's assignments that are queued, leased or
submitted, and never exceeds the project's overlap; ``items.open`` is 1 while it is below.
Every function runs inside the caller's write transaction (see ``Database.write``).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection

from truelabel.domain.errors import Conflict, LeaseExpired, NotFound, StaleVersion

from . import fast
from .db import sql

_LEASE_COLS = "id, item_id, project_id, user_id, status, lease_expires_at"


def expire_leases(conn: Connection, now: float) -> int:
    """Return abandoned work to the pool: leases past their expiry become ``expired``.

    The status change and the counter update see the same rows, so two concurrent sweeps
    never return one slot twice (the second one's UPDATE skips rows already expired).
    """
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect.name == "postgresql" else ""
    items = fast.rows(
        conn,
        "UPDATE assignments SET status = 'expired' WHERE status = 'leased' AND id IN "
        "(SELECT id FROM assignments WHERE status = 'leased' AND lease_expires_at < :now "
        f"LIMIT 1000{lock}) RETURNING item_id",
        {"now": now},
    )
    for r in items:
        fast.execute(conn, _RETURN_SLOT, {"i": r["item_id"]})
    if items:
        _reopened(conn)
    return len(items)


#: Give an item's slot back to the pool (gold items are outside the pool: untouched).
_RETURN_SLOT = (
    "UPDATE items SET n_taken = n_taken - 1, open = 1 WHERE id = :i AND is_gold = FALSE"
)


def _lease_row(conn: Connection, assignment_id: int) -> dict[str, Any]:
    row = fast.one(
        conn, f"SELECT {_LEASE_COLS} FROM assignments WHERE id = :id", {"id": assignment_id}
    )
    assert row is not None
    return row


def current_lease(conn: Connection, project_id: int, user_id: int, now: float) -> dict | None:
    return fast.one(
        conn,
        f"SELECT {_LEASE_COLS} FROM assignments WHERE user_id = :u AND project_id = :p "
        "AND status = 'leased' AND lease_expires_at > :now ORDER BY id LIMIT 1",
        {"u": user_id, "p": project_id, "now": now},
    )


#: When each database last swept expired leases (one sweep a second is plenty).
_last_sweep: dict[int, float] = {}


#: The first open item of the project that this user has not had (SQLite: the writer lock
#: makes this the claim).
_POOL_CANDIDATE = (
    "SELECT i.id FROM items i WHERE i.project_id = :p AND i.open = 1 "
    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id "
    "AND a.user_id = :u AND a.status NOT IN ('expired', 'rejected')) ORDER BY i.id LIMIT 1"
)

#: PostgreSQL: the same, row-locked, skipping rows that other claims hold. Written as a walk
#: over the open-items index (``OFFSET 0`` keeps it a separate plan) with a per-row locking
#: probe: left to itself the planner reads the primary key from the start and filters out
#: every item already taken, which grows with the project's history (7 ms after 19k claims
#: on 1M items, against 0.4 ms this way).
_POOL_CANDIDATE_LOCKED = (
    "SELECT x.id FROM (SELECT o.id FROM items o WHERE o.project_id = :p AND o.open = 1 "
    "AND o.id >= :floor ORDER BY o.id OFFSET 0) w, "
    "LATERAL (SELECT i.id FROM items i WHERE i.id = w.id AND i.open = 1 "
    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id "
    "AND a.user_id = :u AND a.status NOT IN ('expired', 'rejected')) "
    "FOR UPDATE OF i SKIP LOCKED) x LIMIT 1"
)


def sweep_due(engine: Any, now: float) -> bool:
    """True at most once a second per database: time to run :func:`expire_leases`."""
    key = id(engine)
    if now - _last_sweep.get(key, 0.0) < 1.0:
        return False
    _last_sweep[key] = now
    return True


def claim(
    conn: Connection,
    *,
    project_id: int,
    user_id: int,
    overlap: int,
    lease_seconds: float,
    now: float,
    skip_locked: bool = False,
    want_gold: bool = False,
) -> dict[str, Any] | None:
    """Lease the next item for ``user_id``: their open lease, a pre-assigned item, a gold item
    (when ``want_gold``), or the pool."""
    if sweep_due(conn.engine, now):
        expire_leases(conn, now)
    mine = fast.one(
        conn,
        f"SELECT {_LEASE_COLS} FROM assignments WHERE user_id = :u AND project_id = :p "
        "AND ((status = 'leased' AND lease_expires_at > :now) OR status = 'queued') "
        "ORDER BY CASE WHEN status = 'leased' THEN 0 ELSE 1 END, id LIMIT 1",
        {"u": user_id, "p": project_id, "now": now},
    )
    expires = now + lease_seconds
    if mine is not None:
        if mine["status"] == "queued":
            fast.execute(
                conn,
                "UPDATE assignments SET status = 'leased', lease_expires_at = :e WHERE id = :id",
                {"e": expires, "id": mine["id"]},
            )
            mine.update(status="leased", lease_expires_at=expires)
        return mine
    if want_gold:
        gold_item = fast.value(
            conn,
            "SELECT g.item_id FROM gold g WHERE g.project_id = :p AND NOT EXISTS "
            "(SELECT 1 FROM assignments a WHERE a.item_id = g.item_id AND a.user_id = :u) "
            "ORDER BY g.item_id LIMIT 1",
            {"p": project_id, "u": user_id},
        )
        if gold_item is not None:
            return fast.one(
                conn,
                "INSERT INTO assignments (project_id, item_id, user_id, status, "
                "lease_expires_at, created_at) VALUES (:p, :i, :u, 'leased', :e, :now) "
                f"RETURNING {_LEASE_COLS}",
                {"p": project_id, "i": gold_item, "u": user_id, "e": expires, "now": now},
            )
    cand = fast.value(
        conn,
        _POOL_CANDIDATE_LOCKED if skip_locked else _POOL_CANDIDATE,
        {"p": project_id, "u": user_id, "floor": 0},
    )
    if cand is None:
        return None
    return _take(
        conn,
        project_id=project_id,
        item_id=cand,
        user_id=user_id,
        overlap=overlap,
        status="leased",
        expires=expires,
        now=now,
    )


def _take(
    conn: Connection,
    *,
    project_id: int,
    item_id: int,
    user_id: int,
    overlap: int,
    status: str,
    expires: float | None,
    now: float,
) -> dict[str, Any]:
    lease = fast.one(
        conn,
        "INSERT INTO assignments (project_id, item_id, user_id, status, lease_expires_at, "
        "created_at) VALUES (:p, :i, :u, :s, :e, :now) "
        "ON CONFLICT (item_id, user_id) DO UPDATE SET status = excluded.status, "
        "lease_expires_at = excluded.lease_expires_at "
        f"WHERE assignments.status IN ('expired', 'rejected') RETURNING {_LEASE_COLS}",
        {"p": project_id, "i": item_id, "u": user_id, "s": status, "e": expires, "now": now},
    )
    if lease is None:
        raise Conflict(f"Item {item_id} is already assigned to this user.")
    fast.execute(
        conn,
        "UPDATE items SET n_taken = n_taken + 1, "
        "open = CASE WHEN is_gold = TRUE OR n_taken + 1 >= COALESCE(target, :k) "
        "THEN 0 ELSE 1 END WHERE id = :i",
        {"k": overlap, "i": item_id},
    )
    return lease


def take_item(
    conn: Connection,
    *,
    project_id: int,
    item_id: int,
    user_id: int,
    overlap: int,
    status: str,
    lease_seconds: float | None,
    now: float,
) -> dict[str, Any]:
    """Assign one given item to a user (``queued`` for later, or ``leased`` now)."""
    existing = conn.execute(
        sql("SELECT id, status FROM assignments WHERE item_id = :i AND user_id = :u"),
        {"i": item_id, "u": user_id},
    ).first()
    if existing and existing.status in ("queued", "leased"):
        if status == "leased" and lease_seconds is not None:
            conn.execute(
                sql(
                    "UPDATE assignments SET status = 'leased', lease_expires_at = :e WHERE id = :id"
                ),
                {"e": now + lease_seconds, "id": existing.id},
            )
        return _lease_row(conn, existing.id)
    if existing and existing.status in ("submitted", "skipped"):
        raise Conflict(
            f"Item {item_id} was already {existing.status} by this user; "
            "edit the existing annotation instead."
        )
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    taken = conn.execute(
        sql(f"SELECT n_taken FROM items WHERE id = :i{lock}"), {"i": item_id}
    ).scalar_one()
    if taken >= overlap and not is_gold_item(conn, item_id):
        raise Conflict(
            f"Item {item_id} already has {taken} of {overlap} annotators; "
            "raise the project's overlap to add more."
        )
    expires = now + lease_seconds if lease_seconds is not None else None
    return _take(
        conn,
        project_id=project_id,
        item_id=item_id,
        user_id=user_id,
        overlap=overlap,
        status=status,
        expires=expires,
        now=now,
    )


def release(conn: Connection, *, assignment_id: int, user_id: int, status: str) -> None:
    """End a lease without an annotation (``skipped``), returning the slot to the pool."""
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    a = conn.execute(
        sql(f"SELECT id, item_id, status FROM assignments WHERE id = :id AND user_id = :u{lock}"),
        {"id": assignment_id, "u": user_id},
    ).first()
    if a is None:
        raise NotFound(f"No task {assignment_id} for you.")
    if a.status not in ("leased", "queued"):
        raise Conflict(f"Task {assignment_id} is {a.status}; only an open task can be skipped.")
    conn.execute(
        sql("UPDATE assignments SET status = :s, lease_expires_at = NULL WHERE id = :id"),
        {"s": status, "id": assignment_id},
    )
    fast.execute(conn, _RETURN_SLOT, {"i": a.item_id})
    _reopened(conn)


def find_by_key(conn: Connection, user_id: int, key: str) -> dict[str, Any] | None:
    return fast.one(
        conn,
        "SELECT id, project_id, item_id, assignment_id, supersedes_id FROM annotations "
        "WHERE user_id = :u AND idempotency_key = :k",
        {"u": user_id, "k": key},
    )


def lock_assignment(
    conn: Connection, *, assignment_id: int, user_id: int, lock: bool = False
) -> dict[str, Any]:
    """The caller's assignment, row-locked on PostgreSQL so racing submits queue up."""
    row = fast.one(
        conn,
        "SELECT id, item_id, project_id, status, lease_expires_at FROM assignments "
        "WHERE id = :id AND user_id = :u" + (" FOR UPDATE" if lock else ""),
        {"id": assignment_id, "u": user_id},
    )
    if row is None:
        raise NotFound(f"No task {assignment_id} for you. Ask for the next task.")
    return row


def ensure_leased(row: dict[str, Any], now: float) -> None:
    """Raise unless ``row`` (from :func:`lock_assignment`) is a live lease."""
    if row["status"] == "submitted":
        raise Conflict(
            f"Task {row['id']} was already submitted with another key; "
            "edit that annotation instead of submitting again."
        )
    expires = row["lease_expires_at"]
    if row["status"] != "leased" or expires is None or expires <= now:
        raise LeaseExpired(
            f"The lease on task {row['id']} has expired and the item went back to the "
            "pool; your draft is kept. Ask for the next task to continue.",
            assignment_id=row["id"],
        )


def insert_annotation(conn: Connection, values: dict[str, Any]) -> int:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return int(
        fast.value(conn, f"INSERT INTO annotations ({cols}) VALUES ({params}) RETURNING id", values)
    )


def complete(conn: Connection, *, assignment_id: int, item_id: int, user_id: int) -> None:
    fast.execute(
        conn,
        "UPDATE assignments SET status = 'submitted', lease_expires_at = NULL WHERE id = :id",
        {"id": assignment_id},
    )
    fast.execute(
        conn,
        "UPDATE items SET n_done = n_done + 1 WHERE id = :i AND is_gold = FALSE",
        {"i": item_id},
    )
    fast.execute(
        conn, "DELETE FROM drafts WHERE user_id = :u AND item_id = :i", {"u": user_id, "i": item_id}
    )


def supersede(conn: Connection, *, old_id: int, values: dict[str, Any]) -> int:
    """Append a new annotation that replaces ``old_id``; 409 if ``old_id`` is not current."""
    cur = conn.execute(
        sql("UPDATE annotations SET is_current = FALSE WHERE id = :id AND is_current = TRUE"),
        {"id": old_id},
    )
    if cur.rowcount != 1:
        newer = conn.execute(
            sql("SELECT id FROM annotations WHERE supersedes_id = :id"), {"id": old_id}
        ).scalar()
        raise StaleVersion(
            f"Annotation {old_id} was already replaced by annotation {newer}; "
            "reload the item and edit the newest version.",
            current_id=newer,
        )
    return insert_annotation(conn, {**values, "supersedes_id": old_id})


def save_draft(conn: Connection, *, user_id: int, item_id: int, value: str, now: float) -> None:
    conn.execute(
        sql(
            "INSERT INTO drafts (user_id, item_id, value, updated_at) VALUES (:u, :i, :v, :t) "
            "ON CONFLICT (user_id, item_id) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at"
        ),
        {"u": user_id, "i": item_id, "v": value, "t": now},
    )


def get_draft(conn: Connection, *, user_id: int, item_id: int) -> str | None:
    return fast.value(
        conn,
        "SELECT value FROM drafts WHERE user_id = :u AND item_id = :i",
        {"u": user_id, "i": item_id},
    )


def has_assignment(conn: Connection, *, user_id: int, item_id: int) -> bool:
    return (
        conn.execute(
            sql(
                "SELECT 1 FROM assignments WHERE user_id = :u AND item_id = :i "
                "AND status <> 'expired'"
            ),
            {"u": user_id, "i": item_id},
        ).first()
        is not None
    )


def reopen_all(conn: Connection, *, project_id: int, overlap: int) -> None:
    """Recompute ``open`` after the project's overlap changed."""
    conn.execute(
        sql(
            "UPDATE items SET open = CASE WHEN is_gold = FALSE AND n_taken < "
            "COALESCE(target, :k) THEN 1 ELSE 0 END WHERE project_id = :p"
        ),
        {"k": overlap, "p": project_id},
    )
    _reopened(conn)


def get_task(
    conn: Connection, *, task_id: int, user_id: int, project_id: int
) -> dict[str, Any] | None:
    return fast.one(
        conn,
        "SELECT id, item_id, lease_expires_at, status FROM assignments "
        "WHERE id = :id AND user_id = :u AND project_id = :p",
        {"id": task_id, "u": user_id, "p": project_id},
    )


def is_gold_item(conn: Connection, item_id: int) -> bool:
    return bool(
        conn.execute(sql("SELECT is_gold FROM items WHERE id = :i"), {"i": item_id}).scalar()
    )


def reject(conn: Connection, *, annotation_id: int) -> None:
    """Send a rejected annotation's item back to the queue (any annotator may take it)."""
    row = conn.execute(
        sql("SELECT item_id, assignment_id FROM annotations WHERE id = :id"),
        {"id": annotation_id},
    ).one()
    conn.execute(
        sql("UPDATE annotations SET is_current = FALSE WHERE id = :id"), {"id": annotation_id}
    )
    if row.assignment_id is not None:
        conn.execute(
            sql(
                "UPDATE assignments SET status = 'rejected', lease_expires_at = NULL WHERE id = :id"
            ),
            {"id": row.assignment_id},
        )
    conn.execute(
        sql(
            "UPDATE items SET n_taken = n_taken - 1, n_done = n_done - 1, open = 1 "
            "WHERE id = :i AND is_gold = FALSE"
        ),
        {"i": row.item_id},
    )
    _reopened(conn)


def raise_target(conn: Connection, *, item_id: int, target: int) -> None:
    """Adaptive overlap: the item wants ``target`` annotators now."""
    conn.execute(
        sql(
            "UPDATE items SET target = :t, open = CASE WHEN n_taken < :t THEN 1 ELSE 0 END "
            "WHERE id = :i AND is_gold = FALSE"
        ),
        {"t": target, "i": item_id},
    )
    _reopened(conn)


def count_assignments(conn: Connection, *, project_id: int, user_id: int) -> int:
    return int(
        fast.value(
            conn,
            "SELECT COUNT(*) FROM assignments WHERE project_id = :p AND user_id = :u",
            {"p": project_id, "u": user_id},
        )
    )


# -- PostgreSQL: each step one atomic statement ------------------------------------------
# A round trip to PostgreSQL costs CPU in both processes, and the annotators' loop is most
# of a team's traffic, so there a claim and a submit's writes are each one statement (a
# data-modifying CTE), run outside a transaction: the statement is the transaction. Its
# conditions re-check everything the caller read before, so the invariants above hold
# without a surrounding transaction. These functions only build (statement, parameters):
# the caller runs them on a sync or an async connection (``fast.rows`` / ``fast.arows``).
# SQLite (no CTE writes, no round trips) runs the functions above in one write transaction.

Query = tuple[str, dict[str, Any]]

#: Lease the candidate ``c``, count its slot (``{overlap}``, ``{expires}``: SQL expressions)
#: and return the item: CTEs ``l`` (the lease) and ``t`` (the item).
_LEASE_CTES = (
    "l AS (INSERT INTO assignments (project_id, item_id, user_id, status, "
    "lease_expires_at, created_at) SELECT :p, c.id, :u, 'leased', {expires}, :now FROM c "
    "ON CONFLICT (item_id, user_id) DO UPDATE SET status = excluded.status, "
    "lease_expires_at = excluded.lease_expires_at "
    "WHERE assignments.status IN ('expired', 'rejected') "
    "RETURNING id, item_id, lease_expires_at), "
    "t AS (UPDATE items SET n_taken = n_taken + 1, open = CASE WHEN is_gold = TRUE "
    "OR n_taken + 1 >= COALESCE(target, {overlap}) THEN 0 ELSE 1 END FROM l "
    "WHERE items.id = l.item_id RETURNING items.id, items.external_id, items.data)"
)

@functools.lru_cache(maxsize=8)
def _next_sql(credential_kind: str | None) -> str:
    from .projects import hot_sql

    allowed = (
        "(:admin OR ctx.member_role = ANY(:roles))"
        if credential_kind is None
        else "ctx.auth_uid = :u AND (ctx.auth_role = 'admin' OR ctx.member_role = ANY(:roles))"
    )
    # the pool walk, taken only when ``go`` has its row
    walk = _POOL_CANDIDATE_LOCKED.replace(
        "AND o.id >= :floor", "AND o.id >= :floor AND EXISTS (SELECT 1 FROM go)"
    )
    lease = _LEASE_CTES.format(
        overlap="(SELECT overlap FROM ctx)", expires=":now + (SELECT lease_seconds FROM ctx)"
    )
    return (
        f"WITH ctx AS ({hot_sql('next', credential_kind)}), "
        "go AS (SELECT 1 FROM ctx WHERE :know AND ctx.settings IS NOT DISTINCT FROM :expect "
        f"AND NOT ctx.has_open AND {allowed}), "
        f"c AS ({walk}), {lease} "
        "SELECT ctx.*, EXISTS (SELECT 1 FROM go) AS attempted, l.id AS lease_id, "
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
    floor: int,
    settings: str | None,
    known: bool,
    roles: list[str],
    admin: bool,
    credential: Any = None,
) -> Query:
    """The whole of "next task" in one statement: the caller's context as
    ``store.projects.hot_context`` reads it for ``next_at`` (columns of the project, role,
    ``has_open``, credential check) and, when the pool decides, the claim of
    pool: the first open item (id >= ``floor``) this user has not had, skipping rows other
    claims hold, leased and its slot counted (``lease_*``, the item's ``data`` and
    ``external_id``, the user's ``draft``, whether a reviewer ``rejected`` their earlier
    work on it).

    The claim is ``attempted`` only if the caller may work here (``roles``: member roles
    that may; ``admin``: the caller is a workspace admin, when no ``credential`` is
    checked), has no open task, and the project's settings text is still ``settings``, the
    one the caller last saw and found free of a gold rate (``known``: it has seen one).
    """
    from .projects import hot_context_query

    _, params = hot_context_query(
        project_id=project_id, user_id=user_id, next_at=now, credential=credential
    )
    params.update(floor=floor, expect=settings, know=known, roles=roles, admin=admin)
    return _next_sql(credential and credential.kind), params


def submit_query(*, values: dict[str, Any], now: float) -> Query:
    """If the task is still this user's live lease: mark it submitted, store the annotation
    (``values``: its columns), count the item done and drop the draft; returns the new
    annotation's ``id``. No row when the lease is gone (the caller finds out why)."""
    return f"WITH {_submit_writes(values)} SELECT id FROM n", {**values, "now": now}


_SUBMIT_WRITES = (
    "a AS (UPDATE assignments SET status = 'submitted', lease_expires_at = NULL "
    "WHERE id = :assignment_id AND user_id = :user_id AND project_id = :project_id "
    "AND status = 'leased' AND lease_expires_at > :now{gate} RETURNING id, item_id), "
    "n AS (INSERT INTO annotations (item_id, {cols}) SELECT a.item_id, {params} FROM a "
    "RETURNING id), "
    "t AS (UPDATE items SET n_done = n_done + 1 FROM a "
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
    allowed = (
        "(:admin OR ctx.member_role = ANY(:roles))"
        if kind is None
        else "ctx.auth_uid = :u AND (ctx.auth_role = 'admin' OR ctx.member_role = ANY(:roles))"
    )
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
        "AND id IN (SELECT id FROM assignments WHERE status = 'leased' "
        "AND lease_expires_at < :now LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING item_id), "
        "c AS (SELECT item_id, COUNT(*) AS n FROM e GROUP BY item_id), "
        "r AS (UPDATE items SET n_taken = n_taken - c.n, open = 1 FROM c "
        "WHERE items.id = c.item_id AND items.is_gold = FALSE) "
        "SELECT COUNT(*) AS n FROM e",
        {"now": now},
    )


#: PostgreSQL keeps the index entries of items taken since its last VACUUM (marked dead,
#: but still walked): on a long-running project a claim walking the open-items index from
#: the start would wade through every item taken so far (0.2 ms after 20k claims, growing).
#: So each process remembers, per project, an id below which no item was open a moment
#: ago, and claims start there. It is refreshed once a second and dropped as soon as this
#: process reopens an item (a skip, an expired lease, a rejection, a raised overlap); an
#: item another process reopens is offered here within the second, and a claim finding
#: nothing above the floor looks below it.
_floors: dict[tuple[int, int], tuple[float, int]] = {}


def floor_query(project_id: int) -> Query:
    return (
        "SELECT o.id FROM items o WHERE o.project_id = :p AND o.open = 1 ORDER BY o.id LIMIT 1",
        {"p": project_id},
    )


def known_floor(db_key: int, project_id: int, now: float) -> int | None:
    """The remembered floor (``db_key``: ``id(engine)``), or None when it is due a refresh."""
    hit = _floors.get((db_key, project_id))
    if hit is not None and 0 <= now - hit[0] < 1.0:
        return hit[1]
    return None


def remember_floor(db_key: int, project_id: int, now: float, low: int | None) -> int:
    _floors[(db_key, project_id)] = (now, int(low or 0))
    return int(low or 0)


def reopened(db_key: int) -> None:
    """An item of this database went back to the pool: claims walk from the start again."""
    for key in [k for k in _floors if k[0] == db_key]:
        _floors.pop(key, None)


def _reopened(conn: Connection) -> None:
    reopened(id(conn.engine))
