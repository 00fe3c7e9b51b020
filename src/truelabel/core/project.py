"""``Project``: the one entry point the CLI, the server and notebooks call.

A ``Project`` is its :class:`~.context.ProjectContext` (permissions, schema, settings, rows,
events) composed with one service per concern: ``tasks`` (the annotators' loop), ``quality``
(workflow and gold), ``review`` (review stages, adjudication) and ``truth`` (ground truth,
sign-off). This module holds settings and browsing; the flat methods of the
services (``project.submit`` is ``project.tasks.submit``) are delegations.

Every public method takes an optional ``actor`` (the calling user). ``actor=None`` is the local
owner working on the files directly (a notebook or the CLI) and may do everything; otherwise the
actor's role in this project decides, and objects outside it answer ``NotFound``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

import orjson

from truelabel.domain.errors import (
    InvalidInput,
    NotFound,
    UnknownComponent,
)
from truelabel.domain.models import ImportResult, User
from truelabel.domain.results import (
    ItemRow,
    ItemView,
    LabelValue,
    MemberRow,
    ProjectInfo,
)
from truelabel.domain.roles import Role, role_allows
from truelabel.domain.schema import LabelSchema
from truelabel.net import MediaType
from truelabel.store import accounts, queue
from truelabel.store import items as item_store
from truelabel.store import projects as project_store

from . import report, team, transfer, url_import
from .assignments import AssignmentService
from .browse import BrowseService
from .context import (
    NO_PROJECT,
    RESERVED_SERVICES,
    ProjectContext,
    Service,
    WorkspaceView,
    actor_id,
    as_schema,
)
from .dataio import DataService
from .edits import EditService
from .manage import ManageService
from .mywork import WorkService
from .qa import QualityService
from .questions import QuestionService
from .review import ReviewService
from .tasks import TaskService
from .truth import TruthService

__all__ = ["NO_PROJECT", "Project"]

P = ParamSpec("P")
R = TypeVar("R")

if TYPE_CHECKING:  # pyarrow loads with the first import, not with the server
    pass


class _Delegate(Generic[P, R]):
    """A flat ``Project`` method that is the same method of one of its services."""

    def __init__(self, service: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.service = service
        self.method = method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def __call__(self, obj: Project, /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``Project.submit(project, …)``, as a plain method called on the class (and so
        ``inspect.signature`` reads the service method's signature)."""
        return cast(R, getattr(getattr(obj, self.service), self.method)(*args, **kwargs))

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Delegate[P, R]: ...
    @overload
    def __get__(self, obj: Project, owner: type | None = None) -> Callable[P, R]: ...
    def __get__(self, obj: Project | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        bound = getattr(getattr(obj, self.service), self.method)
        obj.__dict__[self.attr] = bound  # the next lookup is a plain attribute
        return bound


def _to(service: str, method: Callable[Concatenate[Any, P], R]) -> _Delegate[P, R]:
    return _Delegate(service, method)


class Project(ProjectContext):
    """One labeling project inside a :class:`Workspace`: its context and its services."""

    def __init__(self, workspace: WorkspaceView, project_id: int) -> None:
        super().__init__(workspace, project_id)
        self.quality = QualityService(self)
        self.review = ReviewService(self)
        self.tasks = TaskService(self, quality=self.quality, review=self.review)
        self.truth = TruthService(self)
        self.assignments = AssignmentService(self)
        self.edits = EditService(self, tasks=self.tasks)
        self.manage = ManageService(self)
        self.work = WorkService(self, tasks=self.tasks)
        self.questions = QuestionService(self)
        self.browser = BrowseService(self, truth=self.truth)
        self.data = DataService(self)
        # slots later work fills: dataset versions, data preparation, the model loop
        self.versions: Service | None = None
        self.prep: Service | None = None
        self.models: Service | None = None

    def service(self, name: str) -> Service:
        """The service composed under ``name`` (``tasks``, ``quality``, ``review``, ``truth``)."""
        found = getattr(self, name, None) if name in self.service_names() else None
        if not isinstance(found, Service):
            known = [n for n in self.service_names() if isinstance(getattr(self, n), Service)]
            raise UnknownComponent(
                f"No project service {name!r}; known: {known}.", name=name
            )
        return found

    @staticmethod
    def service_names() -> tuple[str, ...]:
        """Every service name, composed or reserved for later work."""
        return ("tasks", "assignments", "edits", "quality", "review", "truth", "manage", "work",
                "questions", "browser", "data", *RESERVED_SERVICES)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the services' methods, flat ------------------------------------------------------
    next_task = _to("tasks", TaskService.next_task)
    next_task_async = _to("tasks", TaskService.next_task_async)
    assign = _to("assignments", AssignmentService.assign)
    task = _to("tasks", TaskService.task)
    skip = _to("tasks", TaskService.skip)
    save_draft = _to("tasks", TaskService.save_draft)
    submit = _to("tasks", TaskService.submit)
    submit_async = _to("tasks", TaskService.submit_async)
    annotate = _to("edits", EditService.annotate)
    update_annotation = _to("edits", EditService.update_annotation)
    set_priorities = _to("assignments", AssignmentService.set_priorities)
    set_guidelines = _to("manage", ManageService.set_guidelines)
    set_archived = _to("manage", ManageService.set_archived)
    remove_member = _to("manage", ManageService.remove_member)
    apply_claim_order = _to("assignments", AssignmentService.apply_claim_order)
    set_workflow = _to("quality", QualityService.set_workflow)
    set_gold = _to("quality", QualityService.set_gold)
    unset_gold = _to("quality", QualityService.unset_gold)
    gold = _to("quality", QualityService.gold)
    import_gold = _to("quality", QualityService.import_gold)
    next_review = _to("review", ReviewService.next_review)
    adjudication_queue = _to("review", ReviewService.adjudication_queue)
    adjudicate = _to("review", ReviewService.adjudicate)
    aggregate = _to("truth", TruthService.aggregate)
    ground_truth = _to("truth", TruthService.ground_truth)
    sign_off = _to("truth", TruthService.sign_off)
    signoff_warnings = _to("truth", TruthService.signoff_warnings)
    signoffs = _to("truth", TruthService.signoffs)
    browse = _to("browser", BrowseService.browse)
    bulk_items = _to("browser", BrowseService.bulk)
    saved_views = _to("browser", BrowseService.views)
    save_view = _to("browser", BrowseService.save_view)
    delete_view = _to("browser", BrowseService.delete_view)
    item_record = _to("browser", BrowseService.item_record)
    import_file = _to("data", DataService.import_file)
    import_stream = _to("data", DataService.import_stream)
    import_records = _to("data", DataService.import_records)
    export = _to("data", DataService.export)
    batches = _to("data", DataService.batches)

    # -- reports, URLs and media ----------------------------------------------------------
    def quality_report(
        self, *, actor: User | None = None, n_resamples: int = 500,
        orders: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """Progress, agreement with intervals, scorecards, confusion and hot spots
        (``orders``: field → labels lowest first, for ordinal agreement)."""
        return report.quality_report(self, actor=actor, n_resamples=n_resamples, orders=orders)

    def team_report(
        self, *, actor: User | None = None, days: int = 14, tz_offset: int = 0,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Throughput, time per item, activity by day and queue depth (``core.team``)."""
        return team.team_report(self, actor=actor, days=days, tz_offset=tz_offset, now=now)

    def check_import_url(self, url: str, *, actor: User | None = None) -> None:
        """Refuse a URL an import may not reach, without DNS or traffic."""
        self.require(actor, "items.import")
        url_import.precheck_url(self.ws, url)

    def import_url(
        self,
        url: str,
        *,
        actor: User | None = None,
        fmt: str | None = None,
        id_field: str | None = "id",
        progress: transfer.ProgressFn | None = None,
        dedup: str = "content",
        on_conflict: str = "fail",
    ) -> ImportResult:
        """Download ``url`` (SSRF-safe) and import it like a file."""
        return url_import.import_url(self, url, actor=actor, fmt=fmt, id_field=id_field,
                                     progress=progress, dedup=dedup, on_conflict=on_conflict)

    def put_media(self, data: bytes, *, actor: User | None = None) -> dict[str, Any]:
        """Store a media file for this project; returns its id (the SHA-256 of its bytes)."""
        return url_import.put_media(self, data, actor=actor)

    def get_media(
        self, digest: str, *, actor: User | None = None
    ) -> tuple[bytes, MediaType]:
        """A media file of this project and its sniffed type."""
        return url_import.get_media(self, digest, actor=actor)

    # -- settings -------------------------------------------------------------------------
    def info(self, actor: User | None = None) -> ProjectInfo:
        role = self.require(actor, "project.read")
        with self.db.read() as conn:
            row = project_store.get_project(conn, project_id=self.id)
            assert row is not None
            sv = project_store.latest_schema(conn, self.id)
            gv = project_store.latest_guideline(conn, self.id)
        return {
            "id": row["id"],
            "name": row["name"],
            "title": row["title"],
            "overlap": row["overlap"],
            "lease_seconds": row["lease_seconds"],
            "created_at": row["created_at"],
            "role": role.value,
            "schema": self._schema_for(sv).ui_dict() if sv else None,
            "schema_version": sv["version"] if sv else None,
            "guidelines": gv["body"] if gv else "",
            "guideline_version": gv["version"] if gv else None,
            "archived": row["archived_at"] is not None,
        }

    def set_schema(
        self, schema: LabelSchema | dict[str, Any] | str, *, actor: User | None = None
    ) -> int:
        """Make ``schema`` current; returns its version (unchanged content keeps the version).

        Existing annotations keep the version they were made under.
        """
        self.require(actor, "project.edit")
        sch = as_schema(schema)
        with self.db.write() as conn:
            cur = project_store.latest_schema(conn, self.id)
            if cur is not None and cur["digest"] == sch.digest():
                return int(cur["version"])
            v = project_store.add_version(
                conn,
                "schema",
                project_id=self.id,
                body=sch.to_json(),
                now=time.time(),
                digest=sch.digest(),
            )
            project_store.audit(
                conn,
                at=time.time(),
                user_id=actor_id(actor),
                action="schema.version",
                object_type="project",
                object_id=self.id,
                detail={"version": v["version"]},
            )
        return int(v["version"])

    def set_overlap(self, overlap: int, *, actor: User | None = None) -> None:
        self.require(actor, "project.edit")
        if overlap < 1:
            raise InvalidInput("overlap must be at least 1.", field="overlap")
        with self.db.write() as conn:
            project_store.update_project(conn, self.id, overlap=overlap)
            queue.reopen_all(conn, project_id=self.id, overlap=overlap)

    def set_lease_seconds(self, seconds: int, *, actor: User | None = None) -> None:
        self.require(actor, "project.edit")
        if seconds < 1:
            raise InvalidInput("lease_seconds must be at least 1.", field="lease_seconds")
        with self.db.write() as conn:
            project_store.update_project(conn, self.id, lease_seconds=seconds)

    def add_member(self, user: User | str, role: Role | str, *, actor: User | None = None) -> None:
        self.require(actor, "members.manage")
        u = self.ws.get_user(user) if isinstance(user, str) else user
        role = Role(role)
        with self.db.write() as conn:
            accounts.set_member(conn, project_id=self.id, user_id=u.id, role=role.value)
            project_store.audit(
                conn,
                at=time.time(),
                user_id=actor_id(actor),
                action="member.set",
                object_type="project",
                object_id=self.id,
                detail={"user": u.username, "role": role.value},
            )

    def members(self, *, actor: User | None = None) -> list[MemberRow]:
        self.require(actor, "project.read")
        with self.db.read() as conn:
            return accounts.project_members(conn, self.id)

    # -- browsing -------------------------------------------------------------------------
    def items(
        self,
        *,
        actor: User | None = None,
        after: int = 0,
        limit: int = 50,
        search: str | None = None,
        status: str | None = None,
        batch_id: int | None = None,
        meta: tuple[str, str] | None = None,
    ) -> list[ItemRow]:
        """A page of items (keyset: pass the last id as ``after``). Annotators see their own;
        ``meta`` (key, value) keeps items with that slice metadata."""
        role = self.require(actor, "project.read")
        limit = max(1, min(int(limit), 500))
        if status not in (None, "", "unlabeled", "in_progress", "done"):
            raise InvalidInput(
                f"Unknown status {status!r}; use unlabeled, in_progress or done.", field="status"
            )
        only = actor.id if actor is not None and not role_allows(role, "items.read") else None
        with self.db.read() as conn:
            rows = item_store.browse(
                conn,
                project_id=self.id,
                after_id=after,
                limit=limit,
                search=search or None,
                status=status or None,
                batch_id=batch_id,
                user_id=only,
                meta=meta,
            )
        for r in rows:
            r["data"] = orjson.loads(r["data"])
            r["meta"] = orjson.loads(r["meta"]) if r["meta"] else None
        return cast(list[ItemRow], rows)

    def item(self, item_id: int, *, actor: User | None = None) -> ItemView:
        """One item with its provenance and, for those who may read them, its annotations."""
        role = self.require(actor, "project.read")
        with self.db.read() as conn:
            row = item_store.get_item(conn, self.id, item_id)
            if row is not None and actor is not None and not role_allows(role, "items.read"):
                if not queue.has_assignment(conn, user_id=actor.id, item_id=item_id):
                    row = None
        if row is None:
            raise NotFound(f"No item {item_id} in this project.")
        out: ItemView = {
            "id": row["id"],
            "external_id": row["external_id"],
            "data": orjson.loads(row["data"]),
            "meta": orjson.loads(row["meta"]) if row["meta"] else None,
            "provenance": {
                "batch_id": row["batch_id"],
                "source": row["source"],
                "line": row["source_line"],
            },
            "n_taken": row["n_taken"],
            "n_done": row["n_done"],
            "state": row["state"],
        }
        if role_allows(role, "annotations.read"):
            out["annotations"] = self.annotations(item_id)
        return out

    def validate(
        self, value: dict[str, Any], item: dict[str, Any] | None = None, *,
        actor: User | None = None,
    ) -> LabelValue:
        """Check an annotation value against the current schema without storing it."""
        _, sch = self.schema(actor=actor)
        return sch.validate_annotation(value, item)
