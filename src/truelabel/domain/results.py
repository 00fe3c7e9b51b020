"""The shapes of what the public API returns: ``Workspace`` and ``Project`` methods and the
store functions behind them.

They are ``TypedDict``s, so at run time every result is the plain ``dict`` it always was
(routes send it as JSON unchanged, callers index and extend it); the type checker and a
reader see its keys. A key marked ``NotRequired`` is there only in some answers (the
docstring says when). Times are Unix seconds (float); ``value``s are annotation values
(field name -> value) and ``data`` an item's own record, both as the user gave them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypeAlias, TypedDict

__all__ = [
    "AdjudicationEntry",
    "BackupManifest",
    "LabelValue",
    "AggregateSummary",
    "AnnotationView",
    "AuditEntry",
    "BatchRow",
    "ItemRow",
    "ItemView",
    "MemberRow",
    "NewToken",
    "Provenance",
    "ProjectInfo",
    "ProjectRow",
    "ProjectStatus",
    "ReviewComment",
    "ReviewItem",
    "ReviewResult",
    "ReviewTask",
    "SignOff",
    "SignOffRow",
    "TokenRow",
    "TruthEntry",
    "UserRow",
]


#: An annotation value, gold answer or decided label: field name -> value (as the schema's
#: field types define it).
LabelValue: TypeAlias = dict[str, Any]


# -- workspace: users, tokens, projects, audit ---------------------------------------------


class UserRow(TypedDict):
    """A user as listed (``Workspace.list_users``); never the password hash."""

    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    created_at: float


class TokenRow(TypedDict):
    """An API token as listed (``Workspace.tokens.list``); never the secret or its hash."""

    id: int
    name: str
    scope: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None


class NewToken(TokenRow):
    """A token just made (``Workspace.tokens.create``): its row and, once only, the secret."""

    token: str


class ProjectRow(TypedDict):
    """A project as listed (``Workspace.list_projects``); ``settings`` is its JSON text."""

    id: int
    name: str
    title: str
    created_at: float
    overlap: int
    lease_seconds: int
    settings: str
    archived_at: float | None


class AuditEntry(TypedDict):
    """One audit-log entry (``Workspace.audit_log``); ``detail`` is JSON text or None."""

    id: int
    at: float
    user_id: int | None
    action: str
    object_type: str
    object_id: str | None
    detail: str | None
    username: str | None


# -- project: settings, members, imports, browsing -----------------------------------------


class ProjectInfo(TypedDict):
    """``Project.info``: settings, the current schema and guidelines, the caller's role."""

    id: int
    name: str
    title: str
    overlap: int
    lease_seconds: int
    created_at: float
    role: str
    schema: dict[str, Any] | None
    schema_version: int | None
    guidelines: str
    guideline_version: int | None
    archived: bool


class MemberRow(TypedDict):
    """A project member (``Project.members``) with their role in the project."""

    id: int
    username: str
    display_name: str
    role: str


class BatchRow(TypedDict):
    """An import batch (``Project.batches``): where it came from and how many items."""

    id: int
    project_id: int
    source: str
    format: str
    created_at: float
    n_read: int
    n_added: int
    user_id: int | None


class ProjectStatus(TypedDict):
    """``Project.status``: items, those labelled, those in progress, annotations submitted."""

    items: int
    labeled: int
    in_progress: int
    submitted: int


class ItemRow(TypedDict):
    """One item of a page of ``Project.items`` (``data`` parsed)."""

    id: int
    external_id: str | None
    data: Any
    n_taken: int
    n_done: int
    batch_id: int | None
    source_line: int | None
    meta: dict[str, Any] | None


class Provenance(TypedDict):
    """Where an item came from: its import batch, source name and line."""

    batch_id: int | None
    source: str | None
    line: int | None


class AnnotationView(TypedDict):
    """An annotation of an item (``Project.annotations``), ``value`` parsed."""

    id: int
    user_id: int
    username: str
    value: Any
    created_at: float
    schema_version: int
    supersedes_id: int | None
    is_current: bool
    time_spent_ms: int | None
    origin: str | None
    assignment_id: int | None


class ItemView(TypedDict):
    """``Project.item``: the item, its provenance and (for those who may read them) its
    current annotations."""

    id: int
    external_id: str | None
    data: Any
    provenance: Provenance
    n_taken: int
    n_done: int
    #: the lifecycle state (``domain/lifecycle.py``)
    state: str
    meta: dict[str, Any] | None
    annotations: NotRequired[list[AnnotationView]]


# -- review and adjudication ----------------------------------------------------------------


class ReviewItem(TypedDict):
    """The item under review."""

    id: int
    external_id: str | None
    data: Any
    #: the item's lifecycle state (``domain/lifecycle.py``)
    state: str


class ReviewTask(TypedDict):
    """``Project.next_review``: the annotation to review at a stage, its item and the other
    annotators' labels."""

    stage: int
    stage_name: str
    annotation: AnnotationView
    item: ReviewItem
    other_annotations: list[AnnotationView]


class ReviewResult(TypedDict):
    """``Project.review``: the stored review; ``correction_id`` is the correcting annotation."""

    id: int
    decision: str
    stage: int
    correction_id: int | None


class ReviewComment(TypedDict):
    """A rejection shown beside a task to the annotator whose work it rejected."""

    stage: int
    comment: str
    reviewer: str


class AdjudicationEntry(TypedDict):
    """An item in ``Project.adjudication_queue`` with its data and every current label."""

    item_id: int
    external_id: str | None
    #: the item's lifecycle state (``domain/lifecycle.py``)
    state: str
    status: str
    reason: str
    created_at: float
    decided_by: int | None
    value: Any
    comment: str | None
    data: Any
    annotations: list[AnnotationView]


# -- ground truth and sign-off ----------------------------------------------------------------


class TruthEntry(TypedDict):
    """One field's ground truth for one item (``Project.ground_truth``)."""

    value: Any
    confidence: float | None
    method: str
    contributors: list[Any]


class AggregateSummary(TypedDict):
    """``Project.aggregate``: the method and, per field, what was computed."""

    method: str
    fields: dict[str, dict[str, Any]]


class SignOff(TypedDict):
    """``Project.sign_off``: the sign-off's id, comment and frozen evidence (quality report)."""

    id: int
    comment: str
    evidence: dict[str, Any]
    #: what the sign-off was warned about (open adjudications, low agreement) and the
    #: manager's reason to sign off anyway ("" when there was nothing to override)
    warnings: list[dict[str, Any]]
    override_reason: str


class SignOffRow(TypedDict):
    """A past sign-off (``Project.signoffs``), evidence parsed."""

    id: int
    created_at: float
    comment: str
    evidence: Any
    username: str


# -- backup -----------------------------------------------------------------------------------


class BackupManifest(TypedDict):
    """What ``backup`` wrote and ``restore`` read: format, versions, row counts per table,
    the number of blobs and every member's size."""

    format: str
    truelabel: str
    revision: str | None
    created_at: float
    tables: dict[str, int]
    blobs: int
    members: dict[str, dict[str, Any]]
