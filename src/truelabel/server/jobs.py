"""Background jobs in the server process (imports), with progress readable while they run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from truelabel.domain.errors import NotFound, TruelabelError


@dataclass
class Job:
    id: int
    kind: str
    user_id: int | None
    project_id: int | None
    status: str = "running"  # running | done | failed
    done: int = 0
    total: int | None = None
    message: str = ""
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "id",
                "kind",
                "status",
                "done",
                "total",
                "message",
                "result",
                "error",
                "created_at",
                "finished_at",
                "project_id",
            )
        }


class JobRunner:
    """Runs callables in threads; keeps the newest 1,000 jobs in memory."""

    def __init__(self) -> None:
        self._jobs: dict[int, Job] = {}
        self._next = 1
        self._lock = threading.Lock()

    def start(
        self,
        kind: str,
        fn: Callable[[Job], dict[str, Any]],
        *,
        user_id: int | None,
        project_id: int | None,
    ) -> Job:
        with self._lock:
            job = Job(self._next, kind, user_id, project_id)
            self._jobs[job.id] = job
            self._next += 1
            if len(self._jobs) > 1000:
                del self._jobs[min(self._jobs)]

        def run() -> None:
            try:
                job.result = fn(job)
                job.status = "done"
            except TruelabelError as exc:
                job.error = exc.to_dict()
                job.message = exc.message
                job.status = "failed"
            except Exception as exc:  # a job must always finish with a status
                job.error = {"error": "internal", "message": f"{type(exc).__name__}: {exc}"}
                job.message = str(exc)
                job.status = "failed"
            finally:
                job.finished_at = time.time()

        threading.Thread(target=run, name=f"truelabel-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: int, *, user_id: int, is_admin: bool) -> Job:
        job = self._jobs.get(job_id)
        if job is None or (not is_admin and job.user_id != user_id):
            raise NotFound(f"No job {job_id}.")
        return job

    def wait(self, job_id: int, timeout: float = 60) -> Job:
        end = time.time() + timeout
        job = self._jobs[job_id]
        while job.status == "running" and time.time() < end:
            time.sleep(0.01)
        return job
