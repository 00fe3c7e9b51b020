"""What every part of a project shares: :class:`ProjectContext`, the :class:`Service` base of
its concerns, and the :class:`Events` hub they announce their work on.

``Project`` (``project.py``) is a ``ProjectContext`` that composes one service per concern::

    Project ── ProjectContext   id, db, ws, role_of/require, schema, workflow, settings, item
       │                        data, annotations, counts; the parsed-schema cache; events
       ├── tasks    TaskService      (tasks.py)   the annotators' loop
       ├── quality  QualityService   (qa.py)      workflow settings, gold, adaptive overlap
       ├── review   ReviewService    (review.py)  review stages, adjudication
       └── truth    TruthService     (truth.py)   ground truth, sign-off

A service reaches the shared services through its own attributes (``self.db``, ``self.id``,
``self.require(...)``), never through another concern. Where one concern must follow another's
work it subscribes to an event (``after_submit``: adaptive overlap and adjudication triggers
follow a submit) or holds an explicit reference (the loop asks ``quality`` whether gold is due
and ``review`` for the rejections to show beside a task). Nothing here imports a concern, so
``core/`` has no import cycle (an import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

import orjson

from truelabel.domain.errors import AuthError, Forbidden, NotFound, UnknownComponent
from truelabel.domain.models import Credential, User
from truelabel.domain.results import AggregateSummary, AnnotationView, ProjectStatus
from truelabel.domain.roles import Role, role_allows
from truelabel.domain.schema import LabelSchema
from truelabel.domain.workflow import Workflow
from truelabel.store import accounts
from truelabel.store import items as item_store
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store

if TYPE_CHECKING:
    from truelabel.store.blobs import BlobStore
    from truelabel.store.db import Database

    from .report_cache import ResultCache

NO_PROJECT = "No such project, or you are not a member of it. Ask a manager to add you."


class WorkspaceView(Protocol):
    """What a project uses of the :class:`~truelabel.core.workspace.Workspace` holding it."""

    db: Database
    blobs: BlobStore
    results: ResultCache

    def get_user(self, username: str) -> User: ...
    def credential_failed(self, cred: Credential) -> AuthError: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class _Ctx:
    role: Role
    row: dict[str, Any]
    schema_id: int
    schema_version: int
    schema: LabelSchema
    guideline_id: int | None
    workflow: Workflow


# -- events -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Submitted:
    """``after_submit``: an annotation was stored from a task (not sent for a replayed key)."""

    item_id: int
    annotation_id: int
    user: User
    value: dict[str, Any]
    workflow: Workflow


@dataclass(frozen=True, slots=True)
class Reviewed:
    """``after_review``: a reviewer accepted, rejected or corrected an annotation."""

    annotation_id: int
    item_id: int
    stage: int
    decision: str
    reviewer: User
    correction_id: int | None


@dataclass(frozen=True, slots=True)
class Aggregated:
    """``after_aggregate``: ground truth was recomputed (``summary`` as ``aggregate`` returns)."""

    method: str
    summary: AggregateSummary
    actor: User | None


#: Event name → the payload its handlers receive.
EVENTS: dict[str, type] = {
    "after_submit": Submitted,
    "after_review": Reviewed,
    "after_aggregate": Aggregated,
}


class Events:
    """A project's event hub: ``project.events.subscribe("after_submit", fn)``.

    Handlers run in order of subscription, in the thread that did the work, after its
    transaction committed; an error in a handler reaches the caller (the work itself is
    stored). With no handler an event costs one dictionary lookup. A server's async submit
    (``submit_async``) calls ``after_submit`` handlers on the event loop unless the workflow
    sends the follow-up work to a thread: a handler there must be quick or hand its work on.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[Callable[[Any], None], ...]] = {}

    def subscribe(self, name: str, handler: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``handler(payload)`` after each ``name`` event; returns the unsubscriber."""
        if name not in EVENTS:
            raise UnknownComponent(
                f"Unknown project event {name!r}; known: {sorted(EVENTS)}.", name=name
            )
        self._handlers[name] = (*self._handlers.get(name, ()), handler)

        def unsubscribe() -> None:
            left = list(self._handlers.get(name, ()))
            if handler in left:
                left.remove(handler)
            self._handlers[name] = tuple(left)

        return unsubscribe

    def emit(self, name: str, payload: Any) -> None:
        for handler in self._handlers.get(name, ()):
            handler(payload)

    def wanted(self, name: str) -> bool:
        """Whether anyone listens to ``name`` (to skip building a payload nobody reads)."""
        return bool(self._handlers.get(name))


# -- the shared services ------------------------------------------------------------------
class ProjectContext:
    """One project's shared services: who may do what, its schema, settings and rows.

    Every public method takes ``actor`` (the calling user); ``actor=None`` is the local owner
    (a notebook, the CLI) and may do everything. Objects outside the actor's projects answer
    ``NotFound``.
    """

    def __init__(self, workspace: WorkspaceView, project_id: int) -> None:
        self.ws = workspace
        self.db = workspace.db
        self.id = project_id
        self._schema_cache: dict[int, LabelSchema] = {}
        #: the workflow settings last parsed, with their JSON text (settings change rarely;
        #: parsing is not free)
        self._workflow: tuple[str, Workflow] | None = None
        self.events = Events()

    # -- permissions ----------------------------------------------------------------------
    def role_of(self, actor: User | None) -> Role | None:
        if actor is None or actor.is_admin:
            return Role.ADMIN
        with self.db.read() as conn:
            role = accounts.member_role(conn, project_id=self.id, user_id=actor.id)
        return Role(role) if role else None

    def require(self, actor: User | None, permission: str) -> Role:
        """The actor's role, if it allows ``permission``; NotFound for non-members."""
        role = self.role_of(actor)
        if role is None:
            raise NotFound(NO_PROJECT)
        if not role_allows(role, permission):
            raise Forbidden(f"Your role ({role.value}) may not do this ({permission}).")
        return role

    def _context(self, conn: Any, actor: User | None, permission: str, **extra: Any) -> _Ctx:
        """Everything a hot path needs, read in the caller's transaction: the actor's role
        (checked against ``permission``), settings, workflow, current schema and guideline
        (``extra``: what else the same statement reads, see ``store.projects.hot_context``)."""
        row = project_store.hot_context(
            conn, project_id=self.id, user_id=actor.id if actor else None, **extra
        )
        return self._ctx_from_row(row, actor, permission, extra.get("credential"))

    def _ctx_from_row(
        self, row: dict[str, Any] | None, actor: User | None, permission: str,
        cred: Credential | None,
    ) -> _Ctx:
        """:meth:`_context` from its statement's row (``store.projects.hot_context``)."""
        if row is None:
            raise NotFound(NO_PROJECT)
        if cred is not None and (actor is None or row["auth_uid"] != actor.id):
            raise self.ws.credential_failed(cred)
        if actor is None or (row["auth_role"] == "admin" if cred else actor.is_admin):
            role: Role | None = Role.ADMIN
        else:
            role = Role(row["member_role"]) if row["member_role"] else None
        if role is None:
            raise NotFound(NO_PROJECT)
        if not role_allows(role, permission):
            raise Forbidden(f"Your role ({role.value}) may not do this ({permission}).")
        sid = int(row["schema_id"])
        schema = self._schema_cache.get(sid)
        if schema is None:  # a new schema version: read once, then cached
            with self.db.read() as conn:
                sv = project_store.schema_by_id(conn, sid)
            assert sv is not None
            schema = self._schema_for(sv)
        raw = row["settings"] or "{}"
        if self._workflow is not None and self._workflow[0] == raw:
            wf = self._workflow[1]
        else:
            wf = Workflow.model_validate(json.loads(raw).get("workflow", {}))
            self._workflow = (raw, wf)
        return _Ctx(role, row, sid, int(row["schema_version"]), schema, row["guideline_id"], wf)

    # -- schema, settings, rows -----------------------------------------------------------
    @property
    def name(self) -> str:
        with self.db.read() as conn:
            row = project_store.get_project(conn, project_id=self.id)
        assert row is not None
        return str(row["name"])

    def schema(self, *, actor: User | None = None) -> tuple[int, LabelSchema]:
        """The current schema version's id and schema."""
        self.require(actor, "project.read")
        with self.db.read() as conn:
            sv = project_store.latest_schema(conn, self.id)
        assert sv is not None
        return int(sv["id"]), self._schema_for(sv)

    def _schema_for(self, sv: dict[str, Any]) -> LabelSchema:
        sid = int(sv["id"])
        if sid not in self._schema_cache:
            body = json.loads(sv["body"])  # stored, so accepted once: no limits re-applied
            self._schema_cache[sid] = LabelSchema.from_dict(body, check_limits=False)
        return self._schema_cache[sid]

    def workflow(self, *, actor: User | None = None) -> Workflow:
        """The workflow settings (:class:`~truelabel.domain.workflow.Workflow`)."""
        self.require(actor, "project.read")
        raw = json.loads(self._settings().get("settings") or "{}")
        return Workflow.model_validate(raw.get("workflow", {}))

    def status(self, *, actor: User | None = None) -> ProjectStatus:
        self.require(actor, "project.read")
        with self.db.read() as conn:
            return item_store.counts(conn, self.id)

    def annotations(
        self, item_id: int, *, current_only: bool = True, actor: User | None = None
    ) -> list[AnnotationView]:
        """An item's annotations (its current ones unless ``current_only`` is False)."""
        self.require(actor, "annotations.read")
        with self.db.read() as conn:
            rows = item_store.item_annotations(
                conn, project_id=self.id, item_id=item_id, current_only=current_only
            )
        return [cast(AnnotationView, {**r, "value": orjson.loads(r["value"])}) for r in rows]

    def _settings(self) -> dict[str, Any]:
        with self.db.read() as conn:
            row = project_store.get_project(conn, project_id=self.id)
        assert row is not None
        return row

    def _item_data(self, item_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = item_store.get_item(conn, self.id, item_id)
        return orjson.loads(row["data"]) if row else None

    def _long_format(self) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        """Every current annotation (values parsed) and the gold answers by item id."""
        with self.db.read() as conn:
            anns = qa_store.current_annotations(conn, self.id)
            gold = {k: orjson.loads(v) for k, v in qa_store.gold_answers(conn, self.id).items()}
        for a in anns:
            a["value"] = orjson.loads(a["value"])
        return anns, gold


class Service:
    """A concern of a project, composed on it under :attr:`name` (``project.tasks`` …).

    Its methods use the shared services under the same names as the project's own
    (``self.db``, ``self.id``, ``self.require(...)``); these forward to :attr:`ctx`.
    """

    #: the attribute this service is composed under on ``Project``
    name: ClassVar[str]

    def __init__(self, ctx: ProjectContext) -> None:
        self.ctx = ctx
        self.id = ctx.id
        self.db = ctx.db
        self.ws = ctx.ws
        self.events = ctx.events
        self._schema_cache = ctx._schema_cache

    def role_of(self, actor: User | None) -> Role | None:
        return self.ctx.role_of(actor)

    def require(self, actor: User | None, permission: str) -> Role:
        return self.ctx.require(actor, permission)

    def _context(self, conn: Any, actor: User | None, permission: str, **extra: Any) -> _Ctx:
        return self.ctx._context(conn, actor, permission, **extra)

    def _ctx_from_row(
        self, row: dict[str, Any] | None, actor: User | None, permission: str,
        cred: Credential | None,
    ) -> _Ctx:
        return self.ctx._ctx_from_row(row, actor, permission, cred)

    def schema(self, *, actor: User | None = None) -> tuple[int, LabelSchema]:
        return self.ctx.schema(actor=actor)

    def workflow(self, *, actor: User | None = None) -> Workflow:
        return self.ctx.workflow(actor=actor)

    def status(self, *, actor: User | None = None) -> ProjectStatus:
        return self.ctx.status(actor=actor)

    def annotations(
        self, item_id: int, *, current_only: bool = True, actor: User | None = None
    ) -> list[AnnotationView]:
        return self.ctx.annotations(item_id, current_only=current_only, actor=actor)

    def _settings(self) -> dict[str, Any]:
        return self.ctx._settings()

    def _item_data(self, item_id: int) -> dict[str, Any] | None:
        return self.ctx._item_data(item_id)

    def _long_format(self) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        return self.ctx._long_format()


#: Service names later work composes on ``Project`` (dataset versions, data preparation,
#: the model loop); ``Project.service`` names them among the known ones.
RESERVED_SERVICES = ("versions", "prep", "models")


def actor_id(actor: User | None) -> int | None:
    """The acting user's id for an audit row or an owner column (None: the local owner)."""
    return actor.id if actor is not None else None


def as_schema(schema: LabelSchema | dict[str, Any] | str) -> LabelSchema:
    """A schema given as an object, a mapping or YAML/JSON text."""
    if isinstance(schema, LabelSchema):
        return schema
    if isinstance(schema, dict):
        return LabelSchema.from_dict(schema)
    return LabelSchema.parse(schema)
