"""Quality assurance: workflow settings, gold, review, adjudication, ground truth, the quality
report and its charts, sign-off.

Thin routes: parse, make one call into ``Project`` (or the report), format. Permissions are
checked in ``core``; gold answers are only ever returned to those with ``gold.manage``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from truelabel import charts
from truelabel.core import parse_label_orders
from truelabel.domain.errors import NotFound
from truelabel.domain.models import User

from ..auth import current_user
from ..uploads import display_name, save_upload
from .common import project_for

router = APIRouter(tags=["quality"])

ORDER = Query([], max_length=20, description="FIELD=LOW,...,HIGH: ordinal agreement on FIELD "
              "in this label order (default: the schema's); repeat for several fields")

MAX_GOLD_UPLOAD = 256 << 20
#: A chart is an image: nothing in it may run or load anything, whatever its labels say.
SVG_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


class GoldIn(BaseModel):
    value: dict[str, Any] = Field(description="field name → the known answer")


class ReviewIn(BaseModel):
    annotation_id: int
    decision: Literal["accept", "reject", "correct"]
    stage: int | str | None = Field(default=None, description="stage number (1-based) or name")
    comment: str = Field(default="", max_length=10_000)
    value: dict[str, Any] | None = Field(
        default=None, description="the corrected annotation (decision 'correct')"
    )


class AdjudicateIn(BaseModel):
    value: dict[str, Any] = Field(description="the decided annotation, checked against the schema")
    comment: str = Field(default="", max_length=10_000)


class AggregateIn(BaseModel):
    method: str = Field(default="auto", max_length=200,
                        description="a registered truth-inference method (see docs/quality.md); "
                        "auto picks one per field by a held-out score")
    max_iter: int | None = Field(default=None, ge=1, le=1000,
                                 description="iterative methods: at most this many iterations "
                                 "(at most 1,000 over HTTP, which bounds a request's work; "
                                 "the CLI and Python API take any number)")
    tol: float | None = Field(default=None, ge=0.0,
                              description="iterative methods: stop when the objective per "
                              "answer improves by at most this (0: to a fixed point)")


class SignoffIn(BaseModel):
    comment: str = Field(default="", max_length=10_000)
    override_reason: str = Field(default="", max_length=10_000)


# -- workflow --------------------------------------------------------------------------------
@router.get("/projects/{project}/workflow")
def get_workflow(
    project: str, request: Request, user: User = Depends(current_user)
) -> dict[str, Any]:
    """The quality workflow settings (reviewers and managers)."""
    p = project_for(request, project, user)
    p.require(user, "quality.read")
    return p.workflow().model_dump(mode="json")


@router.patch("/projects/{project}/workflow")
def patch_workflow(
    project: str,
    request: Request,
    body: dict[str, Any] = Body(
        ...,
        examples=[{"gold_rate": 0.2, "gold_feedback": False, "adjudication_threshold": 0.5,
                   "review_stages": [{"name": "review", "role": "reviewer", "sample_rate": 1}]}],
    ),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Change some workflow settings (managers); unknown names are refused with the list."""
    wf = project_for(request, project, user).set_workflow(body, actor=user)
    return wf.model_dump(mode="json")


# -- gold ------------------------------------------------------------------------------------
@router.put("/projects/{project}/items/{item_id}/gold")
def put_gold(
    project: str, item_id: int, body: GoldIn, request: Request,
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Make an item a gold item with this known answer (managers)."""
    value = project_for(request, project, user).set_gold(item_id, body.value, actor=user)
    return {"item_id": item_id, "value": value}


@router.delete("/projects/{project}/items/{item_id}/gold", status_code=204)
def delete_gold(
    project: str, item_id: int, request: Request, user: User = Depends(current_user)
) -> Response:
    """The item is no longer gold; it returns to the pool."""
    project_for(request, project, user).unset_gold(item_id, actor=user)
    return Response(status_code=204)


@router.get("/projects/{project}/gold")
def list_gold(
    project: str, request: Request, user: User = Depends(current_user)
) -> list[dict[str, Any]]:
    """Every gold item with its known answer (managers only)."""
    gold = project_for(request, project, user).gold(actor=user)
    return [{"item_id": i, "value": v} for i, v in sorted(gold.items())]


@router.post("/projects/{project}/gold")
def upload_gold(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    file: UploadFile = File(..., description="JSONL, CSV or Parquet: one record per item"),
    id_field: str = Form("id", description="the column holding the item's external id"),
    format: str | None = Form(None),
) -> dict[str, Any]:
    """Import known answers from a file (all or nothing)."""
    p = project_for(request, project, user)
    p.require(user, "gold.manage")  # before reading the upload
    name = display_name(file.filename, "gold.jsonl")
    tmp, _ = save_upload(file.file, name, prefix="tl-gold-", limit=MAX_GOLD_UPLOAD,
                         what="A gold file is limited to 256 MiB; import it with the CLI.")
    try:
        n = p.import_gold(tmp, id_field=id_field, fmt=format or None, actor=user, source=name)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"imported": n, "source": name}


# -- review ----------------------------------------------------------------------------------
@router.get(
    "/projects/{project}/reviews/next",
    responses={204: {"description": "nothing waiting for review at this stage"}},
)
def next_review(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    stage: str | None = Query(None, max_length=60, description="stage number or name"),
) -> Any:
    """The next annotation to review, with its item and the other annotators' labels."""
    view = project_for(request, project, user).next_review(user, stage=stage)
    if view is None:
        return Response(status_code=204)
    return view


@router.post("/projects/{project}/reviews", status_code=201)
def post_review(
    project: str, body: ReviewIn, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """Accept, reject (comment required; the item returns to the queue) or correct."""
    return project_for(request, project, user).review(
        body.annotation_id,
        body.decision,
        user,
        stage=body.stage,
        comment=body.comment,
        value=body.value,
    )


# -- adjudication ----------------------------------------------------------------------------
@router.get("/projects/{project}/adjudications")
def adjudications(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    status: Literal["open", "decided"] = "open",
) -> Sequence[Mapping[str, Any]]:
    """Items whose disagreement stayed above the threshold, with every label."""
    return project_for(request, project, user).adjudication_queue(actor=user, status=status)


@router.post("/projects/{project}/adjudications/{item_id}")
def adjudicate(
    project: str,
    item_id: int,
    body: AdjudicateIn,
    request: Request,
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Decide the item's label; it becomes its ground truth (confidence 1)."""
    value = project_for(request, project, user).adjudicate(
        item_id, body.value, user, comment=body.comment
    )
    return {"item_id": item_id, "value": value}


# -- ground truth ----------------------------------------------------------------------------
@router.post("/projects/{project}/aggregate")
def aggregate(
    project: str, body: AggregateIn, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """Compute ground truth for every field (adjudicated items keep their decision)."""
    return project_for(request, project, user).aggregate(
        method=body.method, actor=user, max_iter=body.max_iter, tol=body.tol)


@router.get("/projects/{project}/ground-truth")
def ground_truth(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    item_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per item: field → {value, confidence, method, contributors}."""
    gt = project_for(request, project, user).ground_truth(item_id=item_id, actor=user)
    return [{"item_id": i, "fields": f} for i, f in sorted(gt.items())]


# -- the report ------------------------------------------------------------------------------
@router.get("/projects/{project}/quality")
def quality(
    project: str,
    request: Request,
    user: User = Depends(current_user),
    resamples: int = Query(500, ge=50, le=5000, description="bootstrap resamples for the CIs"),
    order: list[str] = ORDER,
) -> dict[str, Any]:
    """Progress, agreement with intervals, annotator scorecards, confusion, hot spots.
    Ordinal fields report the label ``order`` they used; ``order=FIELD=a,b,c`` sets one."""
    p = project_for(request, project, user)
    return p.quality_report(actor=user, n_resamples=resamples,
                            orders=parse_label_orders(order))


@router.get(
    "/projects/{project}/quality/charts/{name}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def quality_chart(
    project: str,
    name: str,
    request: Request,
    user: User = Depends(current_user),
    field: str | None = Query(None, max_length=200, description="for per-field charts"),
    order: list[str] = ORDER,
) -> Response:
    """One chart of the quality report as SVG: agreement, annotators, confusion, per-label,
    reliability (accuracy on gold against confidence, raw and calibrated)."""
    if name not in charts.CHARTS:
        raise NotFound(f"No chart {name!r}; charts are {list(charts.CHARTS)}.")
    report = project_for(request, project, user).quality_report(
        actor=user, n_resamples=200, orders=parse_label_orders(order))
    try:
        svg = charts.report_chart(report, name, field=field)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


# -- sign-off --------------------------------------------------------------------------------
@router.post("/projects/{project}/signoffs", status_code=201)
def sign_off(
    project: str, body: SignoffIn, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """QA-lead sign-off; the evidence (the quality report) is frozen with it. Open
    adjudications or low agreement refuse it (409 ``signoff_needs_override``, the warnings in
    ``detail``) unless ``override_reason`` says why; the reason is recorded."""
    return project_for(request, project, user).sign_off(
        user, comment=body.comment, override_reason=body.override_reason)


@router.get("/projects/{project}/signoffs/warnings")
def signoff_warnings(
    project: str, request: Request, user: User = Depends(current_user)
) -> Mapping[str, Any]:
    """What a sign-off now would be warned about: open adjudications, low agreement."""
    return {"warnings": project_for(request, project, user).signoff_warnings(actor=user)}


@router.get("/projects/{project}/signoffs")
def signoffs(
    project: str, request: Request, user: User = Depends(current_user)
) -> Sequence[Mapping[str, Any]]:
    """Every sign-off with its frozen evidence (gold figures hidden without gold.manage)."""
    return project_for(request, project, user).signoffs(actor=user)
