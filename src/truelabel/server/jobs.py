"""Background jobs of the server process: each runs in a thread; its state, progress, result
and error live in the ``jobs`` table (``core.jobs``), so they outlive the process.

A flusher thread writes the running jobs' progress every second and picks up cancel requests
made through any server process. At start, jobs a dead server left running are failed
("interrupted by a server restart — restart it").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from truelabel.core import JOB_KINDS as KINDS
from truelabel.core import JobContext, JobService
from truelabel.domain.models import User

if TYPE_CHECKING:
    from truelabel.core import Project, Workspace

log = logging.getLogger("truelabel.jobs")

FLUSH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as last read: ``id``, ``status`` and every other key of :meth:`to_dict` as an
    attribute (``job.message``, ``job.result``…)."""

    id: int
    status: str
    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def _view(row: dict[str, Any]) -> JobView:
    return JobView(int(row["id"]), str(row["status"]), row)


class JobRunner:
    """Starts jobs in threads, persisting them through :class:`~truelabel.core.jobs.JobService`."""

    def __init__(self, ws: Workspace) -> None:
        self.service = JobService(ws)
        self._jobs: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        try:
            failed = self.service.recover()
        except Exception:  # never keep the server from starting
            log.exception("could not check for interrupted jobs")
        else:
            if failed:
                log.warning("jobs %s were interrupted by a server restart", failed)

    def start(self, kind: str, fn: Callable[[JobContext], dict[str, Any]], *,
              user_id: int | None, project_id: int | None) -> JobView:
        """Run a one-off function as a job (it cannot be restarted: what it ran is not
        kept)."""
        row = self.service.create(kind, None, user_id=user_id, project_id=project_id)
        self._launch(row["id"], lambda ws, params, actor, ctx: fn(ctx))
        return _view(row)

    def submit(self, kind: str, params: dict[str, Any], *, actor: User,
               project: Project) -> JobView:
        """Run a registered kind of job (restartable from ``params``)."""
        row = self.service.submit(kind, params, actor=actor, project=project)
        self._launch(row["id"], None)
        return _view(row)

    def restart(self, job_id: int, *, actor: User) -> JobView:
        row = self.service.restart(job_id, actor=actor)
        self._launch(job_id, None)
        return _view(row)

    def cancel(self, job_id: int, *, actor: User) -> JobView:
        return _view(self.service.cancel(job_id, actor=actor))

    def get(self, job_id: int, *, user: User) -> JobView:
        return _view(self.service.get(job_id, actor=user))

    def list(self, *, actor: User, project: Project | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
        return self.service.list(actor=actor, project=project, limit=limit)

    def wait(self, job_id: int, timeout: float = 60) -> JobView:
        """The job once its thread ended (or after ``timeout`` seconds)."""
        with self._lock:
            thread = self._jobs.get(job_id)
        if thread is not None:
            thread.join(timeout)
        row = self.service.get_any(job_id)
        return _view(row)

    def _launch(self, job_id: int, fn: Any) -> None:
        ctx = self.service.context(job_id)
        thread = threading.Thread(target=self._run, args=(job_id, fn, ctx),
                                  name=f"truelabel-job-{job_id}", daemon=True)
        with self._lock:
            self._jobs[job_id] = thread
            while len(self._jobs) > 1000:
                del self._jobs[min(self._jobs)]
        thread.start()
        self._ensure_flusher()

    def _run(self, job_id: int, fn: Any, ctx: JobContext) -> None:
        try:
            self.service.run(job_id, fn, ctx)
        except Exception:  # the job's end could not be recorded (database gone)
            log.exception("job %s could not record how it ended", job_id)

    def _ensure_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None and self._flusher.is_alive():
                return
            self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                             name="truelabel-jobs-flush")
            self._flusher.start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.service.flush()
            except Exception:  # busy or closed: next time
                log.debug("job progress not written this time", exc_info=True)
            with self._lock:
                if not any(t.is_alive() for t in self._jobs.values()):
                    self._flusher = None
                    return


__all__ = ["KINDS", "JobRunner", "JobView"]
