"""Backup while annotators work, restore elsewhere, integrity holds."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path

import pytest

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
