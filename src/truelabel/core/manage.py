"""Managing a project (``project.manage``): archiving, guideline versions with their changelog
and what each member has seen of them, members leaving, assigning by count, and checking a
schema before it is saved (the browser's schema editor previews and diffs what this returns).

Every manager action here is audit-logged; an archived project keeps its data but gives no
new tasks (:func:`refuse_archived`, called on the loop's "next task").
"""

from __future__ import annotations

import json
import time
from typing import Any

from truelabel.domain.errors import InvalidInput, ProjectArchived
from truelabel.domain.limits import check_guidelines
from truelabel.domain.models import User
from truelabel.store import accounts
from truelabel.store import projects as project_store

from .context import Service, actor_id, as_schema

#: the longest changelog note of a guideline version
MAX_NOTE_CHARS = 2000
#: the most items one "assign by count" reserves
MAX_ASSIGN_COUNT = 500


def refuse_archived(row: dict[str, Any]) -> None:
    """Raise :class:`ProjectArchived` if the project row (the loop's context) is archived."""
    if row.get("archived_at") is not None:
        raise ProjectArchived(
            f"Project {row.get('name', '')!r} is archived and gives no new tasks; "
            "ask an admin to unarchive it if work should go on."
        )


class ManageService(Service):
    """Archive, guideline versions and notices, members, assign by count, schema checks."""

    name = "manage"

    # -- archive ---------------------------------------------------------------------------
    def set_archived(self, archived: bool, *, actor: User | None = None) -> bool:
        """Archive (or unarchive) the project: admins only. Returns the new state."""
        self.require(actor, "project.archive")  # only admins hold every permission
        with self.db.write() as conn:
            project_store.update_project(
                conn, self.id, archived_at=time.time() if archived else None
            )
            self._audit(conn, actor, "project.archive" if archived else "project.unarchive")
        return archived

    # -- guidelines ------------------------------------------------------------------------
    def set_guidelines(
        self, markdown: str, *, note: str = "", actor: User | None = None
    ) -> int:
        """Make ``markdown`` the current guidelines with a changelog ``note``; returns the
        version (the same text with no note keeps the current version)."""
        self.require(actor, "project.edit")
        check_guidelines(markdown)
        note = note.strip()
        if len(note) > MAX_NOTE_CHARS:
            raise InvalidInput(
                f"A changelog note is at most {MAX_NOTE_CHARS} characters; shorten it.",
                field="note",
            )
        with self.db.write() as conn:
            cur = project_store.latest_guideline(conn, self.id)
            if cur is not None and cur["body"] == markdown and not note:
                return int(cur["version"])
            v = project_store.add_version(
                conn, "guideline", project_id=self.id, body=markdown, now=time.time(), note=note
            )
            self._audit(conn, actor, "guidelines.version",
                        {"version": v["version"], "note": note[:200]})
        return int(v["version"])

    def guideline_history(self, *, actor: User | None = None) -> list[dict[str, Any]]:
        """Every guideline version, newest first: version, note, created_at, chars."""
        self.require(actor, "project.read")
        with self.db.read() as conn:
            return project_store.guideline_history(conn, self.id)

    def guideline_changes(self, actor: User) -> dict[str, Any]:
        """What changed in the guidelines since ``actor`` last acknowledged them:
        ``current`` version, ``seen`` (None: never), and the ``changes`` (newer versions
        with their notes, newest first; empty when nothing is new or nothing was seen)."""
        self.require(actor, "project.read")
        with self.db.read() as conn:
            seen = accounts.guidelines_seen(conn, project_id=self.id, user_id=actor.id)
            history = project_store.guideline_history(conn, self.id)
        current = history[0]["version"] if history else None
        changes = [h for h in history if seen is not None and h["version"] > seen]
        return {"current": current, "seen": seen, "changes": changes}

    def mark_guidelines_seen(self, version: int, actor: User) -> int | None:
        """Record that ``actor`` has read the guidelines up to ``version``."""
        self.require(actor, "project.read")
        with self.db.write() as conn:
            cur = project_store.latest_guideline(conn, self.id)
            if cur is None or version < 1 or version > int(cur["version"]):
                raise InvalidInput(
                    f"No guideline version {version}; the current one is "
                    f"{cur['version'] if cur else 'none'}.", field="version")
            accounts.set_guidelines_seen(
                conn, project_id=self.id, user_id=actor.id, version=version
            )
        return version

    # -- members ---------------------------------------------------------------------------
    def remove_member(self, username: str, *, actor: User | None = None) -> None:
        """Take a user out of the project (their annotations stay). Audited. Idempotent: a
        user who is not a member is out already."""
        self.require(actor, "members.manage")
        u = self.ws.get_user(username)
        if actor is not None and u.id == actor.id:
            raise InvalidInput("You cannot remove yourself; ask another manager or an admin.",
                               field="username")
        with self.db.write() as conn:
            if accounts.remove_member(conn, project_id=self.id, user_id=u.id):
                self._audit(conn, actor, "member.remove", {"user": u.username})

    # -- assign ----------------------------------------------------------------------------
    def assign_count(self, count: int, user: str, *, actor: User | None = None) -> list[int]:
        """Reserve the first ``count`` untouched items (nobody has taken them) for ``user``;
        returns their ids."""
        self.require(actor, "items.assign")
        if not 1 <= count <= MAX_ASSIGN_COUNT:
            raise InvalidInput(f"Assign between 1 and {MAX_ASSIGN_COUNT} items at a time.",
                               field="count")
        project: Any = self.ctx  # the Project this service is composed on
        ids = [r["id"] for r in project.items(actor=actor, status="unlabeled", limit=count)]
        if not ids:
            raise InvalidInput("No untouched items are left to assign; import more, or "
                               "assign given item ids.", field="count")
        project.assign(ids, user, actor=actor)
        return ids

    # -- schema ----------------------------------------------------------------------------
    def check_schema(
        self, schema: dict[str, Any] | str, *, actor: User | None = None
    ) -> dict[str, Any]:
        """Parse a schema (mapping or YAML/JSON text) without saving it: ``valid``; its
        normalised form, the current one, and whether saving would make a new version; or,
        when it does not parse, the ``error`` (the JSON error shape) saying why."""
        self.require(actor, "project.edit")
        with self.db.read() as conn:
            cur = project_store.latest_schema(conn, self.id)
        try:
            sch = as_schema(schema)
        except InvalidInput as exc:  # an answer, not a failure: the editor shows it inline
            return {"valid": False, "error": exc.to_dict(),
                    "current_version": cur["version"] if cur else None}
        return {
            "valid": True,
            "schema": json.loads(sch.to_json()),
            "current": json.loads(cur["body"]) if cur else None,
            "current_version": cur["version"] if cur else None,
            "changed": cur is None or cur["digest"] != sch.digest(),
        }

    def _audit(self, conn: Any, actor: User | None, action: str,
               detail: dict[str, Any] | None = None) -> None:
        project_store.audit(conn, at=time.time(), user_id=actor_id(actor), action=action,
                            object_type="project", object_id=self.id, detail=detail)
