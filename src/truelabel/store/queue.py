"""The task queue: leases, claims, skips, submits and drafts (the only SQL for them).

Invariant: ``items.n_taken`` counts the item's assignments that are queued, leased or
submitted, and never exceeds the project's overlap; ``items.open`` is 1 while it is below.
Every function runs inside the caller's write transaction (see ``Database.write``).
PostgreSQL's one-statement forms of the loop live in :mod:`.queue_pg`; both are built from
the fragments of :mod:`.queue_sql`. ``docs/loop.md`` is the specification.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from truelabel.domain.errors import (
    Conflict,
    IllegalTransition,
    LeaseExpired,
    NotFound,
    StaleVersion,
)

from . import fast, loopstate, worklog
from .db import sql
from .queue_sql import (
    LEASE_LAPSED,
    POOL_CANDIDATE,
    REASSIGN,
    REOPEN,
    RETURN_SLOT,
    RETURN_STATE,
    REWANT_STATE,
    SUBMIT_STATE,
    TAKE_SLOT,
    TOP_PRIORITY,
    holds_open,
    lease_live,
    open_item,
    pool_walk,
)

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
        f"(SELECT id FROM assignments WHERE {LEASE_LAPSED} LIMIT 1000{lock}) RETURNING item_id",
        {"now": now},
    )
    for r in items:
        fast.execute(conn, _RETURN_SLOT, {"i": r["item_id"]})
    if items:
        loopstate.of(conn).reopened()
    return len(items)


#: Give an item's slot back to the pool (gold items are outside the pool: untouched).
_RETURN_SLOT = (
    f"UPDATE items SET {RETURN_SLOT}, {RETURN_STATE.format(n='1')} "
    "WHERE id = :i AND is_gold = FALSE"
)


def _lease_row(conn: Connection, assignment_id: int) -> dict[str, Any]:
    row = fast.one(
        conn, f"SELECT {_LEASE_COLS} FROM assignments WHERE id = :id", {"id": assignment_id}
    )
    assert row is not None
    return row


def current_lease(conn: Connection, project_id: int, user_id: int, now: float
                  ) -> dict[str, Any] | None:
    return fast.one(
        conn,
        f"SELECT {_LEASE_COLS} FROM assignments a WHERE user_id = :u AND project_id = :p "
        f"AND {lease_live('a')} ORDER BY id LIMIT 1",
        {"u": user_id, "p": project_id, "now": now},
    )


#: PostgreSQL's claim in a transaction: the pool walk from the start of the claim order
_POOL_CANDIDATE_LOCKED = pool_walk()


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
    if loopstate.of(conn).sweep_due(now):
        expire_leases(conn, now)
    mine = fast.one(
        conn,
        f"SELECT {_LEASE_COLS} FROM assignments a WHERE user_id = :u AND project_id = :p "
        f"AND {holds_open('a')} "
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
        _POOL_CANDIDATE_LOCKED if skip_locked else POOL_CANDIDATE,
        {"p": project_id, "u": user_id, "fp": TOP_PRIORITY, "fid": 0},
    )
    if cand is None:  # nothing else left: the user's own skipped items come back
        return worklog.reclaim_skipped(
            conn, project_id=project_id, user_id=user_id, overlap=overlap, expires=expires
        )
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
        f"created_at) VALUES (:p, :i, :u, :s, :e, :now) {REASSIGN} RETURNING {_LEASE_COLS}",
        {"p": project_id, "i": item_id, "u": user_id, "s": status, "e": expires, "now": now},
    )
    if lease is None:
        raise Conflict(f"Item {item_id} is already assigned to this user.")
    fast.execute(
        conn,
        f"UPDATE items SET {TAKE_SLOT.format(overlap=':k')} WHERE id = :i",
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
    taken, state = conn.execute(
        sql(f"SELECT n_taken, state FROM items WHERE id = :i{lock}"), {"i": item_id}
    ).one()
    if state in ("decided", "signed_off"):
        raise IllegalTransition(
            f"Item {item_id} is {state.replace('_', ' ')}: its label is settled, so it takes "
            "no more annotators. Pick an open item."
        )
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
    loopstate.of(conn).reopened()


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
    if row["status"] == "closed":
        raise Conflict(
            f"A manager decided the label of this item while task {row['id']} was open, so "
            "your answer was not stored (it is no longer needed); your draft is kept. Ask for "
            "the next task."
        )
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
        f"UPDATE items SET n_done = n_done + 1, {SUBMIT_STATE} WHERE id = :i AND is_gold = FALSE",
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
    draft: str | None = fast.value(
        conn,
        "SELECT value FROM drafts WHERE user_id = :u AND item_id = :i",
        {"u": user_id, "i": item_id},
    )
    return draft


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
        sql(f"UPDATE items SET {REOPEN}, {REWANT_STATE.format(want='COALESCE(target, :k)')} "
            "WHERE project_id = :p"),
        {"k": overlap, "p": project_id},
    )
    loopstate.of(conn).reopened()


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
            f"UPDATE items SET {RETURN_SLOT}, n_done = n_done - 1, state = CASE WHEN state "
            "IN ('decided', 'signed_off') THEN state ELSE 'rejected' END "
            "WHERE id = :i AND is_gold = FALSE"
        ),
        {"i": row.item_id},
    )
    loopstate.of(conn).reopened()


def raise_target(conn: Connection, *, item_id: int, target: int) -> None:
    """Adaptive overlap: the item wants ``target`` annotators now."""
    conn.execute(
        sql(
            "UPDATE items SET target = :t, open = CASE WHEN n_taken < :t THEN 1 ELSE 0 END, "
            f"{REWANT_STATE.format(want=':t')} "
            "WHERE id = :i AND is_gold = FALSE"
        ),
        {"t": target, "i": item_id},
    )
    loopstate.of(conn).reopened()


def count_assignments(conn: Connection, *, project_id: int, user_id: int) -> int:
    return int(
        fast.value(
            conn,
            "SELECT COUNT(*) FROM assignments WHERE project_id = :p AND user_id = :u",
            {"p": project_id, "u": user_id},
        )
    )



def _in_chunks(
    conn: Connection, project_id: int, column: str, keys: list[Any]
) -> list[dict[str, Any]]:
    """``id`` and ``column`` of the project's items whose ``column`` is among ``keys``."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        params: dict[str, Any] = {f"k{n}": k for n, k in enumerate(chunk)}
        marks = ", ".join(f":{k}" for k in params)
        params["p"] = project_id
        out += fast.rows(
            conn,
            f"SELECT id, {column} FROM items WHERE project_id = :p AND {column} IN ({marks})",
            params,
        )
    return out


def item_ids_by_external(
    conn: Connection, project_id: int, external_ids: list[str]
) -> dict[str, int]:
    """The ids of the project's items with these external ids (absent ones are left out)."""
    rows = _in_chunks(conn, project_id, "external_id", external_ids)
    return {r["external_id"]: int(r["id"]) for r in rows}


def known_item_ids(conn: Connection, project_id: int, item_ids: list[int]) -> set[int]:
    """Those of ``item_ids`` that are the project's items."""
    return {int(r["id"]) for r in _in_chunks(conn, project_id, "id", item_ids)}


def set_priorities(conn: Connection, *, project_id: int, priorities: dict[int, int]) -> None:
    """Set items' claim-order priorities (ids the caller checked with
    :func:`known_item_ids`) and bump the project's ``claim_version``, so every process's
    claim floor is checked again (docs/loop.md, "The claim order")."""
    pairs = sorted(priorities.items())
    for start in range(0, len(pairs), 1000):
        conn.execute(
            sql("UPDATE items SET priority = :v WHERE id = :i AND project_id = :p"),
            [{"p": project_id, "i": i, "v": v} for i, v in pairs[start : start + 1000]],
        )
    conn.execute(
        sql("UPDATE projects SET claim_version = claim_version + 1 WHERE id = :p"),
        {"p": project_id},
    )


def open_item_ids(conn: Connection, project_id: int) -> list[int]:
    """The ids of the project's open items, in id order."""
    rows = fast.rows(
        conn,
        f"SELECT o.id FROM items o WHERE o.project_id = :p AND {open_item('o')} ORDER BY o.id",
        {"p": project_id},
    )
    return [int(r["id"]) for r in rows]
