"""Plain value types passed between layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .roles import Role


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass(frozen=True, slots=True)
class Credential:
    """How a request authenticated: ``kind`` "token" (API token) or "session" (cookie), and
    the SHA-256 ``digest`` under which that secret is stored."""

    kind: str
    digest: str


@dataclass(slots=True)
class Task:
    """An item leased to one annotator until ``lease_expires_at``."""

    id: int
    item_id: int
    project_id: int
    lease_expires_at: float | None
    data: dict[str, Any]
    external_id: str | None = None
    draft: dict[str, Any] | None = None
    #: Reviewers' reasons when this user's earlier work on the item was rejected.
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    #: The user skipped this item before; it came back as nothing else was left (once).
    skipped_before: bool = False


@dataclass(slots=True)
class Annotation:
    id: int
    item_id: int
    user_id: int
    value: dict[str, Any]
    schema_version: int
    created_at: float
    supersedes_id: int | None = None
    replayed: bool = False
    #: Gold feedback in training rounds: {"correct", "expected", "wrong_fields"}.
    feedback: dict[str, Any] | None = None


@dataclass(slots=True)
class ImportResult:
    batch_id: int | None
    source: str
    format: str
    read: int
    added: int
    seconds: float
    prep: tuple[str, ...] = ()
    """The preparation steps the records went through, in order."""
    dropped: int = 0
    """Records the preparation steps dropped."""
    report: dict[str, Any] = field(default_factory=dict)
    """Records not added as new items, and large items: the options in force (``dedup``,
    ``on_conflict``, ``large_item_bytes``), ``counts`` and first ``examples`` by kind
    (``repeated_text``, ``repeated_id``, ``present``, ``conflicts``, ``large``, and what the
    reader met: ``blank``, ``multiline``, ``suspect_multiline``, ``lone_cr``); see
    ``core.import_report``."""
    notes: tuple[str, ...] = ()
    """The report as sentences, for people."""

    @property
    def skipped(self) -> int:
        """Records not added as new items (repeats, items already present, conflicts)."""
        return self.read - self.dropped - self.added

    @property
    def summary(self) -> str:
        """One line: items added, and records already in the project (the notes say the
        rest)."""
        present = self.report.get("counts", {}).get("present", self.skipped)
        return f"{self.added:,} items added, {present:,} already present"

    def to_dict(self) -> dict[str, Any]:
        """The result as the CLI's ``--json``, the import job and the API show it."""
        return {"batch_id": self.batch_id, "source": self.source, "format": self.format,
                "read": self.read, "added": self.added, "skipped": self.skipped,
                "dropped": self.dropped, "seconds": round(self.seconds, 3), **self.report,
                "summary": self.summary, "notes": list(self.notes)}


@dataclass(slots=True)
class ExportResult:
    path: str
    format: str
    items: int
    annotations: int
    seconds: float
