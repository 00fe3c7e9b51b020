"""The demo workspace: bundled customer-service messages, a schema with intent, sentiment and
entities, and one user per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from truelabel.domain.roles import Role

from .project import Project
from .workspace import DB_FILE, Workspace

DEMO_USERS = (
    ("admin", Role.ADMIN),
    ("manager", Role.MANAGER),
    ("reviewer", Role.REVIEWER),
    ("annotator", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
)


@dataclass
class Demo:
    workspace: Workspace
    project: Project
    passwords: dict[str, str]
    created: bool


def sample_text(name: str) -> str:
    return resources.files("truelabel.sample").joinpath(name).read_text("utf-8")


def create_demo(path: str | Path, *, password: str | None = None) -> Demo:
    """Create (or reopen) the demo workspace at ``path``.

    New users get ``password`` (random if not given); reopening keeps existing passwords.
    """
    folder = Path(path)
    if (folder / DB_FILE).exists():
        ws = Workspace.open(folder)
        return Demo(ws, ws.project("support"), {}, False)
    ws = Workspace.init(folder)
    project = ws.create_project(
        "support",
        sample_text("schema.yaml"),
        title="Customer-service messages",
        overlap=1,
        guidelines=sample_text("guidelines.md"),
    )
    sample = resources.files("truelabel.sample").joinpath("messages.jsonl")
    with resources.as_file(sample) as p:
        project.import_file(p)
    passwords = {}
    for name, role in DEMO_USERS:
        pw = password or secrets.token_urlsafe(9)
        user = ws.add_user(name, pw, role=role, display_name=name.title())
        project.add_member(user, role)
        passwords[name] = pw
    return Demo(ws, project, passwords, True)
