"""Issue 12: `truelabel init` and `create-project` are all or nothing and name projects from
the schema's title; file errors name the file; `export` on several projects names -p."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from helpers import SCHEMA
from truelabel import Workspace
from truelabel.cli.main import main

TITLED = {**SCHEMA, "title": "Support tickets: week 1"}


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def said(r: Result) -> str:
    return " ".join(r.output.split())


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    f = tmp_path / "schema.yaml"
    f.write_text(yaml.safe_dump(TITLED), "utf-8")
    return f


def test_init_failing_after_the_database_leaves_nothing_and_a_retry_works(
        tmp_path: Path, schema_file: Path) -> None:
    target = tmp_path / "new" / "deeper" / "ws"
    r = run("init", target, "--schema", schema_file, "--overlap", 0)  # fails in create_project
    assert r.exit_code == 1 and "overlap must be at least 1" in said(r), r.output
    assert not (tmp_path / "new").exists()  # the folders it made are gone, parents too
    r = run("init", target, "--schema", schema_file, "--overlap", 2)
    assert r.exit_code == 0, r.output
    with Workspace.open(target) as ws:
        [row] = ws.list_projects()
        assert row["name"] == "support-tickets-week-1"  # from the schema's title
        assert ws.project().info()["title"] == "Support tickets: week 1"


def test_init_into_an_existing_folder_removes_only_what_it_made(
        tmp_path: Path, schema_file: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", "utf-8")
    r = run("init", target, "--schema", schema_file, "--name", "bad name!")
    assert r.exit_code == 1 and "project name" in said(r), r.output
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    r = run("init", target, "--schema", schema_file, "--name", "tickets")
    assert r.exit_code == 0 and "with project 'tickets'" in said(r), r.output


def test_init_any_error_after_the_db_file_cleans_up(
        tmp_path: Path, schema_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: Any, **kw: Any) -> Any:
        assert (tmp_path / "ws" / "truelabel.db").exists()  # the database was made
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Workspace, "create_project", boom)
    r = run("init", tmp_path / "ws", "--schema", schema_file)
    assert isinstance(r.exception, RuntimeError)
    assert not (tmp_path / "ws").exists()


def test_bad_guidelines_name_their_file_and_create_nothing(
        tmp_path: Path, schema_file: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_bytes(b"caf\xe9 rules")
    r = run("init", tmp_path / "ws", "--schema", schema_file, "--guidelines", notes)
    assert r.exit_code == 1 and "notes.md is not UTF-8" in said(r), r.output
    assert not (tmp_path / "ws").exists()


def test_init_without_a_title_uses_the_folder_name(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({"fields": SCHEMA["fields"]}), "utf-8")
    r = run("init", tmp_path / "reviews", "--schema", f)
    assert r.exit_code == 0 and "with project 'reviews'" in said(r), r.output


@pytest.mark.parametrize("command", ["init", "create-project"])
def test_malformed_yaml_names_the_file(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "broken-schema.yaml"
    bad.write_text("title: x\nfields: [\n  {name: a, type: choice\n", "utf-8")
    unknown = tmp_path / "unknown-type.yaml"
    unknown.write_text("fields: [{name: a, type: colour}]\n", "utf-8")
    ws = tmp_path / "ws"
    if command == "create-project":
        Workspace.init(ws).close()
    for f in (bad, unknown):
        args = ["init", ws] if command == "init" else ["create-project", ws, "p1"]
        r = run(*args, "--schema", f)
        assert r.exit_code == 1 and str(f) in "".join(r.output.split()), r.output
        assert "in \"<unicode string>\"" not in r.output
    assert "line 4, column 1" in said(r) or "colour" in said(r)
    if command == "init":
        assert not ws.exists()
    else:
        with Workspace.open(ws) as w:
            assert w.list_projects() == []  # nothing half-made


def test_create_project_is_all_or_nothing_and_titled(tmp_path: Path, schema_file: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    assert run("create-project", ws, "p1", "--schema", schema_file, "--overlap", 0).exit_code == 1
    with Workspace.open(ws) as w:
        assert w.list_projects() == []
    r = run("create-project", ws, "p1", "--schema", schema_file)
    assert r.exit_code == 0, r.output
    with Workspace.open(ws) as w:
        assert w.project("p1").info()["title"] == "Support tickets: week 1"


def test_export_on_several_projects_names_the_option_and_the_projects(
        tmp_path: Path, schema_file: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    r = run("export", ws, tmp_path / "out.jsonl")
    assert r.exit_code == 1 and "no project yet" in said(r) and "create-project" in said(r)
    for name in ("alpha", "beta"):
        assert run("create-project", ws, name, "--schema", schema_file).exit_code == 0
    r = run("export", ws, tmp_path / "out.jsonl")
    assert r.exit_code == 1, r.output
    assert "-p/--project" in said(r) and "alpha, beta" in said(r), r.output
    r = run("export", ws, tmp_path / "out.jsonl", "-p", "beta")
    assert r.exit_code == 0, r.output
