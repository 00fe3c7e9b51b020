"""The item lifecycle state's SQL outside the loop (``domain/lifecycle.py``).

The loop's own statements keep the state of open work in their SET clauses
(:mod:`.queue_sql`); these are the manager's and reviewer's steps, each inside the
caller's write transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from . import fast
from .db import sql


def state_of(conn: Connection, project_id: int, item_id: int) -> str | None:
    """The item's state, row-locked on PostgreSQL (None: no such item in the project)."""
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    state: str | None = fast.value(
        conn, f"SELECT state FROM items WHERE id = :i AND project_id = :p{lock}",
        {"i": item_id, "p": project_id},
    )
    return state


def set_state(conn: Connection, item_id: int, state: str) -> None:
    fast.execute(conn, "UPDATE items SET state = :s WHERE id = :i", {"s": state, "i": item_id})


def mark_in_review(conn: Connection, item_id: int, permille: int) -> None:
    """A submitted item waits for review when one of its answers is in the first review
    stage's sample (``permille`` of a thousand; :data:`truelabel.store.qa.SAMPLED`)."""
    from .qa import SAMPLED

    fast.execute(
        conn, "UPDATE items SET state = 'in_review' WHERE id = :i AND state = 'submitted' "
        "AND EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = items.id "
        f"AND a.is_current = TRUE AND a.origin = 'human' AND {SAMPLED})",
        {"i": item_id, "permille": permille},
    )


def close_item(conn: Connection, item_id: int, state: str) -> int:
    """Take an item out of annotators' hands for good (a decision): open leases and queued
    assignments become ``closed`` (their submit is refused, saying why), the item leaves the
    pool. Returns how many were closed."""
    closed = fast.rows(
        conn,
        "UPDATE assignments SET status = 'closed', lease_expires_at = NULL "
        "WHERE item_id = :i AND status IN ('leased', 'queued') RETURNING id",
        {"i": item_id},
    )
    fast.execute(
        conn,
        "UPDATE items SET open = 0, n_taken = n_taken - :n, state = :s WHERE id = :i",
        {"n": len(closed), "s": state, "i": item_id},
    )
    return len(closed)


def withdraw_adjudication(conn: Connection, item_id: int) -> bool:
    """Take an open item off the adjudication queue (it is opened again if the reworked
    answers still disagree)."""
    cur = conn.execute(
        sql("DELETE FROM adjudications WHERE item_id = :i AND status = 'open'"), {"i": item_id}
    )
    return bool(cur.rowcount)


def sign_off_items(conn: Connection, project_id: int, states: tuple[str, ...]) -> int:
    """Every item of the project in ``states`` becomes signed off; returns how many."""
    names = ", ".join(f"'{s}'" for s in states)
    cur = conn.execute(
        sql(f"UPDATE items SET state = 'signed_off' WHERE project_id = :p AND state IN ({names})"),
        {"p": project_id},
    )
    return int(cur.rowcount)


#: ``:u``'s latest rejected answer to the item ``:i`` (the rework's prefill)
REJECTED_ANSWER = (
    "SELECT o.value FROM annotations o JOIN reviews r ON r.annotation_id = o.id "
    "WHERE o.item_id = :i AND o.user_id = :u AND r.decision = 'reject' "
    "ORDER BY o.id DESC LIMIT 1"
)


def rejected_answer(conn: Connection, *, user_id: int, item_id: int) -> str | None:
    """The value of ``user_id``'s latest rejected answer to the item (the rework's prefill)."""
    value: Any = fast.value(conn, REJECTED_ANSWER, {"i": item_id, "u": user_id})
    return value if value is None else str(value)
