"""Shared fixtures: one per intent (a workspace, a project with items, users, an API client)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("TRUELABEL_FAST_HASH", "1")  # cheap argon2id parameters for speed

import gc  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient

from helpers import PASSWORD, SCHEMA, backend_name, make_items, open_workspace
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User
from truelabel.server.app import create_app


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"truelabel backend: {backend_name()}"]


# ResourceWarning is an error (pyproject.toml): an unclosed connection, file or socket fails
# the test. One in a reference cycle warns only when the garbage collector frees it, which
# may be tests later; collecting after every test blames the test that leaked it. Freezing
# what is alive once the modules are loaded keeps each collection to the test's own objects.
gc.collect()
gc.freeze()


@pytest.fixture(autouse=True)
def _free_what_the_test_leaked() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with open_workspace(tmp_path) as w:
        yield w


@pytest.fixture
def project(ws: Workspace) -> Project:
    p = ws.create_project("support", SCHEMA, overlap=1, guidelines="# Rules\nBe careful.")
    p.import_records(make_items(20))
    return p


@pytest.fixture
def users(ws: Workspace, project: Project) -> dict[str, User]:
    out = {}
    for name, role in [
        ("admin", "admin"),
        ("manager", "manager"),
        ("reviewer", "reviewer"),
        ("ann1", "annotator"),
        ("ann2", "annotator"),
    ]:
        u = ws.add_user(name, PASSWORD, role=role)
        project.add_member(u, role)
        out[name] = u
    return out


@pytest.fixture
def app(ws: Workspace) -> Any:
    return create_app(ws)


@pytest.fixture
def client_for(app: Any, ws: Workspace, users: dict[str, User]) -> Any:
    """client_for("ann1") → a TestClient authenticated with that user's API token."""

    def make(name: str) -> TestClient:
        token = ws.create_token(users[name])
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every address the fetcher connects to (and lets loopback through)."""
    from truelabel.net import fetch as fetch_mod

    seen: list[str] = []
    real = fetch_mod._connect

    def record(backend: Any, ip: Any, port: int, **kw: Any) -> Any:
        seen.append(f"{ip}:{port}")
        assert ip.is_loopback, f"a test tried to reach {ip}"
        return real(backend, ip, port, **kw)

    monkeypatch.setattr(fetch_mod, "_connect", record)
    return seen
