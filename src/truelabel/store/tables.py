"""The tables, as SQLAlchemy Core objects used by queries.

The schema itself is created and changed only by the Alembic migrations in
``store/migrations/versions``; a test checks that a migrated database matches these objects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False, server_default="annotator"),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("csrf_token", String(64), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    # unused since 0005: a revoked token's row is deleted (kept for old readers)
    Column("revoked", Boolean, nullable=False, server_default=false()),
    Column("scope", String(20), nullable=False, server_default="manage"),
    Column("last_used_at", Float),
    Index("ix_api_tokens_user", "user_id"),
)

#: failed logins and password checks, shared by every worker process; rows older than the
#: throttle's window are deleted as new ones arrive
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # "login" | "password"
    Column("at", Float, nullable=False),
    Column("address", String(100), nullable=False),
    Column("username", String(100), nullable=False),  # lower-cased
    Column("device", String(64)),  # the device cookie's id, if one was presented
    Index("ix_auth_failures_user", "username", "at"),
    Index("ix_auth_failures_address", "address", "at"),
    Index("ix_auth_failures_at", "at"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("title", String(300), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("overlap", Integer, nullable=False, server_default=text("1")),
    Column("lease_seconds", Integer, nullable=False, server_default=text("1800")),
    Column("settings", Text, nullable=False, server_default="{}"),
    # 0006: bumped whenever item priorities change, so every process's claim floor is
    # checked against it in the claim statement itself (docs/loop.md, "The claim order")
    Column("claim_version", Integer, nullable=False, server_default=text("0")),
    # 0011: when an admin archived it (NULL: active); archived projects give no new tasks
    Column("archived_at", Float),
)

schema_versions = Table(
    "schema_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("project_id", "version"),
)

guideline_versions = Table(
    "guideline_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("note", Text, nullable=False, server_default=""),  # 0011: the changelog line
    UniqueConstraint("project_id", "version"),
)

members = Table(
    "members",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", String(20), nullable=False),
    # 0011: the guideline version this member last acknowledged (NULL: none yet)
    Column("guidelines_seen", Integer),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("source", Text, nullable=False),
    Column("format", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("n_read", Integer, nullable=False, server_default=text("0")),
    Column("n_added", Integer, nullable=False, server_default=text("0")),
    Column("user_id", Integer),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("external_id", String(200)),
    Column("content_hash", LargeBinary(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("meta", Text),
    Column("batch_id", Integer),
    Column("source_line", Integer),
    Column("n_taken", Integer, nullable=False, server_default=text("0")),
    Column("n_done", Integer, nullable=False, server_default=text("0")),
    Column("open", Integer, nullable=False, server_default=text("1")),
    # 0002: gold items are handed out by the gold rate, outside the pool; ``target`` is the
    # item's own overlap when adaptive overlap raised it (NULL: the project's overlap)
    Column("is_gold", Boolean, nullable=False, server_default=false()),
    Column("target", Integer),
    # 0006: the claim order, higher first, then item id (docs/loop.md)
    Column("priority", Integer, nullable=False, server_default=text("0")),
    # 0008: the lifecycle state (domain/lifecycle.py, docs/lifecycle.md)
    Column("state", String(20), nullable=False, server_default="queued"),
    Index("ix_items_state", "project_id", "state"),
    Index("ix_items_batch", "batch_id"),  # 0009: the browser's import filters
    Index(
        "ux_items_external",
        "project_id",
        "external_id",
        unique=True,
        sqlite_where=text("external_id IS NOT NULL"),
        postgresql_where=text("external_id IS NOT NULL"),
    ),
    Index(
        "ux_items_hash",
        "project_id",
        "content_hash",
        unique=True,
        sqlite_where=text("external_id IS NULL"),
        postgresql_where=text("external_id IS NULL"),
    ),
)

#: 0006: "next open item" in the claim order is an index seek on both backends (replaces
#: ``ix_items_open (project_id, id)``; docs/loop.md, "The claim order")
Index(
    "ix_items_claim",
    items.c.project_id,
    items.c.priority.desc(),
    items.c.id,
    sqlite_where=text("open = 1"),
    postgresql_where=text("open = 1"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    # queued (pre-assigned) | leased | submitted | skipped | expired
    Column("status", String(12), nullable=False),
    Column("lease_expires_at", Float),
    Column("created_at", Float, nullable=False),
    # 0010: when the user skipped it (undo's grace period; the skipped list's order) and how
    # often (a skipped item comes back to its skipper once)
    Column("released_at", Float),
    Column("skips", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("item_id", "user_id", name="ux_assign_item_user"),
    Index("ix_assign_user", "user_id", "project_id", "status"),
    Index(
        "ix_assign_leases",
        "lease_expires_at",
        sqlite_where=text("status = 'leased'"),
        postgresql_where=text("status = 'leased'"),
    ),
)

annotations = Table(  # type: ignore[assignment]  # the name of a __future__ feature too
    "annotations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("assignment_id", Integer),
    Column("schema_version_id", Integer, nullable=False),
    Column("guideline_version_id", Integer),
    Column("value", Text, nullable=False),
    Column("idempotency_key", String(100), nullable=False),
    Column("supersedes_id", Integer, unique=True),
    Column("is_current", Boolean, nullable=False, server_default=true()),
    Column("origin", String(100), nullable=False, server_default="human"),
    Column("time_spent_ms", Integer),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("user_id", "idempotency_key", name="ux_annot_idem"),
    Index("ix_annot_item", "item_id"),
    Index("ix_annot_project", "project_id", "id"),
    # 0009: the data browser's annotator and "annotated between" filters
    Index("ix_annot_user", "project_id", "user_id", "item_id"),
    Index("ix_annot_created", "project_id", "created_at", "item_id"),
)

drafts = Table(
    "drafts",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("item_id", Integer, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer),
    Column("kind", String(30), nullable=False),
    Column("status", String(12), nullable=False),  # running | done | failed | cancelled
    Column("done", Integer, nullable=False, server_default=text("0")),
    Column("total", Integer),
    Column("message", Text, nullable=False, server_default=""),
    Column("result", Text),
    Column("user_id", Integer),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("params", Text),  # JSON: what the job was asked, to restart it
    Column("error", Text),  # JSON: the error shape
    Column("cancel_requested", Boolean, nullable=False, server_default=false()),
    Column("runner", String(120)),  # host:pid:token of the process running it
    Column("heartbeat_at", Float),
    Column("started_at", Float),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("output", Text),  # the file it wrote (exports)
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_project", "project_id", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("user_id", Integer),
    Column("action", String(60), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(100)),
    Column("detail", Text),
)


# -- 0002: quality assurance ---------------------------------------------------------------

gold = Table(
    "gold",
    metadata,
    Column("item_id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False, index=True),
    Column("value", Text, nullable=False),
    Column("source", Text, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("annotation_id", Integer, nullable=False),
    Column("stage", Integer, nullable=False),
    Column("reviewer_id", Integer, nullable=False),
    Column("decision", String(10), nullable=False),  # accept | reject | correct
    Column("comment", Text, nullable=False, server_default=""),
    Column("correction_id", Integer),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("annotation_id", "stage", name="ux_review_stage"),
    Index("ix_reviews_project", "project_id", "stage"),
    # 0009: the data browser's review-outcome filter
    Index("ix_reviews_item", "item_id"),
    Index("ix_reviews_decision", "project_id", "decision", "item_id"),
)

adjudications = Table(
    "adjudications",
    metadata,
    Column("item_id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False, index=True),
    Column("status", String(10), nullable=False),  # open | decided
    Column("reason", Text, nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("decided_by", Integer),
    Column("decided_at", Float),
    Column("value", Text),
    Column("comment", Text, nullable=False, server_default=""),
)

ground_truth = Table(
    "ground_truth",
    metadata,
    Column("item_id", Integer, primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("project_id", Integer, nullable=False, index=True),
    Column("value", Text, nullable=False),
    Column("confidence", Float),
    Column("method", String(40), nullable=False),
    Column("contributors", Text, nullable=False, server_default="[]"),
    Column("computed_at", Float, nullable=False),
    Index("ix_gt_field", "project_id", "field"),  # 0009: the browser's ground-truth filter
)

signoffs = Table(
    "signoffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False, index=True),
    Column("user_id", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("evidence", Text, nullable=False),
)

# -- 0004: media owned by projects ---------------------------------------------------------

media = Table(
    "media",
    metadata,
    Column("project_id", Integer, primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("uploaded_by", Integer),
    Column("created_at", Float, nullable=False),
)

# -- 0009: the data browser's saved views --------------------------------------------------

saved_views = Table(
    "saved_views",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("user_id", Integer),  # the owner (NULL: made by the local owner)
    Column("name", String(100), nullable=False),
    Column("query", Text, nullable=False),  # the browser's URL query string
    Column("shared", Boolean, nullable=False, server_default=false()),
    Column("created_at", Float, nullable=False),
    Index("ix_saved_views_project", "project_id", "name"),
)

# -- 0010: annotators' questions to the managers about an item -----------------------------

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("status", String(10), nullable=False, server_default="open"),  # open | resolved
    Column("answer", Text, nullable=False, server_default=""),
    Column("answered_by", Integer),
    Column("answered_at", Float),
    Index("ix_questions_project", "project_id", "status", "id"),
    Index("ix_questions_user", "user_id", "project_id", "item_id"),
)


def new_id(result: Any) -> int:
    """The primary key an INSERT (a SQLAlchemy ``CursorResult``) just made."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the statement inserted no row")
    return int(key[0])
