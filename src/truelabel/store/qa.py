"""SQL for quality assurance: gold answers, reviews, adjudication, ground truth, sign-offs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from . import fast
from .db import sql


def set_gold(
    conn: Connection, *, project_id: int, item_id: int, value: str, source: str, now: float
) -> None:
    """Make ``item_id`` a gold item with the known answer ``value`` (JSON text)."""
    conn.execute(sql("DELETE FROM gold WHERE item_id = :i"), {"i": item_id})
    conn.execute(
        sql(
            "INSERT INTO gold (item_id, project_id, value, source, created_at) "
            "VALUES (:i, :p, :v, :s, :t)"
        ),
        {"i": item_id, "p": project_id, "v": value, "s": source, "t": now},
    )
    conn.execute(sql("UPDATE items SET is_gold = TRUE, open = 0 WHERE id = :i"), {"i": item_id})


def unset_gold(conn: Connection, *, project_id: int, item_id: int, overlap: int) -> None:
    conn.execute(
        sql("DELETE FROM gold WHERE item_id = :i AND project_id = :p"),
        {"i": item_id, "p": project_id},
    )
    conn.execute(
        sql(
            "UPDATE items SET is_gold = FALSE, open = CASE WHEN n_taken < "
            "COALESCE(target, :k) THEN 1 ELSE 0 END WHERE id = :i AND project_id = :p"
        ),
        {"i": item_id, "k": overlap, "p": project_id},
    )


def gold_answers(conn: Connection, project_id: int) -> dict[int, str]:
    rows = conn.execute(
        sql("SELECT item_id, value FROM gold WHERE project_id = :p"), {"p": project_id}
    )
    return {int(r.item_id): r.value for r in rows}


def gold_value(conn: Connection, item_id: int) -> str | None:
    return conn.execute(sql("SELECT value FROM gold WHERE item_id = :i"), {"i": item_id}).scalar()


def item_ids_by_external(
    conn: Connection, project_id: int, external_ids: Iterable[str]
) -> dict[str, int]:
    ids = list(external_ids)
    out: dict[str, int] = {}
    for k in range(0, len(ids), 500):
        chunk = ids[k : k + 500]
        params = {f"e{j}": e for j, e in enumerate(chunk)}
        marks = ", ".join(f":e{j}" for j in range(len(chunk)))
        for r in conn.execute(
            sql(
                f"SELECT id, external_id FROM items WHERE project_id = :p "
                f"AND external_id IN ({marks})"
            ),
            {"p": project_id, **params},
        ):
            out[r.external_id] = int(r.id)
    return out


def current_annotations(
    conn: Connection, project_id: int, *, item_id: int | None = None
) -> list[dict[str, Any]]:
    """Current annotations with annotator, item data needed for slices, and gold flag."""
    where = "a.project_id = :p AND a.is_current = TRUE"
    params: dict[str, Any] = {"p": project_id}
    if item_id is not None:
        where += " AND a.item_id = :i"
        params["i"] = item_id
    rows = conn.execute(
        sql(
            "SELECT a.id, a.item_id, a.user_id, u.username, a.value, a.origin, a.time_spent_ms, "
            "a.created_at, i.is_gold FROM annotations a JOIN users u ON u.id = a.user_id "
            f"JOIN items i ON i.id = a.item_id WHERE {where} ORDER BY a.item_id, a.id"
        ),
        params,
    )
    return [dict(r._mapping) for r in rows]


def current_values(conn: Connection, project_id: int, item_ids: Iterable[int]
                   ) -> list[dict[str, Any]]:
    """Current annotations (id, item_id, value) of the given items, 500 ids per query."""
    ids = sorted({int(i) for i in item_ids})
    out: list[dict[str, Any]] = []
    for k in range(0, len(ids), 500):
        marks = ", ".join(str(i) for i in ids[k : k + 500])
        rows = conn.execute(
            sql(
                "SELECT a.id, a.item_id, a.value FROM annotations a WHERE a.project_id = :p "
                f"AND a.is_current = TRUE AND a.item_id IN ({marks}) ORDER BY a.item_id, a.id"
            ),
            {"p": project_id},
        )
        out += [dict(r._mapping) for r in rows]
    return out


def item_target(conn: Connection, item_id: int) -> tuple[int | None, bool]:
    row = conn.execute(sql("SELECT target, is_gold FROM items WHERE id = :i"), {"i": item_id}).one()
    return row.target, bool(row.is_gold)


# -- reviews -------------------------------------------------------------------------------

#: An annotation ``a`` is in the sample of a review stage (``:permille`` of a thousand);
#: deterministic per annotation id, so a reload shows the same queue.
SAMPLED = "(a.id * 7919) % 1000 < :permille"


def next_for_review(
    conn: Connection, *, project_id: int, stage: int, reviewer_id: int, sample_permille: int
) -> dict[str, Any] | None:
    """The oldest annotation waiting for ``stage`` (1-based) that this reviewer did not make.

    Sampling is deterministic per annotation id, so a reload shows the same queue.
    """
    if stage == 1:
        passed = "1 = 1"
    else:
        passed = (
            "EXISTS (SELECT 1 FROM reviews r WHERE r.stage = :prev AND "
            "((r.annotation_id = a.id AND r.decision = 'accept') OR r.correction_id = a.id))"
        )
    # the first stage also takes the items a manager sent to review (state in_review)
    sampled = f"({SAMPLED} OR i.state = 'in_review')" if stage == 1 else SAMPLED
    row = conn.execute(
        sql(
            "SELECT a.id FROM annotations a JOIN items i ON i.id = a.item_id "
            "WHERE a.project_id = :p AND a.is_current = TRUE AND i.is_gold = FALSE "
            "AND i.state NOT IN ('decided', 'signed_off') "
            "AND a.user_id <> :me AND a.origin = 'human' "
            f"AND {passed} AND NOT EXISTS (SELECT 1 FROM reviews r2 WHERE r2.annotation_id = a.id "
            f"AND r2.stage = :stage) AND {sampled} ORDER BY a.id LIMIT 1"
        ),
        {
            "p": project_id,
            "me": reviewer_id,
            "prev": stage - 1,
            "stage": stage,
            "permille": sample_permille,
        },
    ).first()
    if row is None and stage > 1:
        return None
    return {"annotation_id": int(row.id)} if row else None


def add_review(conn: Connection, values: dict[str, Any]) -> int:
    cols = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    return int(
        conn.execute(
            sql(f"INSERT INTO reviews ({cols}) VALUES ({marks}) RETURNING id"), values
        ).scalar_one()
    )


def review_counts(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sql(
            "SELECT stage, decision, COUNT(*) AS n FROM reviews "
            "WHERE project_id = :p GROUP BY stage, decision ORDER BY stage"
        ),
        {"p": project_id},
    )
    return [dict(r._mapping) for r in rows]


#: An item's reviews with reviewer names and whose annotation each judged (``:i``: item id).
REVIEWS_FOR_ITEM = (
    "SELECT r.id, r.annotation_id, r.stage, r.decision, r.comment, r.correction_id, "
    "r.created_at, u.username AS reviewer, a.user_id AS annotator_id FROM reviews r "
    "JOIN users u ON u.id = r.reviewer_id JOIN annotations a ON a.id = r.annotation_id "
    "WHERE r.item_id = :i ORDER BY r.id"
)


def reviews_for_item(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    return fast.rows(conn, REVIEWS_FOR_ITEM, {"i": item_id})


def open_adjudication(
    conn: Connection, *, project_id: int, item_id: int, reason: str, now: float
) -> bool:
    """Put the item on the adjudication queue unless it was ever there (True: it was put)."""
    exists = conn.execute(
        sql("SELECT 1 FROM adjudications WHERE item_id = :i"), {"i": item_id}
    ).first()
    if exists is None:
        conn.execute(
            sql(
                "INSERT INTO adjudications (item_id, project_id, status, reason, "
                "created_at) VALUES (:i, :p, 'open', :r, :t)"
            ),
            {"i": item_id, "p": project_id, "r": reason, "t": now},
        )
    return exists is None


def adjudication_queue(
    conn: Connection, project_id: int, *, status: str = "open", limit: int = 100
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sql(
            "SELECT d.item_id, i.external_id, i.state, d.status, d.reason, d.created_at, "
            "d.decided_by, d.value, d.comment FROM adjudications d "
            "JOIN items i ON i.id = d.item_id WHERE d.project_id = :p AND d.status = :s "
            "ORDER BY d.created_at, d.item_id LIMIT :n"
        ),
        {"p": project_id, "s": status, "n": limit},
    )
    return [dict(r._mapping) for r in rows]


def decide_adjudication(
    conn: Connection, *, item_id: int, user_id: int, value: str, comment: str, now: float
) -> bool:
    cur = conn.execute(
        sql(
            "UPDATE adjudications SET status = 'decided', decided_by = :u, "
            "decided_at = :t, value = :v, comment = :c "
            "WHERE item_id = :i AND status = 'open'"
        ),
        {"u": user_id, "t": now, "v": value, "c": comment, "i": item_id},
    )
    return cur.rowcount == 1


def accepted_annotations(conn: Connection, project_id: int) -> set[int]:
    """Annotations a reviewer accepted (at any stage)."""
    rows = conn.execute(
        sql("SELECT DISTINCT annotation_id FROM reviews WHERE project_id = :p "
            "AND decision = 'accept'"),
        {"p": project_id},
    )
    return {int(r.annotation_id) for r in rows}


def decided_items(conn: Connection, project_id: int) -> set[int]:
    """Items whose label a manager decided (also when signed off since)."""
    rows = conn.execute(
        sql("SELECT item_id FROM adjudications WHERE project_id = :p AND status = 'decided'"),
        {"p": project_id},
    )
    return {int(r.item_id) for r in rows}


def adjudication_counts(conn: Connection, project_id: int) -> dict[str, int]:
    rows = conn.execute(
        sql(
            "SELECT status, COUNT(*) AS n FROM adjudications WHERE project_id = :p GROUP BY status"
        ),
        {"p": project_id},
    )
    return {r.status: int(r.n) for r in rows}


# -- ground truth --------------------------------------------------------------------------


def replace_ground_truth(
    conn: Connection,
    *,
    project_id: int,
    field: str,
    rows: list[dict[str, Any]],
    keep_methods: tuple[str, ...],
) -> None:
    """Replace one field's aggregated rows, keeping rows made by ``keep_methods``."""
    marks = ", ".join(f":m{j}" for j in range(len(keep_methods))) or "''"
    params = {f"m{j}": m for j, m in enumerate(keep_methods)}
    kept = {
        int(r.item_id)
        for r in conn.execute(
            sql(
                f"SELECT item_id FROM ground_truth WHERE project_id = :p AND field = :f "
                f"AND method IN ({marks})"
            ),
            {"p": project_id, "f": field, **params},
        )
    }
    conn.execute(
        sql(
            f"DELETE FROM ground_truth WHERE project_id = :p AND field = :f "
            f"AND method NOT IN ({marks})"
        ),
        {"p": project_id, "f": field, **params},
    )
    fresh = [r for r in rows if r["item_id"] not in kept]
    if fresh:
        conn.execute(
            sql(
                "INSERT INTO ground_truth (item_id, field, project_id, value, "
                "confidence, method, contributors, computed_at) VALUES (:item_id, "
                ":field, :project_id, :value, :confidence, :method, :contributors, "
                ":computed_at)"
            ),
            fresh,
        )


def upsert_ground_truth(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sql("DELETE FROM ground_truth WHERE item_id = :item_id AND field = :field"), row)
    conn.execute(
        sql(
            "INSERT INTO ground_truth (item_id, field, project_id, value, confidence, "
            "method, contributors, computed_at) VALUES (:item_id, :field, "
            ":project_id, :value, :confidence, :method, :contributors, "
            ":computed_at)"
        ),
        row,
    )


def ground_truth(
    conn: Connection, project_id: int, *, item_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    where = "project_id = :p"
    params: dict[str, Any] = {"p": project_id}
    if item_ids is not None:
        if not item_ids:
            return []
        where += f" AND item_id IN ({', '.join(str(int(i)) for i in item_ids)})"
    rows = conn.execute(
        sql(
            f"SELECT item_id, field, value, confidence, method, contributors "
            f"FROM ground_truth WHERE {where} ORDER BY item_id, field"
        ),
        params,
    )
    return [dict(r._mapping) for r in rows]


def ground_truth_range(
    conn: Connection, project_id: int, lo: int, hi: int
) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        sql(
            "SELECT item_id, field, value, confidence, method FROM ground_truth "
            "WHERE project_id = :p AND item_id > :lo AND item_id <= :hi "
            "ORDER BY item_id, field"
        ),
        {"p": project_id, "lo": lo, "hi": hi},
    )
    return [tuple(r) for r in rows]


# -- sign-off ------------------------------------------------------------------------------


def add_signoff(
    conn: Connection, *, project_id: int, user_id: int, comment: str, evidence: str, now: float
) -> int:
    return int(
        conn.execute(
            sql(
                "INSERT INTO signoffs (project_id, user_id, created_at, comment, evidence) "
                "VALUES (:p, :u, :t, :c, :e) RETURNING id"
            ),
            {"p": project_id, "u": user_id, "t": now, "c": comment, "e": evidence},
        ).scalar_one()
    )


def signoffs(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sql(
            "SELECT s.id, s.created_at, s.comment, s.evidence, u.username FROM signoffs s "
            "JOIN users u ON u.id = s.user_id WHERE s.project_id = :p ORDER BY s.id"
        ),
        {"p": project_id},
    )
    return [dict(r._mapping) for r in rows]
