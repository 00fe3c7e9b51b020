"""Change tokens: a cheap fingerprint of what a derived result (the quality report) was
computed from, so a cached copy is used until something it depends on changes."""

from __future__ import annotations

from sqlalchemy import Connection

from .db import sql

_QUALITY = sql(
    "SELECT "
    "(SELECT COUNT(*) FROM annotations WHERE project_id = :p), "
    "(SELECT MAX(id) FROM annotations WHERE project_id = :p), "
    "(SELECT COUNT(*) FROM annotations WHERE project_id = :p AND is_current = TRUE), "
    "(SELECT COUNT(*) FROM gold WHERE project_id = :p), "
    "(SELECT MAX(created_at) FROM gold WHERE project_id = :p), "
    "(SELECT SUM(LENGTH(value)) FROM gold WHERE project_id = :p), "
    "(SELECT COUNT(*) FROM ground_truth WHERE project_id = :p), "
    "(SELECT MAX(computed_at) FROM ground_truth WHERE project_id = :p), "
    "(SELECT COUNT(*) FROM reviews WHERE project_id = :p), "
    "(SELECT MAX(id) FROM reviews WHERE project_id = :p), "
    "(SELECT COUNT(*) FROM adjudications WHERE project_id = :p), "
    "(SELECT MAX(decided_at) FROM adjudications WHERE project_id = :p), "
    "(SELECT MAX(created_at) FROM adjudications WHERE project_id = :p), "
    "(SELECT MAX(id) FROM schema_versions WHERE project_id = :p), "
    "(SELECT settings FROM projects WHERE id = :p), "
    "(SELECT overlap FROM projects WHERE id = :p), "
    "(SELECT lease_seconds FROM projects WHERE id = :p), "
    "(SELECT COUNT(*) FROM items WHERE project_id = :p)"
)


def quality_token(conn: Connection, project_id: int) -> tuple[object, ...]:
    """What the quality report of a project depends on, as a tuple that changes whenever an
    annotation, gold answer, ground truth, review, adjudication, schema or setting does
    (counts and newest ids or times: each an indexed lookup)."""
    return tuple(conn.execute(_QUALITY, {"p": project_id}).one())
