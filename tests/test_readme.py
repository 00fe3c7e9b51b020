"""The README's code blocks work as written (issue 12: its Python snippet submitted a field its
own schema does not have, and the tour put the guidelines on the wrong side).

- ``python`` blocks run for real, each in a fresh folder holding the README's schema (its
  ``yaml`` block with ``fields``) as ``schema.yaml`` and sample items under every ``*.jsonl``
  name the block mentions;
- ``yaml`` blocks with ``fields`` load as label schemas (hotkey rules included);
- ``bash`` blocks pass ``bash -n``; every ``truelabel`` command in them parses (command and
  options exist, via click, without running). The cheap ones (init, user, import, export,
  status, create-project, schema-types on a folder) also run for real, in order, in a fresh
  folder where ``.venv/bin/truelabel`` is this checkout's CLI. Not run, only parsed: ``serve``
  and ``demo`` (they serve until stopped), commands on a ``$VARIABLE`` location (the
  PostgreSQL set-up needs a database server and ``createdb``), ``./dev`` (it installs
  packages; we check the subcommand exists in the script) and ``pip`` (we check the extra
  it names exists in pyproject.toml).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from truelabel.cli.main import main
from truelabel.domain.schema import LabelSchema

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
SAMPLE = ROOT / "src" / "truelabel" / "sample" / "messages.jsonl"
CHEAP = {"init", "user", "import", "export", "status", "create-project", "schema-types"}
BLOCK = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```",
                   re.M | re.S)


def blocks(lang: str) -> list[str]:
    return [textwrap.dedent(m["body"]) for m in BLOCK.finditer(README) if m["lang"] == lang]


def readme_schema() -> str:
    [schema] = [b for b in blocks("yaml") if "fields" in (yaml.safe_load(b) or {})]
    return schema


def folder_for(tmp_path: Path, code: str) -> Path:
    """A fresh folder with what the README's examples read."""
    (tmp_path / "schema.yaml").write_text(readme_schema(), "utf-8")
    for name in set(re.findall(r"[\w.-]+\.jsonl", code)):
        (tmp_path / name).write_bytes(SAMPLE.read_bytes())
    shim = tmp_path / ".venv" / "bin" / "truelabel"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m truelabel.cli.main "$@"\n', "utf-8")
    shim.chmod(0o755)
    return tmp_path


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TRUELABEL_FAST_HASH": "1",
            "COLUMNS": "200"}


def commands(block: str) -> list[str]:
    """The block's commands, one per logical line (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line for line in joined.splitlines()
            if shlex.split(line, comments=True)]


def truelabel_args(segment: str) -> list[str] | None:
    words = shlex.split(segment, comments=True)
    return words[1:] if words and words[0].endswith("/truelabel") else None


def parse_only(args: list[str]) -> None:
    """Resolve ``truelabel ARGS`` to its command and parse its options, running nothing."""
    cmd: click.Command = main
    ctx = cmd.make_context("truelabel", list(args))
    while isinstance(cmd, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, rest)
        assert sub is not None and name is not None, args
        cmd, ctx = sub, sub.make_context(name, rest, parent=ctx)


# -- the tests --------------------------------------------------------------------------------
def test_the_readme_has_the_blocks_this_file_checks() -> None:
    assert blocks("python") and blocks("bash") and readme_schema()


def test_the_schema_block_loads() -> None:
    sch = LabelSchema.parse(readme_schema(), filename="README.md")
    assert sch.title and sch.fields


@pytest.mark.parametrize("code", blocks("python"))
def test_python_blocks_run(tmp_path: Path, code: str) -> None:
    where = folder_for(tmp_path, code)
    r = subprocess.run([sys.executable, "-c", code], cwd=where, env=env(), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("block", blocks("bash"))
def test_bash_blocks(tmp_path: Path, block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    syntax = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    where = folder_for(tmp_path, block)
    monkeypatch.chdir(where)  # options naming files are checked where the commands run
    ran: list[Any] = []
    for line in commands(block):
        segments = [s for s in line.split("|") if s.strip()]
        found = [a for a in map(truelabel_args, segments) if a is not None]
        words = shlex.split(line, comments=True)
        if not found:
            if words[0] == "./dev":  # installs and runs: the subcommand must exist
                assert re.search(rf"^\s*{re.escape(words[1])}\)", (ROOT / "dev").read_text(),
                                 re.M), line
            elif words[:2] == ["pip", "install"]:
                extra = re.search(r"\[(\w+)\]", line)
                assert extra is None or f"\n{extra[1]} = " in (ROOT / "pyproject.toml").read_text()
            continue  # createdb, export VAR=…: shell only (checked by bash -n)
        [args] = found
        parse_only(args)
        if args[0] not in CHEAP or "$" in line:
            continue  # parsed only: see the module docstring
        r = subprocess.run(["bash", "-c", line], cwd=where, env=env(), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, f"{line}\n{r.stdout}\n{r.stderr}"
        ran.append(args[0])
    if "init" in ran:  # the set-up ran for real: its project exists, named from the title
        assert (where / "myproject" / "truelabel.db").exists()


def test_the_tour_puts_the_panels_where_the_page_has_them() -> None:
    page = (ROOT / "src" / "truelabel" / "server" / "templates" / "label.html").read_text()
    order = [m for m in re.findall(r'class="panel (guidelines|shortcuts)|class="(workspace)"',
                                   page)]
    assert [a or b for a, b in order] == ["guidelines", "workspace", "shortcuts"]
    tour = " ".join(README.split("## A 5-minute tour", 1)[1].split("##", 1)[0].split())
    assert re.search(r"guidelines are on the left", tour), tour[:400]
    assert not re.search(r"guidelines[\w ]*on the right", tour)  # the old sentence
