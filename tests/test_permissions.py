"""The permission matrix: every API route × every kind of caller × own, foreign and cross objects.

The routes come from the app's OpenAPI document; two tables written here say, per
``operationId``, which permission of :data:`truelabel.domain.roles.PERMISSIONS` the route needs
and what a plausible request looks like. A route missing from the tables fails
``test_tables_cover_every_route`` (and its own matrix test) until someone adds it.

Two projects live in one workspace: ``own``, where the callers are members, and ``foreign``,
where they are not. Each holds items, leases, annotations, a review stage with reviews, open
and decided adjudications, gold, ground truth and a sign-off. Every route is called

- ``own``: the path names ``own`` and objects of ``own`` (the caller's own task, annotation…);
- ``foreign``: the path names ``foreign`` and objects of ``foreign``;
- ``cross``: the path names ``own`` but the ids are objects of ``foreign`` (IDOR by id).

by the workspace admin, a project admin, a manager, a reviewer, an annotator, a user who is a
member of nothing (with the global role manager) and an anonymous caller. Asserted:

- no 5xx anywhere; anonymous callers get 401 (the few public routes excepted);
- the status follows from ``role_allows(role, permission)``: a role without the permission
  gets 403; objects outside the caller's reach get 404 (a project they are not in, an item an
  annotator was never given, a job someone else started);
- every 404 for an object the caller may not see, and every cross-project attempt, answers the
  very bytes that a *nonexistent* project or object answers (the same request with ghost names
  and ids; only the identifiers the caller sent are echoed back);
- after each such attempt, the victim project's rows (every table, and its audit entries) are
  byte-identical to before.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, or_, select

from helpers import PASSWORD, SCHEMA, open_workspace
from truelabel import Workspace
from truelabel.charts.quality import CHARTS
from truelabel.core import Project, url_import
from truelabel.domain.models import User
from truelabel.domain.roles import PERMISSIONS, Role, role_allows
from truelabel.server.app import create_app
from truelabel.server.pages import routes as page_routes
from truelabel.store import queue
from truelabel.store import tables as t

# -- the route tables ----------------------------------------------------------------------
PUBLIC = "public"  # no login needed
AUTH = "authenticated"  # any logged-in user
#: Workspace-level permissions that no role but admin ("*") holds: listed so a typo in the
#: route table fails, and so granting one to a role in PERMISSIONS changes the expectation.
WORKSPACE_ONLY = {"users.manage", "audit.read", "project.create", "settings.manage",
                  "project.archive"}

Body = Callable[["Ctx"], Any]


@dataclass(frozen=True)
class Route:
    """What one operation needs and a plausible request for it."""

    perm: str  # PUBLIC, AUTH, or a permission checked with role_allows
    ok: tuple[int, ...]  # statuses of an allowed call
    body: Body | None = None  # JSON body
    files: Callable[[Ctx], dict[str, Any]] | None = None  # multipart upload
    form: dict[str, str] | None = None
    query: Body | None = None
    objs: dict[str, str] = field(default_factory=dict)  # path parameter → object kind
    cross: int | None = 404  # status with own project + foreign ids; None: no ids to swap
    owner_only: bool = False  # only the object's owner and admins see it (404 for others)
    hidden_from_annotators: bool = False  # annotators only see items given to them (404)
    ends_login: bool = False  # a success revokes the caller's token (a new one is made)


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def _jsonl(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


ROUTES: dict[str, Route] = {
    # users and sessions
    "login_api_login_post": Route(
        PUBLIC, (200,), body=lambda c: {"username": "victim", "password": PASSWORD}, cross=None),
    "logout_api_logout_post": Route(PUBLIC, (204,), cross=None),
    "me_api_me_get": Route(AUTH, (200,), cross=None),
    "list_users_api_users_get": Route("users.manage", (200,), cross=None),
    "add_user_api_users_post": Route(
        "users.manage", (201,), cross=None,
        body=lambda c: {"username": f"new-{c.tag}", "password": PASSWORD, "role": "annotator"}),
    "create_token_api_tokens_post": Route(
        AUTH, (201,), body=lambda c: {"name": "perm", "ttl_seconds": 600}, cross=None),
    "my_tokens_api_me_tokens_get": Route(AUTH, (200,), cross=None),
    "new_token_api_me_tokens_post": Route(
        AUTH, (201,), body=lambda c: {"name": "perm", "scope": "read", "expires_in_days": 1},
        cross=None),
    # a token id nobody holds: revoking the callers' own tokens would end their clients
    "revoke_my_token_api_me_tokens__token_id__delete": Route(AUTH, (404,), cross=None),
    "user_tokens_api_users__username__tokens_get": Route("users.manage", (200,), cross=None),
    "revoke_user_token_api_users__username__tokens__token_id__delete": Route(
        "users.manage", (404,), cross=None),
    "change_password_api_me_password_post": Route(
        AUTH, (204,), cross=None, ends_login=True,
        body=lambda c: {"current_password": PASSWORD, "new_password": PASSWORD}),
    "patch_user_api_users__username__patch": Route(
        "users.manage", (204,), body=lambda c: {"disabled": False}, cross=None),
    "audit_api_audit_get": Route("audit.read", (200,), query=lambda c: {"limit": 5}, cross=None),
    "audit_export_api_audit_export_get": Route("audit.read", (200,), cross=None),
    # projects
    "list_projects_api_projects_get": Route(AUTH, (200,), cross=None),
    "create_project_api_projects_post": Route(
        "project.create", (201,), cross=None,
        body=lambda c: {"name": f"new-{c.tag}", "schema": SCHEMA}),
    "label_schema_format_api_schema_json_get": Route(PUBLIC, (200,), cross=None),
    "list_field_kinds_api_field_kinds_get": Route(PUBLIC, (200,), cross=None),
    "get_project_api_projects__project__get": Route("project.read", (200,), cross=None),
    "patch_project_api_projects__project__patch": Route(
        "project.edit", (200,), body=lambda c: {"lease_seconds": 3600}, cross=None),
    "members_api_projects__project__members_get": Route("project.read", (200,), cross=None),
    "add_member_api_projects__project__members_post": Route(
        "members.manage", (204,), body=lambda c: {"username": "victim", "role": "annotator"},
        cross=None),
    "assign_api_projects__project__assign_post": Route(
        "items.assign", (200,), body=lambda c: {"item_ids": [c.spare], "username": c.member}),
    "set_priorities_api_projects__project__items_priority_post": Route(
        "items.assign", (200,), body=lambda c: {"items": [{"item_id": c.spare, "priority": 1}]},
        cross=None),
    "list_items_api_projects__project__items_get": Route(
        "project.read", (200,), query=lambda c: {"limit": 5}, cross=None),
    "get_item_api_projects__project__items__item_id__get": Route(
        "project.read", (200,), hidden_from_annotators=True),
    "batches_api_projects__project__batches_get": Route("items.read", (200,), cross=None),
    # the data browser (issue 12)
    "browse_api_projects__project__browse_get": Route(
        "project.read", (200,), query=lambda c: {"limit": 5, "sort": "-id"}, cross=None),
    "bulk_items_api_projects__project__items_bulk_post": Route(
        "items.assign", (200,),
        body=lambda c: {"action": "requeue", "item_ids": [c.spare], "dry_run": True}),
    "item_record_api_projects__project__items__item_id__record_get": Route(
        "project.read", (200,), hidden_from_annotators=True),
    "saved_views_api_projects__project__views_get": Route("items.read", (200,), cross=None),
    "save_view_api_projects__project__views_post": Route(
        "items.read", (201,), body=lambda c: {"name": f"v-{c.tag}", "query": "sort=-id"},
        cross=None),
    "delete_view_api_projects__project__views__view_id__delete": Route(
        "items.read", (404,), cross=None),  # no such view: 404 once the role may
    "start_import_api_projects__project__imports_post": Route(
        "items.import", (202,), cross=None, form={"format": "jsonl"},
        files=lambda c: {"file": (f"{c.tag}.jsonl", _jsonl({"id": f"imp-{c.tag}", "text": "x"}),
                                  "application/x-ndjson")}),
    "get_job_api_jobs__job_id__get": Route(AUTH, (200,), owner_only=True, cross=None),
    "list_jobs_api_jobs_get": Route(AUTH, (200,), cross=None),
    "start_export_job_api_projects__project__jobs_export_post": Route(
        "annotations.export", (202,), cross=None, body=lambda c: {"format": "jsonl"}),
    "start_report_job_api_projects__project__jobs_quality_report_post": Route(
        "quality.read", (202,), cross=None, body=lambda c: {"resamples": 10}),
    # the export job has finished: cancel and restart answer 409 to its owner
    "cancel_job_api_jobs__job_id__cancel_post": Route(
        AUTH, (409,), owner_only=True, cross=None, objs={"job_id": "export_job"}),
    "restart_job_api_jobs__job_id__restart_post": Route(
        AUTH, (409,), owner_only=True, cross=None, objs={"job_id": "export_job"}),
    "download_job_api_jobs__job_id__download_get": Route(
        AUTH, (200,), owner_only=True, cross=None, objs={"job_id": "export_job"}),
    "export_api_projects__project__export_get": Route(
        "annotations.export", (200,), cross=None),
    # the annotator's loop
    "next_task_api_projects__project__tasks_next_post": Route("task.work", (200, 204), cross=None),
    "get_task_api_projects__project__tasks__task_id__get": Route("task.work", (200,)),
    "save_draft_api_projects__project__tasks__task_id__draft_put": Route(
        "task.work", (204,), body=lambda c: {"value": {"intent": "refund"}}),
    "submit_api_projects__project__tasks__task_id__submit_post": Route(
        "task.work", (200,), objs={"task_id": "submit_task"},
        body=lambda c: {"value": {"intent": "refund"}, "idempotency_key": f"sub-{c.tag}"}),
    "skip_api_projects__project__tasks__task_id__skip_post": Route(
        "task.work", (204,), objs={"task_id": "skip_task"}),
    "update_annotation_api_projects__project__annotations__annotation_id__put": Route(
        "task.work", (200,),
        body=lambda c: {"value": {"intent": "other"}, "idempotency_key": f"upd-{c.tag}"}),
    # the annotator's own work, questions (issue 12)
    "undo_api_projects__project__tasks__task_id__undo_post": Route("task.work", (200,)),
    "progress_api_projects__project__me_progress_get": Route("task.work", (200,), cross=None),
    "my_annotations_api_projects__project__me_annotations_get": Route(
        "task.work", (200,), cross=None),
    "my_annotation_api_projects__project__me_annotations__annotation_id__get": Route(
        "task.work", (200,)),
    "my_skipped_api_projects__project__me_skipped_get": Route("task.work", (200,), cross=None),
    "ask_api_projects__project__items__item_id__questions_post": Route(
        "task.work", (201,), body=lambda c: {"text": "Is this a refund?"},
        hidden_from_annotators=True),
    "my_questions_api_projects__project__me_questions_get": Route(
        "task.work", (200,), cross=None),
    "questions_api_projects__project__questions_get": Route(
        "quality.adjudicate", (200,), cross=None),
    "answer_api_projects__project__questions__question_id__answer_post": Route(
        "quality.adjudicate", (200,), body=lambda c: {"text": "Yes."}),
    # quality
    "get_workflow_api_projects__project__workflow_get": Route("quality.read", (200,), cross=None),
    "patch_workflow_api_projects__project__workflow_patch": Route(
        "project.edit", (200,), body=lambda c: {"gold_feedback": False}, cross=None),
    "put_gold_api_projects__project__items__item_id__gold_put": Route(
        "gold.manage", (200,), objs={"item_id": "gold_item"},
        body=lambda c: {"value": {"intent": "refund"}}),
    "delete_gold_api_projects__project__items__item_id__gold_delete": Route(
        "gold.manage", (204,), objs={"item_id": "gold_item"}),
    "list_gold_api_projects__project__gold_get": Route("gold.manage", (200,), cross=None),
    "upload_gold_api_projects__project__gold_post": Route(
        "gold.manage", (200,), cross=422, form={"format": "jsonl"},
        files=lambda c: {"file": ("gold.jsonl", _jsonl({"id": c.ext_id, "intent": "shipping"}),
                                  "application/x-ndjson")}),
    "next_review_api_projects__project__reviews_next_get": Route(
        "review.work", (200, 204), cross=None),
    "post_review_api_projects__project__reviews_post": Route(
        "review.work", (201,),
        body=lambda c: {"annotation_id": c.review_annotation, "decision": "accept",
                        "comment": "fine"}),
    "adjudications_api_projects__project__adjudications_get": Route(
        "quality.adjudicate", (200,), cross=None),
    "adjudicate_api_projects__project__adjudications__item_id__post": Route(
        "quality.adjudicate", (200,), objs={"item_id": "adjudication_item"},
        body=lambda c: {"value": {"intent": "shipping"}, "comment": "decided"}),
    "aggregate_api_projects__project__aggregate_post": Route(
        "quality.aggregate", (200,), body=lambda c: {"method": "majority"}, cross=None),
    "ground_truth_api_projects__project__ground_truth_get": Route(
        "quality.read", (200,), query=lambda c: {"item_id": c.adjudication_item}, cross=200),
    "quality_api_projects__project__quality_get": Route(
        "quality.read", (200,), query=lambda c: {"resamples": 50}, cross=None),
    "quality_chart_api_projects__project__quality_charts__name__svg_get": Route(
        "quality.read", (200,), cross=None),
    "sign_off_api_projects__project__signoffs_post": Route(
        "quality.signoff", (201,), body=lambda c: {"comment": "ok", "override_reason": "test"},
        cross=None),
    "signoffs_api_projects__project__signoffs_get": Route("quality.read", (200,), cross=None),
    # management (manage.py); archive is called with archived=false: the project stays active
    "archive_api_projects__project__archive_post": Route(
        "project.archive", (200,), body=lambda c: {"archived": False}, cross=None),
    "put_guidelines_api_projects__project__guidelines_put": Route(
        "project.edit", (200,), body=lambda c: {"guidelines": "# Own", "note": c.tag},
        cross=None),
    "guideline_versions_api_projects__project__guidelines_versions_get": Route(
        "project.read", (200,), cross=None),
    "guideline_changes_api_projects__project__guidelines_changes_get": Route(
        "project.read", (200,), cross=None),
    "guidelines_seen_api_projects__project__guidelines_seen_post": Route(
        "project.read", (204,), body=lambda c: {"version": 1}, cross=None),
    # "victim" is a member of neither project: taking them out is done already (idempotent)
    "remove_member_api_projects__project__members__username__delete": Route(
        "members.manage", (204,), cross=None),
    "assign_count_api_projects__project__assign_count_post": Route(
        # to the second annotator: the matrix's annotator must not be given the checked item
        "items.assign", (200,),
        body=lambda c: {"count": 1, "username": "ann2" if c.project == "own" else "fann2"},
        cross=None),
    "check_schema_api_projects__project__schema_check_post": Route(
        "project.edit", (200,), body=lambda c: {"schema": SCHEMA}, cross=None),
    "workflow_schema_api_workflow_schema_json_get": Route(PUBLIC, (200,), cross=None),
    "team_api_projects__project__team_get": Route(
        "quality.read", (200,), query=lambda c: {"days": 7}, cross=None),
    "team_chart_api_projects__project__team_charts__name__svg_get": Route(
        "quality.read", (200,), objs={"name": "team_chart"}, cross=None),
    "signoff_warnings_api_projects__project__signoffs_warnings_get": Route(
        "quality.signoff", (200,), cross=None),
    # content from outside
    "start_url_import_api_projects__project__imports_url_post": Route(
        # a loopback URL: the SSRF check refuses it (422) after the permission check, no traffic
        "items.import", (422,), body=lambda c: {"url": "http://127.0.0.1:9/x.jsonl"},
        cross=None),
    "get_allowlist_api_settings_url_allowlist_get": Route("settings.manage", (200,), cross=None),
    "put_allowlist_api_settings_url_allowlist_put": Route(
        "settings.manage", (200,), body=lambda c: {"allow": []}, cross=None),
    "upload_media_api_projects__project__media_post": Route(
        "items.import", (201,), cross=None,
        files=lambda c: {"file": ("m.png", PNG + c.tag.encode(), "image/png")}),
    "get_media_api_projects__project__media__digest__get": Route("project.read", (200,)),
}

#: Path parameter → the kind of object that fills it (a route may override in ``objs``).
PARAM_KIND = {"project": "project", "item_id": "item", "annotation_id": "annotation",
              "task_id": "task", "job_id": "job", "username": "username", "name": "chart",
              "digest": "digest", "token_id": "token",
              "question_id": "question",
              "view_id": "no_view"}  # a saved view id no view has
#: Object kinds that are ids of the victim project (swapped for ghosts in the twin request).
ID_KINDS = ("item", "spare", "ext_id", "task", "submit_task", "skip_task", "annotation",
            "review_annotation", "adjudication_item", "gold_item", "job", "export_job",
            "digest", "question")


# -- the OpenAPI route list ----------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    op_id: str
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def project_scoped(self) -> bool:
        return "project" in self.params


def operations() -> list[Operation]:
    # The document does not touch the workspace, so none is needed to list the routes.
    spec = create_app(cast(Workspace, None)).openapi()
    return [Operation(op["operationId"], method.upper(), path)
            for path, ops in spec["paths"].items() for method, op in ops.items()]


OPERATIONS = operations()


def test_tables_cover_every_route() -> None:
    ids = [o.op_id for o in OPERATIONS]
    assert len(ids) == len(set(ids)), "duplicate operationIds"
    missing = sorted(set(ids) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(ids))
    assert not missing, f"routes without an entry in ROUTES (permission and request): {missing}"
    assert not stale, f"ROUTES entries for routes that no longer exist: {stale}"
    granted = set().union(*PERMISSIONS.values())
    for op_id, route in ROUTES.items():
        assert route.perm in {PUBLIC, AUTH} | WORKSPACE_ONLY | granted, (op_id, route.perm)
    for perm in WORKSPACE_ONLY:
        assert not any(perm in PERMISSIONS[r] for r in Role if r != Role.ADMIN), perm
    for op in OPERATIONS:
        for p in op.params:
            assert ROUTES[op.op_id].objs.get(p, PARAM_KIND.get(p)), (
                f"{op.op_id}: no filler for path parameter {p!r}; add it to PARAM_KIND")


# -- the callers -------------------------------------------------------------------------------
#: principal → (global role, role in ``own`` or None). "admin" is the workspace admin.
PRINCIPALS: dict[str, tuple[str, str | None] | None] = {
    "admin": ("admin", None),
    "padmin": ("annotator", "admin"),
    "manager": ("manager", "manager"),
    "reviewer": ("reviewer", "reviewer"),
    "annotator": ("annotator", "annotator"),
    "outsider": ("manager", None),
    "anonymous": None,
}
#: The foreign project's own people (the callers above are not members there).
FOREIGN_MEMBERS = {"fmanager": "manager", "freviewer": "reviewer", "fann": "annotator"}
GHOST_PROJECT = "ghost-prj-0"


@dataclass
class ProjectObjs:
    name: str
    id: int
    item: int  # an item nobody was given
    spare: int  # an item for the assign route
    ext_id: str
    member: str  # an annotator of this project
    per: dict[str, dict[str, int]]  # username → kind → id of their own objects
    default: str  # whose objects a caller without their own gets
    job: int = 0
    job_owner: str = ""
    export_job: int = 0
    digest: str = ""


@dataclass
class Ctx:
    """Values a request is built from (attribute access for the body lambdas)."""

    project: str
    item: int
    ext_id: str
    member: str
    tag: str
    objs: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objs"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class World:
    ws: Workspace
    app: Any
    clients: dict[str, TestClient]
    users: dict[str, User]
    own: ProjectObjs
    foreign: ProjectObjs


def _lease(p: Project, item_id: int, user: User) -> int:
    with p.db.write() as conn:
        row = queue.take_item(conn, project_id=p.id, item_id=item_id, user_id=user.id, overlap=2,
                              status="leased", lease_seconds=3600, now=time.time())
    return int(row["id"])


def populate(p: Project, workers: dict[str, User], ann: User, ann2: User, manager: User,
             reviewer: User) -> ProjectObjs:
    """Items, leases, annotations, reviews, adjudications, gold, ground truth, a sign-off."""
    p.set_workflow(review_stages=[{"name": "check", "role": "reviewer", "sample_rate": 1.0}],
                   adjudication_threshold=0.4)
    p.import_records([{"id": f"{p.name}-{i}", "text": f"Order {i} from ACME arrived broken",
                       "meta": {"lang": "en"}} for i in range(80)])
    ids = iter(r["id"] for r in p.items(limit=500))
    first, spare = next(ids), next(ids)
    per: dict[str, dict[str, int]] = {}
    for name, u in workers.items():
        d = per[name] = {}
        for kind in ("task", "submit_task", "skip_task"):
            d[kind] = _lease(p, next(ids), u)
        mine = p.annotate(next(ids), {"intent": "refund"}, u, key=f"a-{p.name}-{name}")
        d["annotation"] = mine.id
        d["question"] = p.questions.ask(mine.item_id, "Which intent?", u)["id"]
        d["review_annotation"] = p.annotate(next(ids), {"intent": "refund"}, ann2,
                                            key=f"r-{p.name}-{name}").id
        disputed = next(ids)
        p.annotate(disputed, {"intent": "refund"}, ann, key=f"d1-{p.name}-{name}")
        p.annotate(disputed, {"intent": "shipping"}, ann2, key=f"d2-{p.name}-{name}")
        d["adjudication_item"] = disputed
        d["gold_item"] = next(ids)
        p.set_gold(d["gold_item"], {"intent": "other"})
    # history the attempts must not touch
    p.set_gold(next(ids), {"intent": "refund"})
    accepted = p.annotate(next(ids), {"intent": "other"}, ann, key=f"h1-{p.name}")
    rejected = p.annotate(next(ids), {"intent": "other"}, ann, key=f"h2-{p.name}")
    p.review(accepted.id, "accept", reviewer)
    p.review(rejected.id, "reject", manager, comment="read the guidelines")
    decided = next(ids)
    p.annotate(decided, {"intent": "refund"}, ann, key=f"h3-{p.name}")
    p.annotate(decided, {"intent": "other"}, ann2, key=f"h4-{p.name}")
    p.adjudicate(decided, {"intent": "refund"}, manager, comment="decided")
    p.aggregate(method="majority")
    p.sign_off(manager, comment="signed", override_reason="fixture")
    media = url_import.put_media(p, PNG + p.name.encode(), actor=None)  # per-project bytes
    row = p.item(first)
    return ProjectObjs(name=p.name, id=p.id, item=first, spare=spare, ext_id=row["external_id"],
                       member=ann.username, per=per, default=ann.username,
                       digest=media["digest"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_workspace(tmp_path_factory.mktemp("perm")) as ws:
        users: dict[str, User] = {}
        for name, spec in PRINCIPALS.items():
            if spec is not None:
                users[name] = ws.add_user(name, PASSWORD, role=spec[0])
        for name, role in {**FOREIGN_MEMBERS, "ann2": "annotator", "fann2": "annotator",
                           "victim": "annotator"}.items():
            users[name] = ws.add_user(name, PASSWORD, role=role)

        own = ws.create_project("own", SCHEMA, overlap=2, guidelines="# Own")
        for name, spec in PRINCIPALS.items():
            if spec is not None and spec[1] is not None:
                own.add_member(users[name], spec[1])
        own.add_member(users["ann2"], "annotator")
        own_workers = {n: users[n] for n in ("admin", "padmin", "manager", "reviewer",
                                             "annotator")}
        own_objs = populate(own, own_workers, users["annotator"], users["ann2"],
                            users["manager"], users["reviewer"])

        foreign = ws.create_project("foreign", SCHEMA, overlap=2, guidelines="# Foreign")
        for name, role in FOREIGN_MEMBERS.items():
            foreign.add_member(users[name], role)
        foreign.add_member(users["fann2"], "annotator")
        foreign_workers = {n: users[n] for n in ("admin", "fmanager", "freviewer", "fann")}
        foreign_objs = populate(foreign, foreign_workers, users["fann"], users["fann2"],
                                users["fmanager"], users["freviewer"])

        app = create_app(ws)
        clients = {"anonymous": TestClient(app, raise_server_exceptions=False)}
        for name in [*PRINCIPALS, *FOREIGN_MEMBERS]:
            if name in users:
                token = ws.create_token(users[name])
                clients[name] = TestClient(app, raise_server_exceptions=False,
                                           headers={"Authorization": f"Bearer {token}"})
        for objs, owner in ((own_objs, "manager"), (foreign_objs, "fmanager")):
            upload = {"file": ("jobs.jsonl", _jsonl({"id": "j", "text": "x"}))}
            r = clients[owner].post(f"/api/projects/{objs.name}/imports", files=upload)
            assert r.status_code == 202, r.text
            objs.job, objs.job_owner = r.json()["id"], owner
            assert app.state.jobs.wait(objs.job).status == "done"
            r = clients[owner].post(f"/api/projects/{objs.name}/jobs/export", json={})
            assert r.status_code == 202, r.text
            objs.export_job = r.json()["id"]
            assert app.state.jobs.wait(objs.export_job).status == "done"
        yield World(ws, app, clients, users, own_objs, foreign_objs)
        for c in clients.values():
            c.close()


# -- snapshots of a project's rows -------------------------------------------------------------
def snapshot(ws: Workspace, project_id: int) -> bytes:
    """Every row that belongs to the project, in a stable order, as bytes."""
    with ws.db.read() as conn:
        items = [r[0] for r in conn.execute(select(t.items.c.id)
                                            .where(t.items.c.project_id == project_id))]
        anns = [r[0] for r in conn.execute(select(t.annotations.c.id)
                                           .where(t.annotations.c.project_id == project_id))]
        out: dict[str, Any] = {}
        for table in t.metadata.sorted_tables:
            c = table.c
            if table.name == "projects":
                cond = c.id == project_id
            elif "project_id" in c:
                cond = c.project_id == project_id
            elif "item_id" in c:
                cond = c.item_id.in_(items)
            elif table.name == "settings":  # media ownership rows
                cond = c.key.like(f"media:{project_id}:%")
            elif table.name == "audit_log":
                cond = or_(
                    and_(c.object_type == "project", c.object_id == str(project_id)),
                    and_(c.object_type == "item", c.object_id.in_([str(i) for i in items])),
                    and_(c.object_type == "annotation", c.object_id.in_([str(i) for i in anns])),
                    and_(c.object_type == "blob",
                         c.detail.like(f'%"project_id": {project_id},%')),
                )
            else:
                continue
            rows = conn.execute(select(table).where(cond).order_by(*c)).all()
            out[table.name] = [list(r) for r in rows]
    return json.dumps(out, default=str, sort_keys=True).encode()


# -- building and checking one call ----------------------------------------------------------
def project_role(principal: str, project: str) -> Role | None:
    spec = PRINCIPALS[principal]
    if spec is None:
        return None
    if spec[0] == "admin":
        return Role.ADMIN
    return Role(spec[1]) if project == "own" and spec[1] else None


def context(w: World, principal: str, variant: str, *, ghost: bool) -> tuple[Ctx, dict[str, str]]:
    """The values for one call and, for a ghost call, ghost value → the real value it stands in."""
    path_project = w.foreign if variant == "foreign" else w.own
    victim = w.own if variant == "own" else w.foreign
    # cross-project attempts all use the same foreign objects (never touched by the foreign
    # variant's allowed calls), so a leak through any of them would show in the rows
    mine = (victim.per.get(principal) if variant != "cross" else None) or \
        victim.per[victim.default]
    objs: dict[str, Any] = {**mine, "no_view": 9_999_999, "item": victim.item,
                            "spare": victim.spare,
                            "ext_id": victim.ext_id, "job": victim.job,
                            "export_job": victim.export_job, "digest": victim.digest,
                            "project": path_project.name,
                            "username": "victim", "chart": "agreement",
                            "team_chart": "activity",
                            "token": 9_999_999}
    swaps: dict[str, str] = {}
    if ghost:
        for n, kind in enumerate(ID_KINDS):
            real = objs[kind]
            fake: Any = 9_100_000 + n
            if kind == "ext_id":
                fake = f"ghost-ext-{n}"
            elif kind == "digest":
                fake = hashlib.sha256(b"ghost").hexdigest()
            swaps[str(fake)] = str(real)
            objs[kind] = fake
        if variant != "cross" and project_role(principal, path_project.name) is None:
            swaps[GHOST_PROJECT] = path_project.name
            objs["project"] = GHOST_PROJECT
    ctx = Ctx(project=objs["project"], item=objs["item"], ext_id=objs["ext_id"],
              member=path_project.member, tag=f"{principal}-{variant}", objs=objs)
    return ctx, swaps


def call(w: World, op: Operation, principal: str, variant: str, *, ghost: bool = False
         ) -> tuple[Any, dict[str, str]]:
    route = ROUTES[op.op_id]
    ctx, swaps = context(w, principal, variant, ghost=ghost)
    path = op.path
    for p in op.params:
        path = path.replace("{" + p + "}", str(ctx.objs[route.objs.get(p, PARAM_KIND[p])]))
    client = w.clients[principal]
    client.cookies.clear()  # login sets a session cookie; every call stands alone
    kwargs: dict[str, Any] = {}
    if route.query:
        kwargs["params"] = route.query(ctx)
    if route.files:
        kwargs["files"] = route.files(ctx)
        kwargs["data"] = route.form or {}
    elif route.body:
        kwargs["json"] = route.body(ctx)
    response = client.request(op.method, path, **kwargs)
    client.cookies.clear()
    if route.ends_login and response.status_code < 300:  # every token of theirs ended
        client.headers["Authorization"] = f"Bearer {w.ws.create_token(w.users[principal])}"
    if response.status_code == 202:  # a background job: let it finish before any snapshot
        w.app.state.jobs.wait(response.json()["id"])
    return response, swaps


def expected(op: Operation, principal: str, variant: str, w: World) -> tuple[int, ...]:
    route = ROUTES[op.op_id]
    spec = PRINCIPALS[principal]
    if route.perm == PUBLIC:
        return route.ok
    if spec is None:
        return (401,)
    if not op.project_scoped:
        if route.owner_only:
            owner = (w.own if variant == "own" else w.foreign).job_owner
            return route.ok if principal in ("admin", owner) else (404,)
        if route.perm == AUTH or role_allows(spec[0], route.perm):
            return route.ok
        return (403,)
    role = project_role(principal, "foreign" if variant == "foreign" else "own")
    if role is None:
        return (404,)
    if route.perm != AUTH and not role_allows(role, route.perm):
        return (403,)
    if variant == "cross":
        assert route.cross is not None
        return (route.cross,)
    if route.hidden_from_annotators and not role_allows(role, "items.read"):
        return (404,)
    return route.ok


#: Parts of an answer that differ between two identical requests (not a leak): upload temp
#: file names in import errors.
VOLATILE = [re.compile(rb"/[^\s\"',]*tl-(?:gold|upload)-[^\s\"',]*")]


def normalise(body: bytes) -> bytes:
    for pattern in VOLATILE:
        body = pattern.sub(b"<upload>", body)
    return body


def variants(op: Operation) -> list[str]:
    route = ROUTES[op.op_id]
    if op.project_scoped:
        return ["own", "foreign"] + (["cross"] if route.cross is not None else [])
    return ["own", "foreign"] if route.owner_only else ["own"]


def run_matrix(w: World, op: Operation) -> list[str]:
    problems: list[str] = []
    for variant in variants(op):
        for principal in PRINCIPALS:
            want = expected(op, principal, variant, w)
            probe = variant == "cross" or bool(set(want) & {401, 404})
            victim = w.own if variant == "own" else w.foreign
            before = snapshot(w.ws, victim.id) if probe else b""
            r, _ = call(w, op, principal, variant)
            where = f"{op.method} {op.path} [{variant}] as {principal}"
            if r.status_code >= 500:
                problems.append(f"{where}: {r.status_code} {r.text[:300]}")
                continue
            if r.status_code not in want:
                problems.append(f"{where}: {r.status_code}, expected {want}: {r.text[:300]}")
            if not probe:
                continue
            if snapshot(w.ws, victim.id) != before:
                problems.append(f"{where}: changed the rows of project {victim.name!r}")
            g, swaps = call(w, op, principal, variant, ghost=True)
            ghost_body = g.content
            for fake, real in swaps.items():
                ghost_body = ghost_body.replace(fake.encode(), real.encode())
            if (r.status_code, normalise(r.content)) != (g.status_code, normalise(ghost_body)):
                problems.append(
                    f"{where}: answer differs from a nonexistent object's: "
                    f"{r.status_code} {r.text[:200]!r} vs {g.status_code} {g.text[:200]!r}")
    return problems


# -- the matrix, one test per route ----------------------------------------------------------
KNOWN_BUGS: dict[str, str] = {}  # operationId -> "bug: ..." while one is open


def _params() -> list[Any]:
    out = []
    for op in OPERATIONS:
        marks = []
        if op.op_id in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[op.op_id]))
        out.append(pytest.param(op, id=f"{op.method} {op.path}", marks=marks))
    return out


@pytest.mark.parametrize("op", _params())
def test_permission_matrix(world: World, op: Operation) -> None:
    assert op.op_id in ROUTES, f"{op.op_id}: add the route to ROUTES"
    problems = run_matrix(world, op)
    assert not problems, "\n".join(problems)


def test_project_list_shows_only_member_projects(world: World) -> None:
    for principal in ("padmin", "manager", "reviewer", "annotator", "outsider"):
        names = {p["name"] for p in world.clients[principal].get("/api/projects").json()}
        assert "foreign" not in names, principal
        assert ("own" in names) == (principal != "outsider"), principal
    admin = {p["name"] for p in world.clients["admin"].get("/api/projects").json()}
    assert {"own", "foreign"} <= admin


def test_foreign_project_pages_look_like_missing_ones(world: World) -> None:
    """The HTML pages of a project the user is not in answer like a project that is not there."""
    c = TestClient(world.app)
    assert c.post("/api/login", json={"username": "outsider", "password": PASSWORD}
                  ).status_code == 200
    pages = [r.path for r in page_routes.router.routes if "{name}" in getattr(r, "path", "")]
    assert len(pages) >= 2
    for path in pages:
        real = c.get(path.replace("{name}", "foreign"))
        ghost = c.get(path.replace("{name}", GHOST_PROJECT))
        assert real.status_code == 404, path
        assert real.content == ghost.content.replace(GHOST_PROJECT.encode(), b"foreign"), path


def test_idempotency_key_reused_in_another_project(world: World) -> None:
    """A key one user already spent in project A, sent again to project B: a clear 409, never
    a 500 and never A's annotation."""
    own_key = "a-own-admin"  # admin's own-project annotation was stored under this key
    target = world.foreign.per["admin"]["annotation"]
    r = world.clients["admin"].put(f"/api/projects/foreign/annotations/{target}",
                                   json={"value": {"intent": "other"}, "idempotency_key": own_key})
    assert r.status_code == 409, r.text
    assert b"own-" not in r.content
    task = world.foreign.per["admin"]["task"]
    r = world.clients["admin"].post(f"/api/projects/foreign/tasks/{task}/submit",
                                    json={"value": {"intent": "other"}, "idempotency_key": own_key})
    assert r.status_code == 409, r.text


# -- gold answers reach only gold.manage (issue 10) ----------------------------------------------
#: Two workspaces built the same way except for their gold answers (item index → answer).
GOLD_VARIANTS = (
    {0: "other", 1: "shipping", 2: "other"},
    {0: "shipping", 1: "refund", 2: "refund"},
)
#: Parts of a body that differ between two identical workspaces: times.
_TIMES = re.compile(rb"\d{10}(\.\d+)?(e[+-]?\d+)?")
#: The team view measures how long labels took: elapsed seconds differ from run to run.
_TIMED = {"team_api_projects__project__team_get",
          "team_chart_api_projects__project__team_charts__name__svg_get"}


def _gold_world(ws: Workspace, answers: dict[int, str]) -> tuple[Project, dict[str, User],
                                                                   list[int]]:
    """A project whose gold items were labelled by annotators and aggregated; item 2 was gold
    when the truth was computed and is not gold any more (its stored truth is still "gold")."""
    users = {n: ws.add_user(n, PASSWORD, role=r) for n, r in
             [("gm", "manager"), ("grev", "reviewer"), ("gann", "annotator"),
              ("gann2", "annotator"), ("gann3", "annotator")]}
    p = ws.create_project("goldp", SCHEMA, overlap=3, guidelines="# Gold")
    for u in users.values():
        p.add_member(u, cast(Any, u.role))
    p.set_workflow(review_stages=[{"name": "check", "role": "reviewer", "sample_rate": 1.0}])
    p.import_records([{"id": f"g{i}", "text": f"Order {i} arrived broken"} for i in range(12)])
    ids = [r["id"] for r in p.items(limit=50)]
    labels = ["refund", "shipping", "other"]
    for k, item in enumerate(ids[:8]):
        for j, who in enumerate(("gann", "gann2", "gann3")):
            value = {"intent": labels[(k + (j == 2)) % 3]}
            p.annotate(item, value, users[who], key=f"k-{k}-{who}")
    gold_items = ids[:3]
    for k, item in enumerate(gold_items):
        p.set_gold(item, {"intent": answers[k]}, actor=users["gm"])
    p.aggregate(method="majority", actor=users["gm"])
    p.unset_gold(gold_items[2], actor=users["gm"])  # its stored truth stays a gold answer
    p.sign_off(users["gm"], comment="signed", override_reason="fixture")
    return p, users, gold_items


def _gold_bodies(ws: Workspace, principal: str, gold_items: list[int]) -> dict[str, bytes]:
    """Status and body of every GET route (and per gold item where a route takes an item)."""
    token = ws.create_token(ws.get_user(principal))
    client = TestClient(create_app(ws), raise_server_exceptions=False,
                        headers={"Authorization": f"Bearer {token}"})
    out: dict[str, bytes] = {}
    query = {"quality_api_projects__project__quality_get": {"resamples": 50},
             "audit_api_audit_get": {"limit": 5}}
    with client:
        for op in OPERATIONS:
            if op.method != "GET":
                continue
            fills: list[dict[str, Any]] = [{}]
            for param in op.params:
                values: list[Any] = {
                    "project": ["goldp"], "item_id": gold_items, "task_id": [1, 2, 3],
                    "job_id": [1], "username": ["gann"], "name": list(CHARTS),
                    "digest": ["0" * 64], "annotation_id": [1],
                }[param]
                fills = [{**f, param: v} for f in fills for v in values]
            for f in fills:
                path = op.path
                for k, v in f.items():
                    path = path.replace("{" + k + "}", str(v))
                queries = [query.get(op.op_id, {})]
                if op.op_id == "ground_truth_api_projects__project__ground_truth_get":
                    queries += [{"item_id": i} for i in gold_items]
                for q in queries:
                    r = client.get(path, params=q)
                    assert r.status_code < 500, (path, r.text)
                    body = _TIMES.sub(b"T", r.content)
                    if op.op_id in _TIMED:  # counts and measured seconds, never a label:
                        body = b""  # only the status must match
                    out[f"{path} {q}"] = f"{r.status_code} ".encode() + body
    return out


def test_gold_answers_reach_no_one_without_gold_manage(tmp_path: Path) -> None:
    """Reviewers and annotators get the very same bytes from every GET route whatever the gold
    answers are (ground truth, quality report, charts, sign-off evidence, items…), while the
    manager's ground truth does show them (the two workspaces really differ)."""
    bodies: list[dict[str, dict[str, bytes]]] = []
    for k, answers in enumerate(GOLD_VARIANTS):
        with open_workspace(tmp_path / f"v{k}") as ws:
            p, users, gold_items = _gold_world(ws, answers)
            bodies.append({who: _gold_bodies(ws, who, gold_items)
                           for who in ("grev", "gann", "gm")})
            # what a reviewer sees instead of a gold answer: the annotators' majority
            seen = p.ground_truth(actor=users["grev"])
            full = p.ground_truth(actor=users["gm"])
            for i in gold_items:
                assert full[i]["intent"]["method"] == "gold"
                assert seen[i]["intent"]["method"] == "majority"
                assert seen[i]["intent"]["confidence"] == pytest.approx(2 / 3)
            evidence = p.signoffs(actor=users["grev"])[0]["evidence"]
            assert evidence["gold_visible"] is False
            assert all(c["gold_accuracy"] is None for c in evidence["annotators"])
            assert any(c["gold_answered"] for c in
                       p.signoffs(actor=users["gm"])[0]["evidence"]["annotators"])
    a, b = bodies
    for who in ("grev", "gann"):
        assert a[who].keys() == b[who].keys()
        differ = [k for k in a[who] if a[who][k] != b[who][k]]
        assert not differ, f"{who} sees the gold answers through: {differ}"
    gt = "/api/projects/goldp/ground-truth {}"
    assert a["grev"][gt].startswith(b"200 ") and a["gann"][gt].startswith(b"403 ")
    assert a["gm"][gt] != b["gm"][gt]  # the manager does see them
