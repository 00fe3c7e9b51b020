"""Durable jobs: long tasks (import, export, the quality report; later prepare, version,
train) recorded in the ``jobs`` table with what they were asked, their progress, result or
error, so they outlive the process that ran them.

:class:`JobService` creates, lists, cancels and restarts jobs, and runs one (synchronously:
the server runs each in a thread). Progress is kept in memory while a job runs and written
by :meth:`JobService.flush` (the server calls it every second), so a job never waits on the
database to report, not even while its own import holds SQLite's write lock. Cancelling is
cooperative: the job stops at its next progress report, raising :class:`Cancelled`, and an
import then rolls back.

A job of a registered kind (:data:`KINDS`) can be restarted from its stored ``params``; a
job started from a one-off function (an upload import, whose file is gone) cannot. A job
left ``running`` by a process that died is failed at the next start
(:meth:`JobService.recover`), with its partial output removed.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from truelabel.domain.environment import TEST_JOB_DELAY
from truelabel.domain.errors import Cancelled, Conflict, NotFound, TruelabelError
from truelabel.domain.models import ImportResult, User
from truelabel.domain.roles import Role
from truelabel.store import accounts
from truelabel.store import jobs as job_store

if TYPE_CHECKING:
    from .project import Project
    from .workspace import Workspace

INTERRUPTED = "interrupted by a server restart — restart it"
STALE_SECONDS = 120.0
"""A running job whose process has not reported for this long is taken for dead."""

TEST_DELAY_ENV = TEST_JOB_DELAY.name
"""Tests only: seconds every job sleeps at each progress report (to stop a server mid-job)."""


class JobContext:
    """What a running job reports through: progress, a message, and the cancel check."""

    def __init__(self, job_id: int, service: JobService) -> None:
        self.id = job_id
        self.done = 0
        self.total: int | None = None
        self.message = ""
        self.cancelled = False
        self._service = service
        self._delay = float(TEST_JOB_DELAY.read() or 0)

    def progress(self, done: int, total: int | None = None) -> None:
        """Report progress; raises :class:`Cancelled` when a cancel was asked for."""
        self.done, self.total = int(done), total
        if self._delay:
            time.sleep(self._delay)
        self.check()

    def check(self) -> None:
        if self.cancelled or self._service._cancel_asked(self.id):
            self.cancelled = True
            raise Cancelled(f"Job {self.id} was cancelled; nothing of it was kept. "
                            "Restart it to run it again.")


Handler = Callable[["Workspace", dict[str, Any], "User | None", JobContext], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class JobKind:
    """A kind of job that can be (re)started from its params alone."""

    name: str
    run: Handler
    permission: str
    """What the actor needs on the job's project to start (and restart) it."""


KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def exports_dir(ws: Workspace) -> Path:
    """Where export jobs write: ``exports/`` in a workspace folder; for a database URL, a
    folder of its own (named by a digest of the URL) under ``truelabel-exports`` beside the
    local blob folder, or in the working directory when blobs are remote."""
    loc = ws.location
    if loc and "://" not in loc:
        folder = Path(loc) / "exports"
    else:
        blobs = ws.blobs.local_root()
        base = blobs.parent if blobs is not None else Path.cwd()
        digest = hashlib.sha256(loc.encode()).hexdigest()[:16]
        folder = base / "truelabel-exports" / digest
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _export(ws: Workspace, params: dict[str, Any], actor: User | None,
            ctx: JobContext) -> dict[str, Any]:
    p = ws.project(params["project"], actor=actor)
    fmt = params.get("format", "jsonl")
    target = exports_dir(ws) / f"job-{ctx.id}.{fmt}"
    r = p.export(target, fmt=fmt, only_labeled=bool(params.get("only_labeled")), actor=actor,
                 progress=ctx.progress)
    ctx.message = f"{r.items:,} items, {r.annotations:,} annotations written"
    return {"path": str(target), "format": r.format, "items": r.items,
            "annotations": r.annotations, "seconds": round(r.seconds, 3),
            "filename": f"{p.name}.{fmt}"}


def _quality_report(ws: Workspace, params: dict[str, Any], actor: User | None,
                    ctx: JobContext) -> dict[str, Any]:
    from .report import quality_report

    p = ws.project(params["project"], actor=actor)
    ctx.progress(0, 1)
    report = quality_report(p, actor=actor, n_resamples=int(params.get("n_resamples", 500)))
    ctx.progress(1, 1)
    ctx.message = "quality report ready"
    return {"report": report}


def _import_url(ws: Workspace, params: dict[str, Any], actor: User | None,
                ctx: JobContext) -> dict[str, Any]:
    from . import url_import

    p = ws.project(params["project"], actor=actor)
    r = url_import.import_url(p, params["url"], actor=actor, fmt=params.get("format"),
                              id_field=params.get("id_field"), progress=ctx.progress,
                              dedup=params.get("dedup") or "content",
                              on_conflict=params.get("on_conflict") or "fail")
    ctx.message = import_message(r)
    return r.to_dict()


def import_message(r: ImportResult) -> str:
    """An import job's message: the counts, then every note (repeats, conflicts, large
    items), which the web page shows as the import's result."""
    return " ".join([r.summary, *r.notes])


register_kind(JobKind("export", _export, "annotations.export"))
register_kind(JobKind("quality_report", _quality_report, "quality.read"))
register_kind(JobKind("import_url", _import_url, "items.import"))


class JobService:
    """Jobs of one workspace, as run by one process (its ``runner`` id)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.runner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._live: dict[int, JobContext] = {}
        self._cancels: set[int] = set()
        self._lock = threading.Lock()

    # -- creating ---------------------------------------------------------------------------
    def create(self, kind: str, params: dict[str, Any] | None, *, user_id: int | None,
               project_id: int | None) -> dict[str, Any]:
        """Record a new running job; the caller runs it (:meth:`run`). ``params`` None: a
        one-off job that cannot be restarted."""
        with self.ws.db.write() as conn:
            job_id = job_store.add(conn, kind=kind, project_id=project_id, user_id=user_id,
                                   params=params, runner=self.runner, now=time.time())
            row = job_store.get(conn, job_id)
        assert row is not None
        return self._public(row)

    def submit(self, kind: str, params: dict[str, Any], *, actor: User,
               project: Project) -> dict[str, Any]:
        """Record a job of a registered kind on ``project`` (the actor's permission checked);
        the caller runs it."""
        if kind not in KINDS:
            raise NotFound(f"No kind of job {kind!r}; the kinds are {sorted(KINDS)}.")
        project.require(actor, KINDS[kind].permission)
        return self.create(kind, {**params, "project": project.id}, user_id=actor.id,
                           project_id=project.id)

    def restart(self, job_id: int, *, actor: User) -> dict[str, Any]:
        """Run a failed or cancelled job again, from its params; its output is rewritten."""
        row = self._row(job_id, actor)
        if row["status"] == "running":
            raise Conflict(f"Job {job_id} is still running; cancel it first or wait.")
        if row["status"] == "done":
            raise Conflict(f"Job {job_id} finished; start a new one to run it again.")
        kind = KINDS.get(row["kind"])
        if kind is None or not row["params"]:
            raise Conflict(
                f"Job {job_id} ({row['kind']}) cannot be restarted: what it ran is gone "
                "(an uploaded file is not kept). Start it again (upload the file again).")
        if row["project_id"] is not None:
            self.ws.project(row["project_id"], actor=actor).require(actor, kind.permission)
        now = time.time()
        with self.ws.db.write() as conn:
            changed = job_store.update_job(
                conn, job_id, status="running", done=0, total=None, message="", result=None,
                error=None, cancel_requested=False, runner=self.runner, heartbeat_at=now,
                started_at=now, finished_at=None, attempts=row["attempts"] + 1)
            after = job_store.get(conn, job_id)
        assert changed and after is not None
        return self._public(after)

    # -- running ----------------------------------------------------------------------------
    def context(self, job_id: int) -> JobContext:
        ctx = JobContext(job_id, self)
        with self._lock:
            self._live[job_id] = ctx
        return ctx

    def run(self, job_id: int, fn: Handler | None = None,
            ctx: JobContext | None = None) -> dict[str, Any]:
        """Run a created job to its end (done, failed or cancelled) and record how it ended.
        ``fn`` runs a one-off function instead of the job's registered kind."""
        ctx = ctx or self.context(job_id)
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        status = "done"
        try:
            with self.ws.db.read() as conn:
                row = job_store.get(conn, job_id)
                assert row is not None
                user = accounts.get_user(conn, user_id=row["user_id"]) if row["user_id"] else None
            actor = (User(int(user["id"]), user["username"], Role(user["role"]),
                          user["display_name"]) if user else None)
            handler = fn or KINDS[row["kind"]].run
            result = handler(self.ws, row["params"] or {}, actor, ctx)
        except Cancelled as exc:
            status, error = "cancelled", exc.to_dict()
            ctx.message = exc.message
        except TruelabelError as exc:
            status, error = "failed", exc.to_dict()
            ctx.message = exc.message
        except Exception as exc:  # a job must always end with a status
            status = "failed"
            error = {"error": "internal", "message": f"{type(exc).__name__}: {exc}"}
            ctx.message = str(exc)
        finally:
            with self._lock:
                self._live.pop(job_id, None)
                self._cancels.discard(job_id)
        with self.ws.db.write() as conn:
            job_store.update_job(
                conn, job_id, only_running=True, status=status, done=ctx.done,
                total=ctx.total, message=ctx.message, result=result, error=error,
                finished_at=time.time(),
                output=(result or {}).get("path") if isinstance(result, dict) else None)
            row = job_store.get(conn, job_id)
        assert row is not None
        return self._public(row)

    def flush(self) -> None:
        """Write the live progress of this process's running jobs and learn of cancels; a
        database that is busy (an import holding SQLite's lock) is tried again next time."""
        with self._lock:
            live = {i: (c.done, c.total, c.message) for i, c in self._live.items()}
        if not live:
            return
        with self.ws.db.write(durable=False) as conn:
            cancels = job_store.heartbeat(conn, self.runner, live, time.time())
        with self._lock:
            self._cancels |= cancels

    def _cancel_asked(self, job_id: int) -> bool:
        return job_id in self._cancels

    def recover(self) -> list[int]:
        """Fail the jobs a dead process left running (and remove what they half wrote);
        the ids failed."""
        host = socket.gethostname()
        now = time.time()
        failed = []
        with self.ws.db.read() as conn:
            rows = job_store.running(conn)
        for row in rows:
            if row["runner"] == self.runner or not _dead(row, host, now):
                continue
            with self.ws.db.write() as conn:
                if job_store.update_job(
                    conn, row["id"], only_running=True, status="failed", message=INTERRUPTED,
                    error={"error": "interrupted", "message": f"Job {row['id']} was "
                           f"{INTERRUPTED}."}, finished_at=now):
                    failed.append(row["id"])
            if row["kind"] == "export":
                for part in exports_dir(self.ws).glob(f".job-{row['id']}.*"):
                    part.unlink(missing_ok=True)
        return failed

    # -- reading and cancelling -------------------------------------------------------------
    def get(self, job_id: int, *, actor: User) -> dict[str, Any]:
        return self._public(self._row(job_id, actor))

    def list(self, *, actor: User, project: Project | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        """The newest jobs the actor started (an admin: everyone's), of one project if given.
        """
        limit = max(1, min(int(limit), 500))
        if project is not None:
            project.require(actor, "project.read")
        with self.ws.db.read() as conn:
            rows = job_store.listing(conn, project_id=project.id if project else None,
                                     user_id=None if actor.is_admin else actor.id, limit=limit)
        return [self._public(r) for r in rows]

    def cancel(self, job_id: int, *, actor: User) -> dict[str, Any]:
        """Ask a running job to stop (it does at its next progress report)."""
        row = self._row(job_id, actor)
        if row["status"] != "running":
            raise Conflict(f"Job {job_id} is {row['status']}, not running; nothing to cancel.")
        with self._lock:
            here = job_id in self._live
            if here:  # this process runs it: no need to wait for the database (an import
                self._cancels.add(job_id)  # may hold SQLite's write lock until it ends)
        if here:
            return {**self._public(row), "cancel_requested": True}
        with self.ws.db.write() as conn:
            job_store.update_job(conn, job_id, only_running=True, cancel_requested=True)
            after = job_store.get(conn, job_id)
        assert after is not None
        return self._public(after)

    def output(self, job_id: int, *, actor: User) -> tuple[Path, str]:
        """The file a finished export job wrote, and the name to download it as."""
        row = self._row(job_id, actor)
        path = row["output"]
        if row["status"] != "done" or not path or not Path(path).is_file():
            raise NotFound(f"Job {job_id} has no file to download; it is {row['status']}"
                           + (" (restart it)." if row["status"] != "done" else "."))
        return Path(path), str((row["result"] or {}).get("filename") or Path(path).name)

    def get_any(self, job_id: int) -> dict[str, Any]:
        """A job whoever started it (for the process that runs it, and tests)."""
        with self.ws.db.read() as conn:
            row = job_store.get(conn, job_id)
        if row is None:
            raise NotFound(f"No job {job_id}.")
        return self._public(row)

    def _row(self, job_id: int, actor: User) -> dict[str, Any]:
        with self.ws.db.read() as conn:
            row = job_store.get(conn, job_id)
        if row is None or not self._may_see(row, actor):
            raise NotFound(f"No job {job_id}; list yours with GET /api/jobs.")
        return row

    @staticmethod
    def _may_see(row: dict[str, Any], actor: User) -> bool:
        return actor.is_admin or row["user_id"] == actor.id

    def _public(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {k: row[k] for k in ("id", "kind", "status", "done", "total", "message",
                                   "result", "error", "created_at", "started_at",
                                   "finished_at", "project_id", "attempts",
                                   "cancel_requested")}
        with self._lock:
            ctx = self._live.get(row["id"])
        if ctx is not None and row["status"] == "running":
            out.update(done=ctx.done, total=ctx.total, message=ctx.message)
        out["restartable"] = (row["status"] in ("failed", "cancelled") and row["kind"] in KINDS
                              and bool(row["params"]))
        out["download"] = row["status"] == "done" and bool(row["output"])
        return out


def _dead(row: dict[str, Any], host: str, now: float) -> bool:
    """Whether the process that runs a job is gone: on this host, its pid is not alive; on
    any host, it has not reported for :data:`STALE_SECONDS`."""
    if now - float(row["heartbeat_at"] or row["created_at"]) > STALE_SECONDS:
        return True
    runner = str(row["runner"] or "")
    r_host, _, rest = runner.partition(":")
    pid = rest.partition(":")[0]
    if r_host != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


__all__ = ["INTERRUPTED", "KINDS", "JobContext", "JobKind", "JobService", "register_kind"]
