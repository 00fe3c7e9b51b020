"""Projects, their schema and guideline versions, import batches and the audit log."""

from __future__ import annotations

import functools
import json
import time
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, func, insert, select, update

from truelabel.domain.results import AuditEntry, BatchRow, ProjectRow

if TYPE_CHECKING:
    from truelabel.domain.models import Credential

from .queue_sql import holds_open
from .tables import (
    audit_log,
    guideline_versions,
    import_batches,
    members,
    new_id,
    projects,
    schema_versions,
)


def add_project(conn: Connection, *, name: str, title: str, overlap: int, now: float) -> int:
    return new_id(
        conn.execute(
            insert(projects).values(name=name, title=title, overlap=overlap, created_at=now)
        )
    )


def get_project(
    conn: Connection, *, project_id: int | None = None, name: str | None = None
) -> dict[str, Any] | None:
    q = select(projects)
    q = (
        q.where(projects.c.id == project_id)
        if project_id is not None
        else q.where(projects.c.name == name)
    )
    row = conn.execute(q).first()
    return dict(row._mapping) if row else None


def list_projects(
    conn: Connection, *, user_id: int | None = None, archived: bool = True
) -> list[ProjectRow]:
    """All projects, or only those ``user_id`` is a member of; without the archived ones
    unless ``archived``."""
    q = select(projects).order_by(projects.c.id)
    if not archived:
        q = q.where(projects.c.archived_at.is_(None))
    if user_id is not None:
        q = q.join(members, members.c.project_id == projects.c.id).where(
            members.c.user_id == user_id
        )
    return [cast(ProjectRow, dict(r._mapping)) for r in conn.execute(q)]


def update_project(conn: Connection, project_id: int, **values: Any) -> None:
    conn.execute(update(projects).where(projects.c.id == project_id).values(**values))


def _latest(conn: Connection, table: Any, project_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(table)
        .where(table.c.project_id == project_id)
        .order_by(table.c.version.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def latest_schema(conn: Connection, project_id: int) -> dict[str, Any] | None:
    return _latest(conn, schema_versions, project_id)


def latest_guideline(conn: Connection, project_id: int) -> dict[str, Any] | None:
    return _latest(conn, guideline_versions, project_id)


def guideline_history(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    """Every guideline version of a project, newest first, with its changelog note."""
    g = guideline_versions.c
    q = (select(g.version, g.note, g.created_at, func.length(g.body).label("chars"))
         .where(g.project_id == project_id).order_by(g.version.desc()))
    return [dict(r._mapping) for r in conn.execute(q)]


def schema_by_id(conn: Connection, schema_version_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(schema_versions).where(schema_versions.c.id == schema_version_id)
    ).first()
    return dict(row._mapping) if row else None


def add_version(
    conn: Connection,
    table_name: str,
    *,
    project_id: int,
    body: str,
    now: float,
    digest: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    table = schema_versions if table_name == "schema" else guideline_versions
    version = (
        conn.execute(
            select(func.max(table.c.version)).where(table.c.project_id == project_id)
        ).scalar()
        or 0
    ) + 1
    values: dict[str, Any] = {
        "project_id": project_id,
        "version": version,
        "body": body,
        "created_at": now,
    }
    if digest is not None:
        values["digest"] = digest
    if note is not None:
        values["note"] = note
    made = new_id(conn.execute(insert(table).values(**values)))
    return {**values, "id": made}


def add_batch(
    conn: Connection, *, project_id: int, source: str, fmt: str, now: float, user_id: int | None
) -> int:
    return new_id(
        conn.execute(
            insert(import_batches).values(
                project_id=project_id, source=source, format=fmt, created_at=now, user_id=user_id
            )
        )
    )


def finish_batch(conn: Connection, batch_id: int, *, n_read: int, n_added: int) -> None:
    conn.execute(
        update(import_batches)
        .where(import_batches.c.id == batch_id)
        .values(n_read=n_read, n_added=n_added)
    )


def list_batches(conn: Connection, project_id: int) -> list[BatchRow]:
    q = (
        select(import_batches)
        .where(import_batches.c.project_id == project_id)
        .order_by(import_batches.c.id)
    )
    return [cast(BatchRow, dict(r._mapping)) for r in conn.execute(q)]


def audit(
    conn: Connection,
    *,
    at: float,
    user_id: int | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at,
            user_id=user_id,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            detail=json.dumps(detail) if detail else None,
        )
    )


def get_setting(conn: Connection, key: str) -> str | None:
    from .tables import settings

    return conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()


def set_setting(conn: Connection, key: str, value: str) -> None:
    from .tables import settings

    conn.execute(settings.delete().where(settings.c.key == key))
    conn.execute(insert(settings).values(key=key, value=value))


def audit_entries(
    conn: Connection, *, after: int = 0, limit: int = 100, action: str | None = None
) -> list[AuditEntry]:
    from .tables import users

    q = (
        select(audit_log, users.c.username)
        .join(users, users.c.id == audit_log.c.user_id, isouter=True)
        .where(audit_log.c.id > after)
        .order_by(audit_log.c.id)
        .limit(limit)
    )
    if action:
        q = q.where(audit_log.c.action == action)
    keys = [str(c.name) for c in audit_log.c] + ["username"]
    return [cast(AuditEntry, dict(zip(keys, r, strict=True))) for r in conn.execute(q)]


_HOT_COLS = (
    "SELECT p.id, p.name, p.overlap, p.lease_seconds, p.settings, p.claim_version, "
    "p.archived_at, "
    "(SELECT m.role FROM members m WHERE m.project_id = p.id AND m.user_id = :u) "
    "AS member_role, "
    "(SELECT s.id FROM schema_versions s WHERE s.project_id = p.id "
    "ORDER BY s.version DESC LIMIT 1) AS schema_id, "
    "(SELECT s.version FROM schema_versions s WHERE s.project_id = p.id "
    "ORDER BY s.version DESC LIMIT 1) AS schema_version, "
    "(SELECT g.id FROM guideline_versions g WHERE g.project_id = p.id "
    "ORDER BY g.version DESC LIMIT 1) AS guideline_id"
)

#: ``next``: whether the user holds an open task already (a live lease or a queued item)
_HOT_NEXT = (
    ", EXISTS (SELECT 1 FROM assignments a WHERE a.user_id = :u "
    f"AND a.project_id = p.id AND {holds_open('a')}) AS has_open",
    "",
)

#: ``submit``: an annotation already stored under its idempotency key, the task (the user's
#: assignment) and its item's data
_HOT_SUBMIT = (
    ", k.id AS prior_id, k.project_id AS prior_project_id, "
    "k.item_id AS prior_item_id, k.assignment_id AS prior_assignment_id, "
    "k.supersedes_id AS prior_supersedes_id, a.item_id AS task_item_id, "
    "a.project_id AS task_project_id, a.status AS task_status, "
    "a.lease_expires_at AS task_expires, i.data AS item_data",
    " LEFT JOIN annotations k ON k.user_id = :u AND k.idempotency_key = :key "
    "LEFT JOIN assignments a ON a.id = :t AND a.user_id = :u "
    "LEFT JOIN items i ON i.id = a.item_id AND i.project_id = p.id",
)

#: the user a credential belongs to, if it is still good (with their workspace role)
_HOT_AUTH = {
    "token": (
        ", au.id AS auth_uid, au.role AS auth_role",
        " LEFT JOIN (SELECT u.id, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = :h AND t.revoked = FALSE AND u.disabled = FALSE "
        "AND (t.expires_at IS NULL OR t.expires_at > :at)) au ON 1 = 1",
    ),
    "session": (
        ", au.id AS auth_uid, au.role AS auth_role",
        " LEFT JOIN (SELECT u.id, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = :h AND s.expires_at > :at AND u.disabled = FALSE) au ON 1 = 1",
    ),
}


@functools.lru_cache(maxsize=16)
def hot_sql(step: str, credential_kind: str | None) -> str:
    parts = [{"next": _HOT_NEXT, "submit": _HOT_SUBMIT}[step]] if step else []
    if credential_kind:
        parts.append(_HOT_AUTH[credential_kind])
    return (
        _HOT_COLS
        + "".join(c for c, _ in parts)
        + " FROM projects p"
        + "".join(j for _, j in parts)
        + " WHERE p.id = :p"
    )


def hot_context_query(
    *,
    project_id: int,
    user_id: int | None,
    next_at: float | None = None,
    submit: tuple[int, str] | None = None,
    credential: Credential | None = None,
) -> tuple[str, dict[str, Any]]:
    """The statement of :func:`hot_context` and its parameters (for callers that run it
    themselves, e.g. on an async connection)."""
    params: dict[str, Any] = {"p": project_id, "u": user_id or 0}
    step = ""
    if next_at is not None:
        step = "next"
        params["now"] = next_at
    elif submit is not None:
        step = "submit"
        params.update(t=submit[0], key=submit[1])
    if credential is not None:
        params.update(h=credential.digest, at=time.time())
    return hot_sql(step, credential and credential.kind), params


def hot_context(conn: Connection, **kw: Any) -> dict[str, Any] | None:
    """One statement for the annotators' loop: the project row, the user's role in it, and
    the ids of the current schema and guideline versions.

    Keywords as :func:`hot_context_query`: ``project_id``, ``user_id``; ``next_at`` (now)
    adds ``has_open``; ``submit`` (task id, idempotency key) adds the ``prior_*``
    annotation stored under that key, the ``task_*`` assignment and its item's
    ``item_data``; ``credential`` adds ``auth_uid`` and ``auth_role``, its user if it is
    still good (NULL if revoked, expired or the account is disabled). So each step of the
    loop reads everything, its authentication included, in this one statement.
    """
    from . import fast

    return fast.one(conn, *hot_context_query(**kw))
