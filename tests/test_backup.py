"""Backup while annotators work, restore elsewhere, integrity holds."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from helpers import PG_URL
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.backup import backup, check, restore
from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import User


def test_backup_during_load_restores_consistently(ws: Workspace, project: Project,
                                                  users: dict[str, User],
                                                  tmp_path: Path) -> None:
    project.import_records([{"id": f"b{i}", "text": f"backup {i}"} for i in range(300)])
    digest = ws.blobs.put(b"a media file")
    stop = threading.Event()
    errors: list[BaseException] = []

    def annotate(user: User) -> None:
        try:
            while not stop.is_set():
                t = project.next_task(user)
                if t is None:
                    return
                project.submit(t.id, {"intent": "refund"}, user)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(users[n],))
               for n in ("ann1", "ann2", "manager", "reviewer")]
    for t in threads:
        t.start()
    time.sleep(0.3)
    before = project.status()["submitted"]
    manifest = backup(ws, tmp_path / "b.tar.gz")
    after = project.status()["submitted"]
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert before <= manifest["tables"]["annotations"] <= after
    restored_at = tmp_path / "restored"
    restore(tmp_path / "b.tar.gz", restored_at)
    with Workspace.open(restored_at) as r:
        assert check(r) == []
        rp = r.project("support")
        st = rp.status()
        assert before <= st["submitted"] <= after
        assert st["items"] == project.status()["items"]
        assert r.blobs.get(digest) == b"a media file"
        # every restored annotation exists, unchanged, in the live project
        live = {a["id"]: a["value"] for i in range(1, 400) for a in project.annotations(i)}
        for i in range(1, 400):
            for a in rp.annotations(i):
                assert live[a["id"]] == a["value"]
        # logins survive the restore (same hashes, same secret key)
        assert r.authenticate("ann1", "correct-horse-1").username == "ann1"
        assert r.secret_key == ws.secret_key
        # ids continue after the restored rows
        t = rp.next_task(r.get_user("ann2"))
        if t is not None:
            rp.submit(t.id, {"intent": "other"}, r.get_user("ann2"))


def test_restore_refuses_non_empty_target_and_unsafe_archives(ws: Workspace, project: Project,
                                                              tmp_path: Path) -> None:
    backup(ws, tmp_path / "ok.tar.gz")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("keep me")
    with pytest.raises(InvalidInput, match="not empty"):
        restore(tmp_path / "ok.tar.gz", busy)
    assert (busy / "something").read_text() == "keep me"

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps({"format": "truelabel-backup/1"})),
                           ("../../escape.txt", "pwned")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data.encode()))
    with pytest.raises(InvalidInput, match="unsafe entry"):
        restore(evil, tmp_path / "t1")
    assert not (tmp_path.parent / "escape.txt").exists()
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(InvalidInput, match="not a truelabel backup"):
        restore(junk, tmp_path / "t2")


def test_cli_backup_restore_check(ws: Workspace, project: Project, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from truelabel.cli.main import main

    if "://" in ws.location:
        loc = ws.location
    else:
        loc = str(Path(ws.location))
    runner = CliRunner()
    r = runner.invoke(main, ["backup", loc, str(tmp_path / "c.tar.gz")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["restore", str(tmp_path / "c.tar.gz"), str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["check", str(tmp_path / "c")])
    assert r.exit_code == 0 and "OK" in r.output


# -- restore checks everything before anything is visible (issue 10) -------------------------
Change = Callable[[tarfile.TarInfo, bytes], list[tuple[tarfile.TarInfo, Any]]]


def _rewrite(src: Path, dst: Path, change: Change, *, manifest: Callable[[dict], dict] | None
             = None) -> Path:
    """Copy a backup member by member through ``change`` (which may add, drop or alter)."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz", compresslevel=1) as tout:
        for m in tin.getmembers():
            fh = tin.extractfile(m)
            data = fh.read() if fh else b""
            if m.name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
                m.size = len(data)
            for info, body in change(m, data):
                if body is None:  # the header alone
                    tout.addfile(info)
                else:
                    tout.addfile(info, io.BytesIO(body) if isinstance(body, bytes) else body)
    return dst


def _entry(name: str, data: bytes = b"", **kw: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    return info


class _Zeros(io.RawIOBase):
    """``n`` zero bytes, produced as they are read (a big member without a big buffer)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


@pytest.fixture
def good_backup(ws: Workspace, project: Project, tmp_path: Path) -> Path:
    project.import_records([{"id": f"g{i}", "text": f"restore {i}"} for i in range(50)])
    ws.blobs.put(b"a media file")
    ws.blobs.put(b"another media file")
    backup(ws, tmp_path / "good.tar.gz")
    return tmp_path / "good.tar.gz"


def _blob_tamper(m: tarfile.TarInfo, data: bytes) -> list[tuple[tarfile.TarInfo, Any]]:
    if m.name.startswith("blobs/"):
        data = bytes(len(data))  # same size, other bytes: only the hash can tell
    return [(m, data)]


def _traversal(m: tarfile.TarInfo, data: bytes) -> list[tuple[tarfile.TarInfo, Any]]:
    out = [(m, data)]
    if m.name == "manifest.json":
        out.insert(0, (_entry("../x", b"pwned"), b"pwned"))
    return out


def _special(kind: bytes) -> Change:
    def change(m: tarfile.TarInfo, data: bytes) -> list[tuple[tarfile.TarInfo, Any]]:
        out = [(m, data)]
        if m.name == "manifest.json":
            odd = _entry("tables/000-users.zzzz.jsonl", type=kind, linkname="/etc/passwd")
            out.insert(0, (odd, b""))
        return out
    return change


def _huge_header(m: tarfile.TarInfo, data: bytes) -> list[tuple[tarfile.TarInfo, Any]]:
    if m.name == "manifest.json":  # a header claiming 1 TiB, followed by nothing
        return [(_entry("blobs/ab/cd/ab" + "cd" * 31, size=1 << 40), None)]
    return [(m, data)]


@pytest.mark.parametrize(
    "how,words",
    [
        ("truncated", "damaged or cut short"),
        ("tampered_blob", "does not match its content hash"),
        ("traversal", "unsafe entry '../x'"),
        ("symlink", "(a link)"),
        ("hardlink", "(a link)"),
        ("device", "(a device or other special file)"),
        ("folder", "(a folder)"),
        ("huge_header", "damaged or cut short"),
        ("extra_member", "does not hold what its manifest lists"),
        ("row_count", "other row counts"),
    ],
)
def test_a_bad_archive_leaves_nothing_behind(good_backup: Path, tmp_path: Path, how: str,
                                             words: str) -> None:
    bad = tmp_path / f"{how}.tar.gz"
    if how == "truncated":
        raw = good_backup.read_bytes()
        bad.write_bytes(raw[: len(raw) * 2 // 3])
    elif how == "tampered_blob":
        _rewrite(good_backup, bad, _blob_tamper)
    elif how == "traversal":
        _rewrite(good_backup, bad, _traversal)
    elif how in ("symlink", "hardlink", "device", "folder"):
        kinds = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                 "device": tarfile.CHRTYPE, "folder": tarfile.DIRTYPE}
        _rewrite(good_backup, bad, _special(kinds[how]))
    elif how == "huge_header":
        # the manifest's place holds a header that claims 1 TiB: nothing follows it
        _rewrite(good_backup, bad, _huge_header)
    elif how == "extra_member":
        body = b"extra"
        _rewrite(good_backup, bad, lambda m, d: (
            [(_entry("blobs/ab/cd/abcd" + "0" * 60, body), body)]
            if m.name == "manifest.json" else []) + [(m, d)],
            manifest=lambda mf: {**mf, "blobs": mf["blobs"] + 1})
    else:
        _rewrite(good_backup, bad, lambda m, d: [(m, d)],
                 manifest=lambda mf: {**mf, "tables": {**mf["tables"], "items": 7}})
    before = sorted(p.name for p in tmp_path.iterdir())
    target = tmp_path / "target"
    with pytest.raises(InvalidInput) as ei:
        restore(bad, target)
    assert words in ei.value.message, ei.value.message
    assert "Nothing was restored" in ei.value.message
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no half-built sibling
    restore(good_backup, target)  # the good one still restores there
    with Workspace.open(target) as r:
        assert check(r) == []


def test_a_huge_member_is_streamed_in_bounded_memory(good_backup: Path, tmp_path: Path) -> None:
    """A 200 MB blob member (zeros through gzip) whose name is not its hash: restore reads it
    in chunks, finds the mismatch, and leaves nothing behind; memory stays far below 200 MB."""
    size = 200 << 20
    fake = "ab" + "cd" * 31
    bad = _rewrite(
        good_backup, tmp_path / "huge.tar.gz",
        lambda m, d: [(m, d)] + ([(_entry(f"blobs/ab/cd/{fake}", size=size), _Zeros(size))]
                                 if m.name == "manifest.json" else []),
        manifest=lambda mf: {**mf, "blobs": mf["blobs"] + 1, **({"members": {
            **mf["members"], f"blobs/ab/cd/{fake}": {"size": size}}} if "members" in mf else {})},
    )
    target = tmp_path / "target"
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="does not match its content hash"):
            restore(bad, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"peak {peak:,} bytes"
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".target")]


def test_restore_into_a_database_url_rolls_everything_back(good_backup: Path, tmp_path: Path
                                                           ) -> None:
    """A URL target: schema, rows and blobs in one transaction; a bad blob undoes it all."""
    bad = _rewrite(good_backup, tmp_path / "tampered.tar.gz", _blob_tamper)
    blobs = tmp_path / "url-blobs"
    if PG_URL:
        schema = f"r_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    try:
        with pytest.raises(InvalidInput, match="does not match its content hash"):
            restore(bad, url, blob_url=str(blobs))
        if PG_URL:
            with admin.connect() as conn:
                n = conn.execute(text("SELECT COUNT(*) FROM information_schema.tables "
                                      "WHERE table_schema = :s"), {"s": schema}).scalar()
            assert n == 0  # not even the schema's tables: the migration was rolled back too
        else:
            assert not list(tmp_path.glob("restored.db*"))
        assert not [p for p in blobs.rglob("*") if p.is_file()]
        restore(good_backup, url, blob_url=str(blobs))
        with Workspace.open(url, blob_url=str(blobs)) as r:
            assert check(r) == []
            assert r.project("support").status()["items"] >= 50
    finally:
        if PG_URL:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


# -- file modes (issue 10) -----------------------------------------------------------------------
def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_workspace_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: the code, not the umask, makes the files private
    try:
        folder = tmp_path / "private"
        ws = Workspace.init(folder)
        try:
            ws.add_user("someone", "correct-horse-1", role="admin")
            digest = ws.blobs.put(b"a media file")
            assert _mode(folder) == 0o700
            assert _mode(folder / "blobs") == 0o700
            for suffix in ("", "-wal", "-shm"):
                f = folder / f"truelabel.db{suffix}"
                if suffix == "" or f.exists():
                    assert _mode(f) == 0o600, f
            assert (folder / "truelabel.db-wal").exists()  # WAL mode: checked above
            blob = folder / "blobs" / digest[:2] / digest[2:4] / digest
            assert _mode(blob) == 0o600
            assert _mode(blob.parent) == 0o700 and _mode(blob.parent.parent) == 0o700
            backup(ws, tmp_path / "b.tar.gz")
            assert _mode(tmp_path / "b.tar.gz") == 0o600
        finally:
            ws.close()
        restore(tmp_path / "b.tar.gz", tmp_path / "restored")
        assert _mode(tmp_path / "restored") == 0o700
        assert _mode(tmp_path / "restored" / "truelabel.db") == 0o600
    finally:
        os.umask(old)


def test_cli_backup_file_is_private(ws: Workspace, project: Project, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from truelabel.cli.main import main

    old = os.umask(0o022)
    try:
        r = CliRunner().invoke(main, ["backup", ws.location, str(tmp_path / "cli.tar.gz")])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert _mode(tmp_path / "cli.tar.gz") == 0o600


def test_cli_restore_of_a_bad_archive_says_why_and_leaves_nothing(good_backup: Path,
                                                                   tmp_path: Path) -> None:
    from click.testing import CliRunner

    from truelabel.cli.main import main

    bad = _rewrite(good_backup, tmp_path / "tampered.tar.gz", _blob_tamper)
    r = CliRunner().invoke(main, ["restore", str(bad), str(tmp_path / "cli-target")])
    assert r.exit_code == 1, r.output
    assert "does not match its content hash" in r.output and "Nothing was restored" in r.output
    assert not (tmp_path / "cli-target").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cli-target")]


def test_a_backup_without_member_list_still_restores(good_backup: Path, tmp_path: Path) -> None:
    """Backups made before the manifest listed its members restore as before."""
    old = _rewrite(good_backup, tmp_path / "old.tar.gz", lambda m, d: [(m, d)],
                   manifest=lambda mf: {k: v for k, v in mf.items() if k != "members"})
    restore(old, tmp_path / "from-old")
    with Workspace.open(tmp_path / "from-old") as r:
        assert check(r) == []
        assert r.project("support").status()["items"] >= 50


def test_backup_lists_its_members_in_load_order(good_backup: Path) -> None:
    with tarfile.open(good_backup, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    tables = [n for n in names if n.startswith("tables/")]
    assert tables == sorted(tables) and names[-1] == "manifest.json"
    assert set(manifest["members"]) == set(names) - {"manifest.json"}
    assert all("sha256" in manifest["members"][n] for n in tables)


def test_stray_files_in_the_blob_folder_are_not_backed_up(ws: Workspace, project: Project,
                                                          tmp_path: Path) -> None:
    ws.blobs.put(b"a media file")
    Path(ws.blobs.root, "notes.txt").write_text("not a blob")
    backup(ws, tmp_path / "s.tar.gz")
    with tarfile.open(tmp_path / "s.tar.gz", "r:gz") as tar:
        assert not [n for n in tar.getnames() if n.endswith("notes.txt")]
    restore(tmp_path / "s.tar.gz", tmp_path / "s")
