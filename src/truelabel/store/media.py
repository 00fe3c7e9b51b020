"""Which project owns which blob (media files are served only to that project's members)."""

from __future__ import annotations

from sqlalchemy import Connection

from .db import sql


def add(conn: Connection, *, project_id: int, digest: str, size: int, content_type: str,
        user_id: int | None, now: float) -> bool:
    """Record ownership; False if the project already had this blob."""
    if owns(conn, project_id=project_id, digest=digest):
        return False
    conn.execute(sql("INSERT INTO media (project_id, digest, size, content_type, uploaded_by, "
                     "created_at) VALUES (:p, :d, :s, :c, :u, :t)"),
                 {"p": project_id, "d": digest, "s": size, "c": content_type, "u": user_id,
                  "t": now})
    return True


def owns(conn: Connection, *, project_id: int, digest: str) -> bool:
    return conn.execute(sql("SELECT 1 FROM media WHERE project_id = :p AND digest = :d"),
                        {"p": project_id, "d": digest}).first() is not None
