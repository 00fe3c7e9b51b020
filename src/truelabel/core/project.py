"""``Project``: the one entry point the CLI, the server and notebooks call.

Every method takes an optional ``actor`` (the calling user). ``actor=None`` is the local owner
working on the files directly (a notebook or the CLI) and may do everything; otherwise the
actor's role in this project decides, and objects outside it answer ``NotFound``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from truelabel.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
)
from truelabel.domain.fields import SpansField
from truelabel.domain.limits import MAX_ITEM_BYTES, check_guidelines
from truelabel.domain.models import Credential, ExportResult, ImportResult, User
from truelabel.domain.results import (
    AnnotationView,
    BatchRow,
    ItemRow,
    ItemView,
    LabelValue,
    MemberRow,
    ProjectInfo,
    ProjectStatus,
)
from truelabel.domain.roles import Role, role_allows
from truelabel.domain.schema import LabelSchema
from truelabel.domain.workflow import Workflow
from truelabel.store import accounts, queue
from truelabel.store import items as item_store
from truelabel.store import projects as project_store

from . import transfer
from .qa import QualityMixin
from .review import ReviewMixin
from .tasks import TaskMixin
from .truth import TruthMixin
from .workspace import Workspace

NO_PROJECT = "No such project, or you are not a member of it. Ask a manager to add you."
#: Parsed workflow settings by their JSON text (settings change rarely; parsing is not free).
_WORKFLOWS: dict[str, Workflow] = {}


@dataclass(slots=True)
class _Ctx:
    role: Role
    row: dict[str, Any]
    schema_id: int
    schema_version: int
    schema: LabelSchema
    guideline_id: int | None
    workflow: Workflow


class Project(TaskMixin, QualityMixin, ReviewMixin, TruthMixin):
    """One labeling project inside a :class:`Workspace`.

    This module holds opening, permissions, settings, import/export and browsing; the other
    concerns are mixed in from ``tasks``, ``qa``, ``review`` and ``truth``.
    """

    def __init__(self, workspace: Workspace, project_id: int) -> None:
        self.ws = workspace
        self.db = workspace.db
        self.id = project_id
        self._schema_cache: dict[int, LabelSchema] = {}
        # settings text last seen free of a gold rate: the pool decides next tasks there
        self._pool_settings: tuple[str | None] | None = None
        # (schema id, guideline id) current at this process's last submit
        self._submit_versions: tuple[int, int | None] | None = None

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, location: str | Path, name: str | int | None = None) -> Project:
        """Open a project in a workspace folder or database URL (the only one if unnamed)."""
        return Workspace.open(location).project(name)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        wf = _WORKFLOWS.get(raw)
        if wf is None:
            wf = _WORKFLOWS[raw] = Workflow.model_validate(json.loads(raw).get("workflow", {}))
        return _Ctx(role, row, sid, int(row["schema_version"]), schema, row["guideline_id"], wf)

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
            "schema": json.loads(sv["body"]) if sv else None,
            "schema_version": sv["version"] if sv else None,
            "guidelines": gv["body"] if gv else "",
            "guideline_version": gv["version"] if gv else None,
        }

    @property
    def name(self) -> str:
        with self.db.read() as conn:
            row = project_store.get_project(conn, project_id=self.id)
        assert row is not None
        return str(row["name"])

    def schema(self) -> tuple[int, LabelSchema]:
        """The current schema version's id and schema."""
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

    def set_schema(
        self, schema: LabelSchema | dict[str, Any] | str, *, actor: User | None = None
    ) -> int:
        """Make ``schema`` current; returns its version (unchanged content keeps the version).

        Existing annotations keep the version they were made under.
        """
        self.require(actor, "project.edit")
        from .workspace import _as_schema

        sch = _as_schema(schema)
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
                user_id=_uid(actor),
                action="schema.version",
                object_type="project",
                object_id=self.id,
                detail={"version": v["version"]},
            )
        return int(v["version"])

    def set_guidelines(self, markdown: str, *, actor: User | None = None) -> int:
        self.require(actor, "project.edit")
        check_guidelines(markdown)
        with self.db.write() as conn:
            v = project_store.add_version(
                conn, "guideline", project_id=self.id, body=markdown, now=time.time()
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
                user_id=_uid(actor),
                action="member.set",
                object_type="project",
                object_id=self.id,
                detail={"user": u.username, "role": role.value},
            )

    def members(self, *, actor: User | None = None) -> list[MemberRow]:
        self.require(actor, "project.read")
        with self.db.read() as conn:
            return accounts.project_members(conn, self.id)

    # -- import / export ------------------------------------------------------------------
    def import_file(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        id_field: str | None = "id",
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
    ) -> ImportResult:
        """Import a JSONL, CSV, Parquet or text file; all or nothing, no duplicates.

        An item whose data passes ``max_item_bytes`` of JSON refuses the whole import.
        """
        self.require(actor, "items.import")
        p = Path(path)
        if not p.is_file():
            raise InvalidInput(f"{p} is not a file; check the path.", file=str(p))
        with p.open("rb") as fh:
            return self.import_stream(
                fh,
                source=str(p),
                fmt=fmt,
                id_field=id_field,
                actor=actor,
                progress=progress,
                total_bytes=transfer.file_size(p),
                max_item_bytes=max_item_bytes,
            )

    def import_stream(
        self,
        fh: IO[bytes],
        *,
        source: str,
        fmt: str | None = None,
        id_field: str | None = "id",
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
        total_bytes: int | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
    ) -> ImportResult:
        self.require(actor, "items.import")
        _, sch = self.schema()
        required = tuple(sorted({f.source for f in sch.fields if isinstance(f, SpansField)}))
        return transfer.run_import(
            self.db,
            project_id=self.id,
            fh=fh,
            source=source,
            fmt=fmt,
            id_field=id_field,
            required=required,
            user_id=_uid(actor),
            progress=progress,
            total_bytes=total_bytes,
            max_item_bytes=max_item_bytes,
        )

    def import_records(
        self,
        records: list[dict[str, Any]],
        *,
        source: str = "api",
        id_field: str | None = "id",
        actor: User | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
    ) -> ImportResult:
        """Import in-memory records (a list of dicts), same rules as a file."""
        import io

        try:
            buf = io.BytesIO(b"\n".join(orjson.dumps(r) for r in records))
        except TypeError as exc:
            raise InvalidInput(f"The records cannot be stored as JSON: {exc}.") from None
        return self.import_stream(buf, source=source, fmt="jsonl", id_field=id_field, actor=actor,
                                  max_item_bytes=max_item_bytes)

    def export(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        only_labeled: bool = False,
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
    ) -> ExportResult:
        """Write every item with its annotations (every annotator) to JSONL or Parquet."""
        self.require(actor, "annotations.export")
        total = self.status()["items"] if progress else None
        result = transfer.run_export(
            self.db,
            project_id=self.id,
            path=path,
            fmt=fmt,
            only_labeled=only_labeled,
            progress=progress,
            total=total,
        )
        with self.db.write() as conn:
            project_store.audit(
                conn,
                at=time.time(),
                user_id=_uid(actor),
                action="export",
                object_type="project",
                object_id=self.id,
                detail={"format": result.format, "items": result.items},
            )
        return result

    def batches(self, *, actor: User | None = None) -> list[BatchRow]:
        self.require(actor, "items.read")
        with self.db.read() as conn:
            return project_store.list_batches(conn, self.id)

    # -- browsing -------------------------------------------------------------------------
    def status(self, *, actor: User | None = None) -> ProjectStatus:
        self.require(actor, "project.read")
        with self.db.read() as conn:
            return item_store.counts(conn, self.id)

    def items(
        self,
        *,
        actor: User | None = None,
        after: int = 0,
        limit: int = 50,
        search: str | None = None,
        status: str | None = None,
        batch_id: int | None = None,
    ) -> list[ItemRow]:
        """A page of items (keyset: pass the last id as ``after``). Annotators see their own."""
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
            )
        for r in rows:
            r["data"] = orjson.loads(r["data"])
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
            "provenance": {
                "batch_id": row["batch_id"],
                "source": row["source"],
                "line": row["source_line"],
            },
            "n_taken": row["n_taken"],
            "n_done": row["n_done"],
        }
        if role_allows(role, "annotations.read"):
            out["annotations"] = self.annotations(item_id)
        return out

    def annotations(self, item_id: int, *, current_only: bool = True) -> list[AnnotationView]:
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

    def validate(self, value: dict[str, Any], item: dict[str, Any] | None = None) -> LabelValue:
        """Check an annotation value against the current schema without storing it."""
        _, sch = self.schema()
        return sch.validate_annotation(value, item)


def _uid(actor: User | None) -> int | None:
    return actor.id if actor is not None else None
