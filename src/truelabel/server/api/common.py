"""Helpers shared by the API routers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from truelabel.core import Project, Workspace
from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import User


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def project_for(request: Request, ref: str, user: User) -> Project:
    """The project named ``ref`` if ``user`` may see it (404 otherwise)."""
    return workspace(request).project(ref, actor=user)


def project_for_task(request: Request, ref: str) -> Project:
    return loop_project(workspace(request), ref)


def loop_project(ws: Workspace, ref: str) -> Project:
    """The project for the annotators' loop: resolved by name only, because every Project
    method these routes call checks the caller's role first (non-members get the same 404)."""
    if ref.isascii() and ref.isdecimal():
        return ws.project(int(ref))
    return ws.project_by_name(ref)


def parse_meta(text: str | None) -> dict[str, Any] | None:
    """An import's slice metadata, given as a JSON object in a form field."""
    if not text:
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise InvalidInput(
            'meta must be a JSON object of short values, e.g. {"language": "en"}.', field="meta"
        )
    return meta
