"""Backup and restore of a whole workspace, consistent while the server runs.

A backup is one ``.tar.gz``: ``tables/NNN-<table>.<part>.jsonl`` read in a single database
snapshot (in load order: a table's parts, then the next table), ``blobs/`` (immutable,
content-addressed files, copied after the snapshot so every referenced blob is present) and,
last, ``manifest.json`` (format, schema revision, row counts, time, and every member's size
and the SHA-256 of each table part). It is backend-neutral: a SQLite workspace restores into
PostgreSQL and the other way round.

Restore checks before anything becomes visible, and leaves nothing behind on any error:

1. every entry is a plain file with an expected name (no ``..``, absolute names, links or
   devices), and the entries, their sizes and the blob count agree with the manifest;
2. a folder target is built in a temporary sibling folder and renamed into place only at
   the end; a database URL target is loaded in one transaction (the schema too), rolled back
   on error, and blobs written for it are deleted again;
3. members are streamed (tables line by line, blobs in 1 MiB chunks): memory does not grow
   with the archive; each table part's hash, each blob's hash (while it is copied), the row
   counts and the database's integrity are checked before the commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import orjson

from truelabel import __version__
from truelabel.domain.environment import BLOB_URL
from truelabel.domain.errors import DigestMismatch, InvalidInput, ProjectError
from truelabel.domain.results import BackupManifest
from truelabel.store import dump
from truelabel.store.blobs import BlobStore
from truelabel.store.db import Connection, Database, upgrade

from .workspace import Workspace

FORMAT = "truelabel-backup/1"
MAX_MANIFEST = 16 << 20  # bytes of manifest.json
MAX_ROW = 64 << 20  # bytes of one table row (one JSONL line)
_BATCH_ROWS, _BATCH_BYTES = 5_000, 16 << 20  # rows loaded per INSERT
_PART_BYTES = 16 << 20  # a table is written in parts of about this size
_TABLE_NAME = re.compile(r"^tables/(\d{3})-([a-z_]+)\.(\d{12}|zzzz)\.jsonl$")
_BLOB_NAME = re.compile(r"^blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_AGAIN = "Nothing was restored; make a new backup with truelabel backup, or use another copy."


# -- backup -------------------------------------------------------------------------------
def backup(ws: Workspace, out: str | Path) -> BackupManifest:
    """Write a consistent backup of ``ws`` to ``out`` (atomically: temp file, then rename).

    The file is created readable by its owner only (0600).
    """
    target = Path(out)
    if not target.parent.is_dir():
        raise InvalidInput(f"Folder {target.parent} does not exist; create it first.")
    counts: Counter[str] = Counter()
    members: dict[str, dict[str, Any]] = {}
    started = time.time()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # mode 0600
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            with ws.db.read() as conn:  # one snapshot for every table
                order = dump.table_order()
                current, buf = "", io.BytesIO()

                def flush(table: str, part: str) -> None:
                    name = f"tables/{order.index(table):03d}-{table}.{part}.jsonl"
                    data = buf.getvalue()
                    _add(tar, name, data)
                    members[name] = {"size": len(data),
                                     "sha256": hashlib.sha256(data).hexdigest()}

                # snapshot yields one table after another, so the archive is in load order
                for table, rows in dump.snapshot(conn):
                    if table != current:
                        if current:
                            flush(current, "zzzz")
                        current, buf = table, io.BytesIO()
                    buf.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
                    counts[table] += len(rows)
                    if buf.tell() > _PART_BYTES:  # big tables go as numbered parts
                        flush(table, f"{counts[table]:012d}")
                        buf = io.BytesIO()
                if current:
                    flush(current, "zzzz")
                revision = dump.revision(conn)
            n_blobs = 0
            fs, root = ws.blobs.fs, ws.blobs.root
            if fs.exists(root):
                for path in sorted(fs.find(root)):
                    if path.endswith(".tmp"):
                        continue
                    name = "blobs/" + path[len(root):].lstrip("/")
                    if not _BLOB_NAME.match(name):
                        continue  # not a blob (a stray file in the folder): restore refuses it
                    info = tarfile.TarInfo(name)
                    info.size = int(fs.size(path))
                    info.mtime = int(time.time())
                    info.mode = 0o600
                    with fs.open(path, "rb") as fh:  # streamed, never read whole
                        tar.addfile(info, fh)
                    members[name] = {"size": info.size}
                    n_blobs += 1
            manifest: BackupManifest = {
                "format": FORMAT, "truelabel": __version__, "revision": revision,
                "created_at": started, "tables": dict(counts), "blobs": n_blobs,
                "members": members}
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
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# -- restore ------------------------------------------------------------------------------
def restore(archive: str | Path, location: str | Path, *, blob_url: str | None = None
            ) -> BackupManifest:
    """Restore a backup into a new folder, or into an empty database at a URL.

    Everything is checked before the result becomes visible; on any error nothing is left
    behind (no folder, no rows, no blobs) and the error says what was wrong.
    """
    src = Path(archive)
    if not src.is_file():
        raise InvalidInput(f"{src} is not a file; give the .tar.gz that truelabel backup wrote.")
    loc = str(location)
    folder = None if "://" in loc else Path(loc)
    if folder is not None:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InvalidInput(f"{folder} is not empty; restore into a new folder so nothing "
                               "is overwritten.")
        if not folder.absolute().parent.is_dir():
            raise InvalidInput(f"Folder {folder.absolute().parent} does not exist; create it "
                               "first.")
    try:
        tar = tarfile.open(src, "r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{src} is not a truelabel backup ({exc}). {_AGAIN}") from None
    with tar:
        plan = _inspect(src, tar)
        if folder is not None:
            _restore_folder(src, tar, plan, folder)
        else:
            _restore_url(src, tar, plan, loc, blob_url)
    return cast(BackupManifest, plan.manifest)  # checked in _inspect


class _Plan:
    """What the archive holds, checked against its manifest before anything is written."""

    def __init__(self, manifest: dict[str, Any], tables: list[tarfile.TarInfo],
                 blobs: list[tarfile.TarInfo]) -> None:
        self.manifest = manifest
        self.tables = tables
        self.blobs = blobs
        self.total = sum(m.size for m in tables + blobs)


def _inspect(src: Path, tar: tarfile.TarFile) -> _Plan:
    try:
        entries = tar.getmembers()  # streams through the archive; reads headers only
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{src} is damaged or cut short ({exc}). {_AGAIN}") from None
    known = set(dump.table_order())
    seen: set[str] = set()
    tables, blobs, manifest_entry = [], [], None
    for m in entries:  # plain files with expected names only: no traversal, links, devices
        name = m.name
        if not m.isreg():
            kind = ("a link" if m.issym() or m.islnk() else "a folder" if m.isdir()
                    else "a device or other special file")
            raise InvalidInput(f"{src} holds an unsafe entry {name!r} ({kind}); refusing it. "
                               f"{_AGAIN}", entry=name)
        if name in seen:
            raise InvalidInput(f"{src} holds the entry {name!r} twice; refusing it. {_AGAIN}",
                               entry=name)
        seen.add(name)
        t, b = _TABLE_NAME.match(name), _BLOB_NAME.match(name)
        if name == "manifest.json":
            manifest_entry = m
        elif t and t.group(2) in known:
            tables.append(m)
        elif b and b.group(3).startswith(b.group(1) + b.group(2)):
            blobs.append(m)
        elif name.startswith("/") or ".." in name.split("/") or "\\" in name or "\0" in name:
            raise InvalidInput(f"{src} holds an unsafe entry {name!r} (a path outside the "
                               f"backup); refusing it. {_AGAIN}", entry=name)
        else:
            raise InvalidInput(f"{src} holds an unexpected entry {name!r}; refusing it. "
                               f"{_AGAIN}", entry=name)
    if manifest_entry is None:
        raise InvalidInput(f"{src} has no manifest.json; it is not a truelabel backup.")
    if manifest_entry.size > MAX_MANIFEST:
        raise InvalidInput(f"{src} has a manifest of {manifest_entry.size:,} bytes (at most "
                           f"{MAX_MANIFEST:,}); it is not a truelabel backup.")
    try:
        manifest = json.loads(_open(tar, manifest_entry).read(MAX_MANIFEST))
    except ValueError:
        raise InvalidInput(f"{src} has a manifest.json that is not JSON. {_AGAIN}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise InvalidInput(f"{src} is format {got!r}; this truelabel reads {FORMAT}.")
    if not isinstance(manifest.get("tables"), dict) or not all(
        isinstance(v, int) and v >= 0 for v in manifest["tables"].values()
    ):
        raise InvalidInput(f"{src} has a manifest without row counts. {_AGAIN}")
    if manifest.get("blobs") != len(blobs):
        raise InvalidInput(f"{src} holds {len(blobs)} blobs but its manifest lists "
                           f"{manifest.get('blobs')!r}; the backup is damaged. {_AGAIN}")
    listed = manifest.get("members")
    if listed is not None:  # backups since issue 10 list every member with its size
        if not isinstance(listed, dict):
            raise InvalidInput(f"{src} has a manifest with a bad member list. {_AGAIN}")
        present = {m.name: m for m in tables + blobs}
        missing, extra = sorted(set(listed) - set(present)), sorted(set(present) - set(listed))
        if missing or extra:
            raise InvalidInput(
                f"{src} does not hold what its manifest lists (missing: {missing[:3]}, not "
                f"listed: {extra[:3]}); the backup is damaged. {_AGAIN}")
        for name, m in present.items():
            want = listed[name].get("size") if isinstance(listed[name], dict) else None
            if want != m.size:
                raise InvalidInput(f"{src}: entry {name!r} is {m.size:,} bytes but the manifest "
                                   f"says {want!r}; the backup is damaged. {_AGAIN}",
                                   entry=name)
    tables.sort(key=lambda m: m.name)  # load order (new backups are written in it)
    return _Plan(manifest, tables, blobs)


def _restore_folder(src: Path, tar: tarfile.TarFile, plan: _Plan, folder: Path) -> None:
    parent = folder.absolute().parent
    free = shutil.disk_usage(parent).free
    if plan.total > free:
        raise InvalidInput(f"{src} unpacks to {plan.total:,} bytes but {parent} has {free:,} "
                           "bytes free; free some space or restore elsewhere.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.restoring-", dir=parent))  # 0700
    try:
        ws = Workspace.init(tmp)
        try:
            _load(src, tar, plan, ws.db, ws.blobs)
        finally:
            ws.close()
        try:
            os.rename(tmp, folder)  # visible only now, whole
        except OSError as exc:
            raise InvalidInput(f"Could not move the restored workspace into {folder} ({exc}); "
                               "restore into a new folder.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _restore_url(src: Path, tar: tarfile.TarFile, plan: _Plan, url: str,
                 blob_url: str | None) -> None:
    sqlite_file = dump.sqlite_file(url)
    created = bool(sqlite_file) and not Path(str(sqlite_file)).exists()
    db = Database.open(url, migrate=False)
    blobs = BlobStore(blob_url or BLOB_URL.read()
                      or str(Path.cwd() / "truelabel-blobs"))
    ok = False
    try:
        _load(src, tar, plan, db, blobs, target=url)
        ok = True
    finally:
        db.dispose()
        if created and not ok:  # a SQLite file this restore made: leave none behind
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)


def _load(src: Path, tar: tarfile.TarFile, plan: _Plan, db: Database, blobs: BlobStore,
          *, target: str | None = None) -> None:
    """Schema, rows and blobs in one transaction; committed only if every check passes."""
    written: list[str] = []  # blobs this restore added (removed again on failure)
    try:
        with db.write() as conn:
            upgrade(conn)  # no-op on a fresh workspace; a URL's schema joins the transaction
            if target is not None and not dump.is_empty(conn):
                raise InvalidInput(f"The database at {target} is not empty; restore into an "
                                   "empty one.")
            dump.clear(conn, "settings")  # the backup's secret key wins
            counts = _load_tables(src, tar, plan, conn)
            expected = {k: v for k, v in plan.manifest["tables"].items() if v}
            if {k: v for k, v in counts.items() if v} != expected:
                raise InvalidInput(f"{src} holds other row counts than its manifest lists "
                                   f"({dict(counts)} vs {expected}); the backup is damaged. "
                                   f"{_AGAIN}")
            dump.reset_sequences(conn)
            problems = dump.integrity_errors(conn)
            if problems:
                raise ProjectError("The restored data fails its integrity check: "
                                   + "; ".join(problems) + f". {_AGAIN}")
            for m in plan.blobs:
                digest = Path(m.name).name
                existed = blobs.exists(digest)
                try:
                    blobs.put_stream(_open(tar, m), expect=digest)
                except DigestMismatch:
                    raise InvalidInput(f"Blob {m.name} in {src} does not match its content "
                                       f"hash; the backup is damaged. {_AGAIN}") from None
                if not existed:
                    written.append(digest)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        _forget(blobs, written)
        raise InvalidInput(f"{src} is damaged or cut short ({exc}). {_AGAIN}") from None
    except BaseException:
        _forget(blobs, written)
        raise


def _load_tables(src: Path, tar: tarfile.TarFile, plan: _Plan, conn: Connection
                 ) -> Counter[str]:
    listed = plan.manifest.get("members") or {}
    counts: Counter[str] = Counter()
    for m in plan.tables:
        match = _TABLE_NAME.match(m.name)
        assert match is not None  # checked in _inspect
        table = match.group(2)
        want = (listed.get(m.name) or {}).get("sha256")
        digest = hashlib.sha256()
        for rows in _batches(src, _open(tar, m), m.name, digest):
            counts[table] += len(rows)
            try:
                dump.load(conn, table, rows)
            except (ProjectError, ValueError, TypeError) as exc:  # dump.load: rows refused
                cause = (exc.detail.get("cause") if isinstance(exc, ProjectError)
                         else None) or type(exc).__name__
                raise ProjectError(
                    f"Rows of table {table} in {src} do not fit this truelabel's schema "
                    f"(backup revision {plan.manifest.get('revision')!r}; "
                    f"{cause}). Restore with the truelabel version that made it, "
                    f"or use another backup.") from None
        if want is not None and digest.hexdigest() != want:
            raise InvalidInput(f"Entry {m.name} of {src} does not match its hash in the "
                               f"manifest; the backup is damaged. {_AGAIN}")
    return counts


def _batches(src: Path, fh: IO[bytes], name: str, digest: Any) -> Iterator[list[dict[str, Any]]]:
    """Rows of one JSONL member, a bounded batch at a time (never the member whole)."""
    rows: list[dict[str, Any]] = []
    size = 0
    while line := fh.readline(MAX_ROW + 1):
        digest.update(line)
        if len(line) > MAX_ROW:
            raise InvalidInput(f"{src}: a row of {name} is longer than {MAX_ROW:,} bytes; the "
                               f"backup is damaged. {_AGAIN}", entry=name)
        if line.strip():
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise InvalidInput(f"{src}: {name} holds a line that is not JSON; the backup "
                                   f"is damaged. {_AGAIN}", entry=name) from None
            if not isinstance(row, dict):
                raise InvalidInput(f"{src}: {name} holds a line that is not a row. {_AGAIN}",
                                   entry=name)
            rows.append(row)
            size += len(line)
        if len(rows) >= _BATCH_ROWS or size >= _BATCH_BYTES:
            yield rows
            rows, size = [], 0
    if rows:
        yield rows


def _open(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    fh = tar.extractfile(member)
    if fh is None:
        raise InvalidInput(f"Cannot read {member.name} from the backup.")
    return fh


def _forget(blobs: BlobStore, digests: list[str]) -> None:
    for d in digests:
        blobs.delete(d)


def check(ws: Workspace) -> list[str]:
    """Integrity problems of a live workspace (empty list: healthy)."""
    with ws.db.read() as conn:
        return dump.integrity_errors(conn)

