"""Durable jobs: start an export or a quality report, list, read, cancel, restart, download.

Thin routes: parse, one call into the job runner (``server/jobs.py``, over
``core.jobs.JobService``), format. Uploads and URL imports start their jobs in their own
routes (``projects.py``, ``remote.py``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from truelabel.domain.models import User

from ..auth import current_user
from ..jobs import JobRunner
from .common import project_for

router = APIRouter(tags=["jobs"])


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


class ExportJobIn(BaseModel):
    format: Literal["jsonl", "parquet"] = "jsonl"
    only_labeled: bool = False


class ReportJobIn(BaseModel):
    resamples: int = Field(500, ge=0, le=10_000)


@router.get("/jobs")
def list_jobs(
    request: Request,
    user: User = Depends(current_user),
    project: str | None = Query(None, max_length=100,
                                description="a project's jobs (for its managers)"),
    limit: int = Query(100, ge=1, le=500),
) -> list[dict[str, Any]]:
    """The newest jobs: a project's (managers), else your own (an admin's: everyone's)."""
    p = project_for(request, project, user) if project else None
    return _jobs(request).list(actor=user, project=p, limit=limit)


@router.get("/jobs/{job_id}")
def get_job(job_id: int, request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """A background job: state, progress, result or error (yours; admins: any)."""
    return _jobs(request).get(job_id, user=user).to_dict()


@router.post("/projects/{project}/jobs/export", status_code=202)
def start_export_job(
    project: str, body: ExportJobIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Export in the background to a file kept on the server (written to a temp file and
    renamed: never half-written); download it from ``/jobs/{id}/download``."""
    p = project_for(request, project, user)
    return _jobs(request).submit("export", body.model_dump(), actor=user, project=p).to_dict()


@router.post("/projects/{project}/jobs/quality-report", status_code=202)
def start_report_job(
    project: str, body: ReportJobIn, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """Compute the quality report in the background (it is then cached for the dashboard)."""
    p = project_for(request, project, user)
    return _jobs(request).submit("quality_report", {"n_resamples": body.resamples},
                                 actor=user, project=p).to_dict()


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: int, request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """Ask a running job to stop; an import then keeps nothing, an export writes no file."""
    return _jobs(request).cancel(job_id, actor=user).to_dict()


@router.post("/jobs/{job_id}/restart", status_code=202)
def restart_job(job_id: int, request: Request,
                user: User = Depends(current_user)) -> dict[str, Any]:
    """Run a failed or cancelled job again (one interrupted by a server restart, too)."""
    return _jobs(request).restart(job_id, actor=user).to_dict()


@router.get("/jobs/{job_id}/download")
def download_job(job_id: int, request: Request,
                 user: User = Depends(current_user)) -> FileResponse:
    """The file a finished export job wrote."""
    path, name = _jobs(request).service.output(job_id, actor=user)
    return FileResponse(path, filename=name, media_type="application/octet-stream")
