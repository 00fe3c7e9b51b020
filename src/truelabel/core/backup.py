"""Backup and restore of a whole workspace, consistent while the server runs.

A backup is one ``.tar.gz``: ``manifest.json`` (format, schema revision, row counts, time),
``tables/NNN-<table>.jsonl`` read in a single database snapshot, and ``blobs/`` (immutable,
content-addressed files, copied after the snapshot so every referenced blob is present).
It is backend-neutral: a SQLite workspace restores into PostgreSQL and the other way round.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from truelabel import __version__
from truelabel.domain.errors import InvalidInput, ProjectError
from truelabel.store import dump

from .workspace import DB_FILE, Workspace

FORMAT = "truelabel-backup/1"


def backup(ws: Workspace, out: str | Path) -> dict[str, Any]:
    """Write a consistent backup of ``ws`` to ``out`` (atomically: temp file, then rename)."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InvalidInput(f"Folder {target.parent} does not exist; create it first.")
    counts: Counter[str] = Counter()
    started = time.time()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            with ws.db.read() as conn:  # one snapshot for every table
                order = dump.table_order()
                buffers: dict[str, io.BytesIO] = {}
                for table, rows in dump.snapshot(conn):
                    buf = buffers.setdefault(table, io.BytesIO())
                    buf.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
                    counts[table] += len(rows)
                    if buf.tell() > 16 << 20:  # flush big tables as numbered parts
                        _add(tar, f"tables/{order.index(table):03d}-{table}."
                                  f"{counts[table]:012d}.jsonl", buf.getvalue())
                        buffers[table] = io.BytesIO()
                for table, buf in buffers.items():
                    _add(tar, f"tables/{order.index(table):03d}-{table}.zzzz.jsonl",
                         buf.getvalue())
                revision = conn.exec_driver_sql(
                    "SELECT version_num FROM alembic_version").scalar()
            n_blobs = 0
            fs, root = ws.blobs.fs, ws.blobs.root
            if fs.exists(root):
                for path in sorted(fs.find(root)):
                    if path.endswith(".tmp"):
                        continue
                    rel = path[len(root):].lstrip("/")
                    with fs.open(path, "rb") as fh:
                        _add(tar, f"blobs/{rel}", fh.read())
                    n_blobs += 1
            manifest = {"format": FORMAT, "truelabel": __version__, "revision": revision,
                        "created_at": started, "tables": dict(counts), "blobs": n_blobs}
            _add(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def restore(archive: str | Path, location: str | Path, *, blob_url: str | None = None
            ) -> dict[str, Any]:
    """Restore a backup into a new folder, or into an empty database at a URL."""
    src = Path(archive)
    if not src.is_file():
        raise InvalidInput(f"{src} is not a file.")
    loc = str(location)
    if "://" not in loc:
        folder = Path(loc)
        if (folder / DB_FILE).exists() or (folder.exists() and any(folder.iterdir())):
            raise InvalidInput(f"{folder} is not empty; restore into a new folder so nothing "
                               "is overwritten.")
    try:
        tar = tarfile.open(src, "r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput(f"{src} is not a truelabel backup ({exc}).") from None
    with tar:
        members = {m.name: m for m in tar.getmembers()}
        for name, m in members.items():  # no traversal, links or devices: plain files only
            if not m.isfile() or name.startswith("/") or ".." in Path(name).parts:
                raise InvalidInput(f"{src} holds an unsafe entry {name!r}; refusing it.")
        if "manifest.json" not in members:
            raise InvalidInput(f"{src} has no manifest.json; it is not a truelabel backup.")
        manifest = json.loads(_read(tar, members["manifest.json"]))
        if manifest.get("format") != FORMAT:
            raise InvalidInput(f"{src} is format {manifest.get('format')!r}; this truelabel "
                               f"reads {FORMAT}.")
        ws = Workspace.init(loc) if "://" not in loc else Workspace.open(loc, blob_url=blob_url)
        try:
            with ws.db.write() as conn:
                if not dump.is_empty(conn) and "://" in loc:
                    raise InvalidInput(f"The database at {loc} is not empty; restore into an "
                                       "empty one.")
                from sqlalchemy import text

                conn.execute(text("DELETE FROM settings"))  # the backup's secret key wins
                for name in sorted(n for n in members if n.startswith("tables/")):
                    table = name.split("/", 1)[1].split("-", 1)[1].split(".", 1)[0]
                    rows = [orjson.loads(x) for x in _read(tar, members[name]).splitlines()
                            if x]
                    for k in range(0, len(rows), 5000):
                        dump.load(conn, table, rows[k:k + 5000])
                dump.reset_sequences(conn)
                problems = dump.integrity_errors(conn)
                if problems:
                    raise ProjectError("The restored data fails its integrity check: "
                                       + "; ".join(problems))
            for name, m in members.items():
                if name.startswith("blobs/"):
                    data = _read(tar, m)
                    if ws.blobs.put(data) != Path(name).name:
                        raise ProjectError(f"Blob {name} does not match its content hash; "
                                           "the backup is damaged.")
        finally:
            ws.close()
    return manifest


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        raise InvalidInput(f"Cannot read {member.name} from the backup.")
    return fh.read()


def check(ws: Workspace) -> list[str]:
    """Integrity problems of a live workspace (empty list: healthy)."""
    with ws.db.read() as conn:
        return dump.integrity_errors(conn)
