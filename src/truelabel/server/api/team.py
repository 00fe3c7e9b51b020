"""The managers' view of the team: the team report as JSON and its charts as SVG.

Thin routes: parse, make one call into ``Project.team_report``, format. The report needs
``quality.read`` (reviewers, managers, admins); the check is in ``core``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from truelabel import charts
from truelabel.domain.errors import NotFound
from truelabel.domain.models import User

from ..auth import current_user
from .common import project_for
from .quality import SVG_HEADERS

router = APIRouter(tags=["team"])

DAYS = Query(14, ge=1, le=366, description="how many days back, today included")
TZ = Query(0, ge=-840, le=840, description="the viewer's time zone, minutes east of UTC")


@router.get("/projects/{project}/team")
def team(
    project: str, request: Request, user: User = Depends(current_user),
    days: int = DAYS, tz_offset: int = TZ,
) -> dict[str, Any]:
    """Throughput per day and hour, time per item per annotator, activity by day, queue depth."""
    p = project_for(request, project, user)
    return p.team_report(actor=user, days=days, tz_offset=tz_offset)


@router.get(
    "/projects/{project}/team/charts/{name}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def team_chart(
    project: str, name: str, request: Request, user: User = Depends(current_user),
    days: int = DAYS, tz_offset: int = TZ,
) -> Response:
    """One chart of the team report as SVG: per-day, per-hour, activity, time, durations, queue."""
    if name not in charts.TEAM_CHARTS:
        raise NotFound(f"No team chart {name!r}; charts are {list(charts.TEAM_CHARTS)}.")
    report = project_for(request, project, user).team_report(
        actor=user, days=days, tz_offset=tz_offset
    )
    return Response(charts.team_chart(report, name), media_type="image/svg+xml",
                    headers=SVG_HEADERS)
