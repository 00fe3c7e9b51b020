"""An annotator's own work (the only SQL for it): undoing a skip or a submit, skipped items
coming back, the progress counter, the "my work" history and the skipped list.

The rule for skipped items (docs/loop.md, "Skipped items"): a skip returns the item's slot
to the pool at once, so the other annotators get it in the claim order; the one who skipped
it is offered it again only when nothing else in the pool is left for them
(:func:`reclaim_skipped`, called after the pool walk comes back empty, so the hot loop pays
nothing for it), oldest skip first, and only once: skipped a second time, it stays in their
skipped list (the others still get it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from . import fast
from .queue_sql import FREED_STATUSES, TAKE_SLOT, open_item

_ASSIGNMENT = (
    "SELECT a.id, a.item_id, a.project_id, a.status, a.released_at, i.is_gold "
    "FROM assignments a JOIN items i ON i.id = a.item_id "
    "WHERE a.id = :id AND a.user_id = :u AND a.project_id = :p"
)


def _lock(conn: Connection, of: str = "") -> str:
    return f" FOR UPDATE{of}" if conn.dialect.name == "postgresql" else ""


def mark_skipped(conn: Connection, *, assignment_id: int, now: float) -> None:
    """Record when a skip happened (undo's grace period; the skipped list's order), and
    count it."""
    fast.execute(conn, "UPDATE assignments SET released_at = :t, skips = skips + 1 "
                 "WHERE id = :id", {"t": now, "id": assignment_id})


def assignment(conn: Connection, *, assignment_id: int, user_id: int, project_id: int
               ) -> dict[str, Any] | None:
    """One of the user's assignments in the project, row-locked on PostgreSQL."""
    return fast.one(conn, _ASSIGNMENT + _lock(conn, " OF a"),
                    {"id": assignment_id, "u": user_id, "p": project_id})


def _lease(conn: Connection, assignment_id: int, expires: float, undo: int = 0) -> None:
    fast.execute(
        conn,
        "UPDATE assignments SET status = 'leased', lease_expires_at = :e, released_at = NULL, "
        "skips = skips - :undo WHERE id = :id",
        {"e": expires, "id": assignment_id, "undo": undo},
    )


def reopen_skipped(conn: Connection, row: dict[str, Any], *, overlap: int, expires: float,
                   undo: bool = False) -> bool:
    """Lease a skipped assignment to its user again, taking back a slot of the item (``undo``:
    the skip is taken back, so it does not count); False (nothing changed) when the item is
    no longer open (others took every slot)."""
    if not row["is_gold"]:
        took = fast.rowcount(
            conn,
            f"UPDATE items SET {TAKE_SLOT.format(overlap=':k')} "
            f"WHERE id = :i AND {open_item('items')} AND is_gold = FALSE",
            {"k": overlap, "i": row["item_id"]},
        )
        if took != 1:
            return False
    _lease(conn, row["id"], expires, 1 if undo else 0)
    return True


def reclaim_skipped(conn: Connection, *, project_id: int, user_id: int, overlap: int,
                    expires: float) -> dict[str, Any] | None:
    """The user's oldest skipped item that is still open, leased to them again (the claim's
    last resort, when the pool has nothing else for them). None if there is none."""
    lock = " FOR UPDATE OF i SKIP LOCKED" if conn.dialect.name == "postgresql" else ""
    rows = fast.rows(
        conn,
        "SELECT a.id, a.item_id, a.project_id, a.status, a.released_at, i.is_gold "
        "FROM assignments a JOIN items i ON i.id = a.item_id "
        "WHERE a.user_id = :u AND a.project_id = :p AND a.status = 'skipped' AND a.skips = 1 "
        f"AND {open_item('i')} ORDER BY a.released_at, a.id LIMIT 1{lock}",
        {"u": user_id, "p": project_id},
    )
    if not rows or not reopen_skipped(conn, rows[0], overlap=overlap, expires=expires):
        return None
    back = fast.one(
        conn,
        "SELECT id, item_id, project_id, user_id, status, lease_expires_at FROM assignments "
        "WHERE id = :id",
        {"id": rows[0]["id"]},
    )
    if back is not None:
        back["skipped_before"] = True
    return back


def first_answer(conn: Connection, assignment_id: int) -> list[dict[str, Any]]:
    """The annotations made through the assignment (its submit and later edits; earlier
    retracted ones left out), oldest first."""
    return fast.rows(
        conn,
        "SELECT id, item_id, value, created_at, is_current, supersedes_id FROM annotations "
        "WHERE assignment_id = :a AND origin <> 'retracted' ORDER BY id",
        {"a": assignment_id},
    )


def used_by(conn: Connection, *, annotation_ids: list[int], item_id: int,
            strict: bool = True) -> str | None:
    """What has used these annotations (of one item) already, in words, or None: a review,
    a decided adjudication, and when ``strict`` (undo) an open one or a ground-truth value
    too (an edit is a new version that the next aggregation weighs; an undo is not)."""
    marks = ", ".join(str(int(i)) for i in annotation_ids) or "NULL"
    if fast.value(conn, f"SELECT 1 FROM reviews WHERE annotation_id IN ({marks}) LIMIT 1"):
        return "a reviewer has reviewed it"
    status = "" if strict else " AND status = 'decided'"
    if fast.value(conn, f"SELECT 1 FROM adjudications WHERE item_id = :i{status}",
                  {"i": item_id}):
        return "the item went to adjudication"
    if strict and fast.value(conn, "SELECT 1 FROM ground_truth WHERE item_id = :i LIMIT 1",
                             {"i": item_id}):
        return "an aggregation has used it"
    return None


def retract(conn: Connection, *, assignment_id: int, item_id: int, user_id: int,
            annotation_ids: list[int], draft: str, expires: float, now: float) -> None:
    """Take a submit back: its annotations are retracted (not current, ``origin``
    ``retracted``), the item is the user's lease again (its slot
    stays taken) with the answer as their draft, and it counts as not done."""
    marks = ", ".join(str(int(i)) for i in annotation_ids)
    # kept (ids are never reused, the audit log can name them), but out of every use
    fast.execute(conn, "UPDATE annotations SET is_current = FALSE, origin = 'retracted' "
                 f"WHERE id IN ({marks})")
    _lease(conn, assignment_id, expires)
    # the item is open work again (docs/lifecycle.md): its answer is back in the user's hands
    fast.execute(conn, "UPDATE items SET n_done = n_done - 1, state = CASE WHEN state IN "
                 "('submitted', 'in_review', 'in_progress') THEN 'in_progress' ELSE state END "
                 "WHERE id = :i AND is_gold = FALSE", {"i": item_id})
    from .queue import save_draft

    save_draft(conn, user_id=user_id, item_id=item_id, value=draft, now=now)


def progress(conn: Connection, *, project_id: int, user_id: int, since: float) -> dict[str, int]:
    """Counts for the progress counter: submitted since ``since`` and in total, skipped, and
    the items the user may still be given (open items they have not had, and their own
    open tasks). Index scans of the user's rows and of the open items."""
    row = fast.one(
        conn,
        "SELECT "
        "(SELECT COUNT(*) FROM annotations WHERE user_id = :u AND project_id = :p "
        " AND supersedes_id IS NULL AND origin <> 'retracted' AND created_at >= :since) "
        "AS done_today, "
        "(SELECT COUNT(*) FROM assignments WHERE user_id = :u AND project_id = :p "
        " AND status = 'submitted') AS done_total, "
        "(SELECT COUNT(*) FROM assignments WHERE user_id = :u AND project_id = :p "
        " AND status = 'skipped') AS skipped, "
        f"(SELECT COUNT(*) FROM items o WHERE o.project_id = :p AND {open_item('o')}) "
        "- (SELECT COUNT(*) FROM assignments a JOIN items o ON o.id = a.item_id "
        f" WHERE a.user_id = :u AND a.project_id = :p AND {open_item('o')} "
        f" AND a.status NOT IN {FREED_STATUSES}) "
        "+ (SELECT COUNT(*) FROM assignments WHERE user_id = :u AND project_id = :p "
        " AND status IN ('queued', 'leased')) AS remaining",
        {"u": user_id, "p": project_id, "since": since},
    )
    assert row is not None
    return {k: int(v) for k, v in row.items()}


#: Why an annotation can no longer be edited by its author (as :func:`used_by` when not
#: ``strict``), as an SQL CASE over ``an``.
_SETTLED = (
    "CASE WHEN EXISTS (SELECT 1 FROM reviews r WHERE r.annotation_id = an.id) THEN 'reviewed' "
    "WHEN EXISTS (SELECT 1 FROM adjudications d WHERE d.item_id = an.item_id "
    "AND d.status = 'decided') THEN 'decided' ELSE NULL END"
)


def history(conn: Connection, *, project_id: int, user_id: int, offset: int, limit: int
            ) -> tuple[int, list[dict[str, Any]]]:
    """The user's current annotations in the project, newest first: (total, one page)."""
    params = {"u": user_id, "p": project_id, "o": offset, "l": limit}
    where = "an.user_id = :u AND an.project_id = :p AND an.is_current = TRUE"
    total = int(fast.value(conn, f"SELECT COUNT(*) FROM annotations an WHERE {where}", params))
    rows = fast.rows(
        conn,
        "SELECT an.id, an.item_id, an.assignment_id, an.value, an.created_at, an.supersedes_id, "
        f"i.external_id, substr(i.data, 1, 2000) AS data_head, {_SETTLED} AS settled "
        f"FROM annotations an JOIN items i ON i.id = an.item_id WHERE {where} "
        "ORDER BY an.id DESC LIMIT :l OFFSET :o",
        params,
    )
    return total, rows


def annotation(conn: Connection, *, project_id: int, user_id: int, annotation_id: int
               ) -> dict[str, Any] | None:
    """One of the user's annotations with its item's data and whether it is settled."""
    return fast.one(
        conn,
        "SELECT an.id, an.item_id, an.assignment_id, an.value, an.created_at, an.is_current, "
        f"an.supersedes_id, i.external_id, i.data, {_SETTLED} AS settled "
        "FROM annotations an JOIN items i ON i.id = an.item_id "
        "WHERE an.id = :a AND an.user_id = :u AND an.project_id = :p",
        {"a": annotation_id, "u": user_id, "p": project_id},
    )


def skipped(conn: Connection, *, project_id: int, user_id: int, limit: int
            ) -> list[dict[str, Any]]:
    """The user's skipped items, newest skip first."""
    return fast.rows(
        conn,
        "SELECT a.id AS task_id, a.item_id, a.released_at, i.external_id, "
        "substr(i.data, 1, 2000) AS data_head, i.open FROM assignments a "
        "JOIN items i ON i.id = a.item_id WHERE a.user_id = :u AND a.project_id = :p "
        "AND a.status = 'skipped' ORDER BY a.released_at DESC, a.id DESC LIMIT :l",
        {"u": user_id, "p": project_id, "l": limit},
    )
