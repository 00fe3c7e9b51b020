"""Roles and what each may do. Enforced in ``core``; routes only pass the user along."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"


#: Permissions per role. ``admin`` may do everything.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"*"}),
    Role.MANAGER: frozenset({
        "project.read", "project.edit", "items.read", "items.import", "items.assign",
        "annotations.read", "annotations.export", "task.work", "members.manage", "jobs.read",
        "gold.manage", "quality.read", "quality.aggregate", "quality.signoff",
        "quality.adjudicate", "review.work",
    }),
    Role.REVIEWER: frozenset({
        "project.read", "items.read", "annotations.read", "task.work", "quality.read",
        "quality.adjudicate", "review.work",
    }),
    Role.ANNOTATOR: frozenset({"project.read", "task.work"}),
}


def role_allows(role: Role | str, permission: str) -> bool:
    perms = PERMISSIONS[Role(role)]
    return "*" in perms or permission in perms


class TokenScope(StrEnum):
    """What an API token may do, within its user's role (``docs/architecture.md``)."""

    READ = "read"  # safe methods only (GET, HEAD)
    ANNOTATE = "annotate"  # reads + the annotators' loop (next, draft, submit, skip, undo)
    MANAGE = "manage"  # everything the user's role allows
