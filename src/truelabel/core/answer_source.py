"""Where ``truelabel agreement`` and ``aggregate`` read answers from: an answers file, or a
project — its workspace (folder or database URL, ``-p`` when it holds several) or a running
server (``http(s)://…`` and an API token) — whose long answers export (one row per item,
field, annotator and label) is written to a temporary folder for the command and removed
afterwards.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from truelabel.domain.errors import InvalidInput, TruelabelError

from .workspace import Workspace

__all__ = ["answers_input"]

TIMEOUT = 600.0
"""Seconds a server has to send the answers export."""


@contextmanager
def answers_input(source: str, *, project: str | None = None,
                  token: str | None = None) -> Iterator[str]:
    """The path of the answers ``source`` names, for as long as the block runs.

    A file is itself. A server URL is asked for its project's answers export
    (``GET /api/projects/{project}/export?format=answers`` with ``token``); anything else is
    opened as a workspace and its project exported. ``project`` may be left out when there is
    only one.
    """
    if source.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(prefix="tl-answers-") as folder:
            path = Path(folder) / "answers.csv"
            _download(source.rstrip("/"), project, token, path)
            with _named(path, f"the answers of {source}"):
                yield str(path)
        return
    local = Path(source)
    if local.is_file() or (not local.exists() and "://" not in source):
        if project is not None:
            raise InvalidInput(f"{source} is a file; --project names a project of a workspace "
                               "folder or server. Leave it out.", field="project")
        yield source  # a missing file is reported by the reader, with its name
        return
    with Workspace.open(source) as ws, tempfile.TemporaryDirectory(prefix="tl-answers-") as d:
        path = Path(d) / "answers.csv"
        p = ws.project(project)
        p.export(path, fmt="answers")
        with _named(path, f"the answers of project {p.name!r}"):  # (a URL may hold a password)
            yield str(path)


@contextmanager
def _named(path: Path, name: str) -> Iterator[None]:
    """Errors that name the temporary answers file name what it holds instead."""
    try:
        yield
    except TruelabelError as exc:
        if str(path) not in exc.message:
            raise
        detail = {k: (name if v == str(path) else v) for k, v in exc.detail.items()}
        raise type(exc)(exc.message.replace(str(path), name), **detail) from None


def _get(url: str, token: str | None, path: Path | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                 if token else {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 (http/https)
            if path is None:
                return bytes(resp.read())
            with path.open("wb") as fh:
                while block := resp.read(1 << 20):
                    fh.write(block)
            return b""
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read())["error"]["message"]
        except Exception:
            detail = exc.reason
        hint = (" Pass an API token with --token (or TRUELABEL_TOKEN)."
                if exc.code == 401 else "")
        raise InvalidInput(f"{url} answered {exc.code}: {detail}.{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InvalidInput(f"Cannot reach {url} ({exc}); check the address and that the "
                           "server runs.") from None


def _download(base: str, project: str | None, token: str | None, path: Path) -> None:
    if project is None:
        names = [p["name"] for p in json.loads(_get(f"{base}/api/projects", token))]
        if len(names) != 1:
            raise InvalidInput(f"{base} has {len(names)} projects you can see ({names}); name "
                               "one with --project.", field="project")
        project = names[0]
    quoted = urllib.parse.quote(project, safe="")
    _get(f"{base}/api/projects/{quoted}/export?format=answers", token, path)
