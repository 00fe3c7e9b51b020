"""SQL for the managers' team view: labels per time bucket and annotator, the time each label
took, and the queue's depth now and as it went down.

A "label" here is an annotator's first answer to a task (``assignment_id`` set, not an edit of
an earlier answer), so edits and reviewers' corrections do not count twice. Times are epoch
seconds; buckets are whole multiples of ``size`` seconds after shifting by ``offset`` (a time
zone's offset from UTC), so a day bucket starts at local midnight.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from .db import sql

__all__ = [
    "backdate",
    "imported_by_bucket",
    "label_durations",
    "labels_by_bucket",
    "queue_now",
    "review_waiting",
]

#: An annotator's first answer to one of their tasks.
_FIRST_ANSWER = (
    "a.project_id = :p AND a.assignment_id IS NOT NULL AND a.supersedes_id IS NULL "
    "AND a.origin = 'human'"
)


def _bucket(conn: Connection, column: str) -> str:
    """``floor((column + :off) / :size)`` in the connection's dialect."""
    shifted = f"({column} + :off) / :size"
    if conn.dialect.name == "sqlite":  # times are positive: CAST truncates = floor
        return f"CAST({shifted} AS INTEGER)"
    return f"CAST(FLOOR({shifted}) AS BIGINT)"


def labels_by_bucket(
    conn: Connection, project_id: int, *, since: float, size: int, offset: int = 0
) -> list[dict[str, Any]]:
    """Per (bucket, annotator, gold item or not): how many labels were submitted, from
    ``since`` on."""
    b = _bucket(conn, "a.created_at")
    rows = conn.execute(
        sql(
            f"SELECT {b} AS bucket, u.username AS annotator, i.is_gold AS gold, COUNT(*) AS n "
            "FROM annotations a JOIN users u ON u.id = a.user_id "
            "JOIN items i ON i.id = a.item_id "
            f"WHERE {_FIRST_ANSWER} AND a.created_at >= :since "
            f"GROUP BY {b}, u.username, i.is_gold ORDER BY 1, 2"
        ),
        {"p": project_id, "since": since, "size": size, "off": offset},
    )
    return [
        {"bucket": int(r.bucket), "annotator": r.annotator, "gold": bool(r.gold), "n": int(r.n)}
        for r in rows
    ]


def label_durations(
    conn: Connection, project_id: int, *, since: float, limit: int = 200_000
) -> list[dict[str, Any]]:
    """The time each label took, in seconds, from ``since`` on (newest ``limit`` labels).

    The annotator's own measure (``time_spent_ms``, the time the item was on screen) where the
    client sent one, else the time from claiming the task to submitting it.
    """
    rows = conn.execute(
        sql(
            "SELECT u.username AS annotator, a.time_spent_ms, a.created_at - s.created_at AS claim "
            "FROM annotations a JOIN users u ON u.id = a.user_id "
            "JOIN assignments s ON s.id = a.assignment_id "
            f"WHERE {_FIRST_ANSWER} AND a.created_at >= :since "
            "ORDER BY a.created_at DESC LIMIT :n"
        ),
        {"p": project_id, "since": since, "n": limit},
    )
    out = []
    for r in rows:
        secs = r.time_spent_ms / 1000.0 if r.time_spent_ms is not None else r.claim
        if secs is not None and secs >= 0:
            out.append({"annotator": r.annotator, "seconds": float(secs)})
    return out


def queue_now(conn: Connection, project_id: int, overlap: int) -> dict[str, int]:
    """Items by where they stand in the labeling queue (gold items apart)."""
    row = conn.execute(
        sql(
            "SELECT "
            "COALESCE(SUM(CASE WHEN is_gold THEN 1 ELSE 0 END), 0) AS gold, "
            "COALESCE(SUM(CASE WHEN NOT is_gold AND n_done = 0 AND n_taken = 0 "
            "THEN 1 ELSE 0 END), 0) AS unlabeled, "
            "COALESCE(SUM(CASE WHEN NOT is_gold AND n_taken > n_done "
            "THEN 1 ELSE 0 END), 0) AS in_progress, "
            "COALESCE(SUM(CASE WHEN NOT is_gold AND n_taken <= n_done AND n_done > 0 "
            "AND n_done < COALESCE(target, :k) THEN 1 ELSE 0 END), 0) AS partial, "
            "COALESCE(SUM(CASE WHEN NOT is_gold AND n_taken <= n_done "
            "AND n_done >= COALESCE(target, :k) THEN 1 ELSE 0 END), 0) AS complete, "
            "COALESCE(SUM(CASE WHEN NOT is_gold THEN "
            "MAX_OF(COALESCE(target, :k) - n_done, 0) ELSE 0 END), 0) AS labels_needed "
            "FROM items WHERE project_id = :p".replace(
                "MAX_OF", "MAX" if conn.dialect.name == "sqlite" else "GREATEST"
            )
        ),
        {"p": project_id, "k": overlap},
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


def review_waiting(conn: Connection, project_id: int, *, sample_permille: int) -> int:
    """Annotations waiting for the first review stage (the same sample ``next_for_review``
    draws from)."""
    return int(
        conn.execute(
            sql(
                "SELECT COUNT(*) FROM annotations a JOIN items i ON i.id = a.item_id "
                "WHERE a.project_id = :p AND a.is_current = TRUE AND i.is_gold = FALSE "
                "AND a.origin = 'human' AND (a.id * 7919) % 1000 < :permille "
                "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.annotation_id = a.id "
                "AND r.stage = 1)"
            ),
            {"p": project_id, "permille": sample_permille},
        ).scalar_one()
    )


def imported_by_bucket(
    conn: Connection, project_id: int, *, size: int, offset: int = 0
) -> list[dict[str, Any]]:
    """Per bucket: the non-gold items imported then and the labels they ask for (``target``
    or the project's overlap ``:k`` is applied by the caller: here the item count and the sum
    of explicit targets). Items without a batch count in the earliest bucket (``None``)."""
    b = _bucket(conn, "ib.created_at")
    rows = conn.execute(
        sql(
            f"SELECT {b} AS bucket, COUNT(*) AS n, "
            "COALESCE(SUM(CASE WHEN i.target IS NULL THEN 1 ELSE 0 END), 0) AS default_target, "
            "COALESCE(SUM(COALESCE(i.target, 0)), 0) AS explicit "
            "FROM items i LEFT JOIN import_batches ib ON ib.id = i.batch_id "
            "WHERE i.project_id = :p AND NOT i.is_gold GROUP BY 1 ORDER BY 1"
        ),
        {"p": project_id, "size": size, "off": offset},
    )
    return [
        {
            "bucket": None if r.bucket is None else int(r.bucket),
            "n": int(r.n),
            "default_target": int(r.default_target),
            "explicit": int(r.explicit),
        }
        for r in rows
    ]


def backdate(
    conn: Connection, project_id: int, times: dict[int, tuple[float, float]], *,
    imported_at: float | None = None,
) -> None:
    """Move annotations to other times: annotation id → (claimed at, submitted at). The task's
    claim, the annotation, and reviews of it and of items decided then follow; ``imported_at``
    dates every import batch. For the demo, whose simulated team works now but should look as
    if it had worked over the past days (and for tests of the team view)."""
    if imported_at is not None:
        conn.execute(
            sql("UPDATE import_batches SET created_at = :t WHERE project_id = :p"),
            {"t": imported_at, "p": project_id},
        )
    for ann_id, (claimed, submitted) in times.items():
        params = {"a": ann_id, "c": claimed, "s": submitted, "p": project_id}
        conn.execute(
            sql("UPDATE annotations SET created_at = :s WHERE id = :a AND project_id = :p"),
            params,
        )
        conn.execute(
            sql(
                "UPDATE assignments SET created_at = :c WHERE project_id = :p AND id = "
                "(SELECT assignment_id FROM annotations WHERE id = :a)"
            ),
            params,
        )
    # Reviews and adjudications follow the last label of their item, a little later.
    conn.execute(
        sql(
            "UPDATE reviews SET created_at = (SELECT MAX(a.created_at) + 600 FROM annotations a "
            "WHERE a.item_id = reviews.item_id) WHERE project_id = :p"
        ),
        {"p": project_id},
    )
    conn.execute(
        sql(
            "UPDATE adjudications SET created_at = (SELECT MAX(a.created_at) FROM annotations a "
            "WHERE a.item_id = adjudications.item_id AND a.origin = 'human'), "
            "decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE (SELECT MAX(a.created_at) "
            "+ 3600 FROM annotations a WHERE a.item_id = adjudications.item_id) END "
            "WHERE project_id = :p"
        ),
        {"p": project_id},
    )
