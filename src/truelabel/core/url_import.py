"""Content from outside: import items from a URL (SSRF-safe) and project media blobs.

- :func:`import_url` downloads with :func:`truelabel.net.safe_fetch` into a temporary file and
  imports it like an upload (all or nothing, no duplicates). Addresses inside the network are
  refused unless the workspace allow-list (setting ``url_allowlist``, JSON list, set by an
  admin with :func:`set_url_allowlist`) admits them.
- :func:`put_media` / :func:`get_media`: files in the workspace's content-addressed blob
  store, owned per project (the ``media`` table records which project may serve which blob).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol

from truelabel.domain.errors import Forbidden, InvalidInput, NotFound, UnknownComponent
from truelabel.domain.limits import MAX_ITEM_BYTES
from truelabel.domain.models import ImportResult, User
from truelabel.formats.readers import READERS, detect_format
from truelabel.net import AllowList, MediaType, check_url, media_type, safe_fetch
from truelabel.store import media as media_store
from truelabel.store import projects as project_store

from . import transfer

if TYPE_CHECKING:
    from typing import IO

    from .context import ProjectContext, WorkspaceView

    class ImportTarget(Protocol):
        """What a URL import needs of its project (``Project``)."""

        ws: WorkspaceView

        def require(self, actor: User | None, permission: str) -> Any: ...
        def import_stream(
            self, fh: IO[bytes], *, source: str, fmt: str | None, id_field: str | None,
            actor: User | None, progress: transfer.ProgressFn | None, total_bytes: int | None,
            max_item_bytes: int, dedup: str, on_conflict: str,
        ) -> ImportResult: ...

URL_ALLOWLIST = "url_allowlist"
MAX_URL_BYTES = 2 << 30  # same cap as an upload
URL_TIMEOUT = 15 * 60.0  # whole download, all redirects
MAX_MEDIA_BYTES = 100 << 20

_CONTENT_TYPES = {
    "application/jsonl": "jsonl",
    "application/x-jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/ndjson": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "text/plain": "text",
}


# -- the allow-list -------------------------------------------------------------------------
def get_url_allowlist(ws: WorkspaceView, *, actor: User | None = None) -> list[str]:
    """The allow-list entries (admins only when ``actor`` is given)."""
    _require_admin(actor)
    return list(_allowlist(ws).entries)


def set_url_allowlist(
    ws: WorkspaceView, entries: list[str], *, actor: User | None = None
) -> list[str]:
    """Replace the allow-list; every entry is checked first. Audited."""
    _require_admin(actor)
    parsed = AllowList.parse(entries)
    with ws.db.write() as conn:
        before = project_store.get_setting(conn, URL_ALLOWLIST)
        project_store.set_setting(conn, URL_ALLOWLIST, json.dumps(list(parsed.entries)))
        project_store.audit(
            conn,
            at=time.time(),
            user_id=actor.id if actor else None,
            action="settings.url_allowlist",
            object_type="setting",
            object_id=URL_ALLOWLIST,
            detail={"before": json.loads(before) if before else [], "after": list(parsed.entries)},
        )
    return list(parsed.entries)


def _allowlist(ws: WorkspaceView) -> AllowList:
    with ws.db.read() as conn:
        raw = project_store.get_setting(conn, URL_ALLOWLIST)
    return AllowList.parse(json.loads(raw) if raw else [])


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only an admin can see or change the URL allow-list.")


# -- URL import -------------------------------------------------------------------------------
def import_url(
    project: ImportTarget,
    url: str,
    *,
    actor: User | None,
    fmt: str | None = None,
    id_field: str | None = "id",
    allow: list[str] | AllowList | None = None,
    max_bytes: int = MAX_URL_BYTES,
    timeout: float = URL_TIMEOUT,
    progress: transfer.ProgressFn | None = None,
    max_item_bytes: int = MAX_ITEM_BYTES,
    dedup: str = "content",
    on_conflict: str = "fail",
) -> ImportResult:
    """Download ``url`` and import it. ``allow`` defaults to the workspace allow-list.

    The format is ``fmt``, else the suffix of the final URL's path, else its Content-Type.
    """
    project.require(actor, "items.import")  # before any network traffic
    if fmt:
        detect_format("", fmt)  # unknown format names fail before the download
    allowed = _allowlist(project.ws) if allow is None else AllowList.parse(allow)
    with safe_fetch(url, allow=allowed, max_bytes=max_bytes, timeout=timeout) as got:
        source = source_label(got.final_url)
        return project.import_stream(
            got.file,
            source=source,
            fmt=_format(got.final_url, got.content_type, fmt),
            id_field=id_field,
            actor=actor,
            progress=progress,
            total_bytes=got.size,
            max_item_bytes=max_item_bytes,
            dedup=dedup,
            on_conflict=on_conflict,
        )


def precheck_url(ws: WorkspaceView, url: str) -> None:
    """Check the URL itself (scheme, spelling, a literal address) without DNS or traffic."""
    check_url(url, allow=_allowlist(ws), resolve=False)


def source_label(url: str) -> str:
    """The URL without query string and fragment (they may carry signed tokens)."""
    p = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))


def _format(url: str, content_type: str, fmt: str | None) -> str:
    if fmt:
        return detect_format("", fmt)
    try:
        return detect_format(urllib.parse.urlsplit(url).path)
    except UnknownComponent:
        pass
    if content_type in _CONTENT_TYPES:
        return _CONTENT_TYPES[content_type]
    raise UnknownComponent(
        f"Cannot tell the format of {source_label(url)} from its name or its Content-Type "
        f"({content_type or 'none'}); pass the format (one of {sorted(READERS)}).",
        known=sorted(READERS),
    )


# -- media ----------------------------------------------------------------------------------
def put_media(project: ProjectContext, data: bytes, *, actor: User | None) -> dict[str, Any]:
    """Store a file for ``project``; return its id (SHA-256), type and size."""
    project.require(actor, "items.import")
    if not data:
        raise InvalidInput("The file is empty.")
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidInput(f"Media files are limited to {MAX_MEDIA_BYTES >> 20} MiB.")
    digest = project.ws.blobs.put(data)
    mt = media_type(data[:4096])
    now = time.time()
    with project.db.write() as conn:
        if media_store.add(conn, project_id=project.id, digest=digest, size=len(data),
                           content_type=mt.content_type,
                           user_id=actor.id if actor else None, now=now):
            project_store.audit(
                conn,
                at=now,
                user_id=actor.id if actor else None,
                action="media.upload",
                object_type="blob",
                object_id=digest,
                detail={"project_id": project.id, "size": len(data), "type": mt.content_type},
            )
    return {"digest": digest, "content_type": mt.content_type, "size": len(data)}


def get_media(
    project: ProjectContext, digest: str, *, actor: User | None
) -> tuple[bytes, MediaType]:
    """A file of ``project`` and its sniffed type. Another project's blob is NotFound."""
    project.require(actor, "project.read")
    missing = NotFound(f"No media {digest[:80]!r} in this project.")
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise missing
    with project.db.read() as conn:
        owned = media_store.owns(conn, project_id=project.id, digest=digest)
    if not owned:
        raise missing
    try:
        data = project.ws.blobs.get(digest)
    except NotFound:
        raise missing from None
    return data, media_type(data[:4096])
