"""Durable jobs: the ``jobs`` table (what each long task was asked, its progress, its result
or error), so that jobs outlive the process that ran them and can be cancelled or restarted."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .tables import jobs, new_id

_JSON = ("params", "result", "error")


def _row(r: Any) -> dict[str, Any]:
    out = dict(r._mapping)
    for k in _JSON:
        if isinstance(out.get(k), str):
            out[k] = json.loads(out[k])
    out["cancel_requested"] = bool(out["cancel_requested"])
    return out


def add(
    conn: Connection,
    *,
    kind: str,
    project_id: int | None,
    user_id: int | None,
    params: dict[str, Any] | None,
    runner: str,
    now: float,
) -> int:
    return new_id(conn.execute(insert(jobs).values(
        kind=kind, project_id=project_id, user_id=user_id, status="running",
        params=None if params is None else json.dumps(params), runner=runner, created_at=now,
        started_at=now, heartbeat_at=now,
    )))


def get(conn: Connection, job_id: int) -> dict[str, Any] | None:
    r = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _row(r) if r else None


def listing(
    conn: Connection, *, project_id: int | None = None, user_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest jobs first, of one project and/or one user when given."""
    q = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if project_id is not None:
        q = q.where(jobs.c.project_id == project_id)
    if user_id is not None:
        q = q.where(jobs.c.user_id == user_id)
    return [_row(r) for r in conn.execute(q)]


def update_job(conn: Connection, job_id: int, *, only_running: bool = False,
               **values: Any) -> bool:
    """Set columns of a job (JSON ones from Python values); ``only_running`` leaves a job that
    already finished as it is. Whether a row changed."""
    for k in _JSON:
        if k in values and values[k] is not None and not isinstance(values[k], str):
            values[k] = json.dumps(values[k])
    q = update(jobs).where(jobs.c.id == job_id)
    if only_running:
        q = q.where(jobs.c.status == "running")
    return bool(conn.execute(q.values(**values)).rowcount)


def heartbeat(conn: Connection, runner: str, progress: dict[int, tuple[int, int | None, str]],
              now: float) -> set[int]:
    """Record the live progress of this runner's jobs; the ids among them a cancel was asked
    for."""
    for job_id, (done, total, message) in progress.items():
        conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.runner == runner,
                                        jobs.c.status == "running")
                     .values(done=done, total=total, message=message, heartbeat_at=now))
    if not progress:
        return set()
    q = select(jobs.c.id).where(jobs.c.id.in_(list(progress)), jobs.c.cancel_requested)
    return {int(r[0]) for r in conn.execute(q)}


def running(conn: Connection) -> list[dict[str, Any]]:
    return [_row(r) for r in conn.execute(select(jobs).where(jobs.c.status == "running"))]
