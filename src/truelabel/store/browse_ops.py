"""The data browser's writes and item record: bulk actions, saved views, an item's history."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from .db import sql

#: the tables whose rows belong to an item (deleted with it), children first
ITEM_TABLES = ("drafts", "reviews", "adjudications", "ground_truth", "gold", "assignments",
               "annotations")


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[str]:
    """Comma-separated integer literals, ``size`` at a time (ids are ints: no injection)."""
    for start in range(0, len(ids), size):
        yield ", ".join(str(int(x)) for x in ids[start : start + size])


def states_of(conn: Connection, ids: Sequence[int]) -> dict[str, int]:
    """How many of these items are in each lifecycle state."""
    out: dict[str, int] = {}
    for marks in _chunks(ids):
        for r in conn.execute(sql(
                f"SELECT state, COUNT(*) AS n FROM items WHERE id IN ({marks}) GROUP BY state")):
            out[str(r.state)] = out.get(str(r.state), 0) + int(r.n)
    return out


def delete_items(conn: Connection, *, project_id: int, ids: Sequence[int]) -> int:
    """Delete the items and every row that belongs to them; returns the items deleted."""
    n = 0
    for marks in _chunks(ids):
        for table in ITEM_TABLES:
            conn.execute(sql(f"DELETE FROM {table} WHERE item_id IN ({marks})"))
        n += int(conn.execute(sql(
            f"DELETE FROM items WHERE project_id = :p AND id IN ({marks})"), {"p": project_id}
        ).rowcount)
    return n


def requeue(conn: Connection, *, project_id: int, ids: Sequence[int], overlap: int) -> None:
    """Hand the items out again: pre-assignments and leases end, an item every taker answered
    wants one answer more, and it is open to annotators who have not had it."""
    for marks in _chunks(ids):
        conn.execute(sql(
            "UPDATE assignments SET status = 'expired', lease_expires_at = NULL "
            f"WHERE item_id IN ({marks}) AND status IN ('queued', 'leased')"))
        conn.execute(sql(
            "UPDATE items SET n_taken = (SELECT COUNT(*) FROM assignments a WHERE "
            "a.item_id = items.id AND a.status = 'submitted') "
            f"WHERE id IN ({marks})"))
        conn.execute(sql(
            "UPDATE items SET target = CASE WHEN n_done >= COALESCE(target, :k) "
            "THEN n_done + 1 ELSE target END, open = 1, "
            "state = CASE WHEN n_done > 0 THEN 'in_progress' ELSE 'queued' END "
            f"WHERE project_id = :p AND id IN ({marks})"), {"k": overlap, "p": project_id})
    # every process's claim floor is checked against this: reopened items are seen at once
    conn.execute(sql("UPDATE projects SET claim_version = claim_version + 1 WHERE id = :p"),
                 {"p": project_id})


def set_state(conn: Connection, *, ids: Sequence[int], state: str) -> None:
    for marks in _chunks(ids):
        conn.execute(sql(f"UPDATE items SET state = :s WHERE id IN ({marks})"), {"s": state})


def audit_items(conn: Connection, *, at: float, user_id: int | None, action: str,
                ids: Sequence[int], detail: dict[str, Any]) -> None:
    """One audit entry per item (the item page's history shows them)."""
    text = json.dumps(detail)
    conn.execute(
        sql("INSERT INTO audit_log (at, user_id, action, object_type, object_id, detail) "
            "VALUES (:at, :u, :a, 'item', :o, :d)"),
        [{"at": at, "u": user_id, "a": action, "o": str(i), "d": text} for i in ids],
    )


# -- an item's record ----------------------------------------------------------------------


def item_history(conn: Connection, *, item_id: int, annotation_ids: Sequence[int]
                 ) -> list[dict[str, Any]]:
    """The audit entries about the item or one of its annotations, oldest first."""
    objects = ["(l.object_type = 'item' AND l.object_id = :o)"]
    if annotation_ids:
        marks = ", ".join(f"'{int(x)}'" for x in annotation_ids)
        objects.append(f"(l.object_type = 'annotation' AND l.object_id IN ({marks}))")
    rows = conn.execute(sql(
        "SELECT l.id, l.at, l.action, l.object_type, l.object_id, l.detail, u.username "
        "FROM audit_log l LEFT JOIN users u ON u.id = l.user_id "
        f"WHERE {' OR '.join(objects)} ORDER BY l.id LIMIT 500"), {"o": str(item_id)})
    return [dict(r._mapping) for r in rows]


def item_adjudication(conn: Connection, item_id: int) -> dict[str, Any] | None:
    row = conn.execute(sql(
        "SELECT d.status, d.reason, d.created_at, d.decided_at, d.value, d.comment, "
        "u.username AS decided_by FROM adjudications d LEFT JOIN users u ON u.id = d.decided_by "
        "WHERE d.item_id = :i"), {"i": item_id}).first()
    return dict(row._mapping) if row else None


def imported_at(conn: Connection, batch_id: int | None) -> float | None:
    if batch_id is None:
        return None
    value = conn.execute(sql("SELECT created_at FROM import_batches WHERE id = :b"),
                         {"b": batch_id}).scalar()
    return float(value) if value is not None else None


# -- saved views ---------------------------------------------------------------------------


def list_views(conn: Connection, *, project_id: int, user_id: int | None
               ) -> list[dict[str, Any]]:
    """The user's own views and the project's shared ones, by name."""
    mine = "" if user_id is None else " AND (v.shared = TRUE OR v.user_id = :u)"
    rows = conn.execute(sql(
        "SELECT v.id, v.name, v.query, v.shared, v.user_id, u.username AS owner, v.created_at "
        "FROM saved_views v LEFT JOIN users u ON u.id = v.user_id WHERE v.project_id = :p"
        f"{mine} ORDER BY v.name, v.id"), {"p": project_id, "u": user_id})
    return [dict(r._mapping) for r in rows]


def save_view(conn: Connection, *, project_id: int, user_id: int | None, name: str, query: str,
              shared: bool, now: float) -> int:
    """Create the view, or replace the query of the user's view of that name."""
    owner = "user_id IS NULL" if user_id is None else "user_id = :u"
    found = conn.execute(sql(
        f"SELECT id FROM saved_views WHERE project_id = :p AND name = :n AND {owner}"),
        {"p": project_id, "n": name, "u": user_id}).scalar()
    if found is not None:
        conn.execute(sql("UPDATE saved_views SET query = :q, shared = :s WHERE id = :id"),
                     {"q": query, "s": shared, "id": found})
        return int(found)
    return int(conn.execute(sql(
        "INSERT INTO saved_views (project_id, user_id, name, query, shared, created_at) "
        "VALUES (:p, :u, :n, :q, :s, :t) RETURNING id"),
        {"p": project_id, "u": user_id, "n": name, "q": query, "s": shared, "t": now},
    ).scalar_one())


def get_view(conn: Connection, *, project_id: int, view_id: int) -> dict[str, Any] | None:
    row = conn.execute(sql(
        "SELECT id, name, query, shared, user_id FROM saved_views WHERE id = :id AND "
        "project_id = :p"), {"id": view_id, "p": project_id}).first()
    return dict(row._mapping) if row else None


def delete_view(conn: Connection, view_id: int) -> None:
    conn.execute(sql("DELETE FROM saved_views WHERE id = :id"), {"id": view_id})
