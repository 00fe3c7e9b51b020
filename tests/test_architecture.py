"""The house rules that a test can prove: layering, migrations, public API, docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import truelabel
from truelabel.store.db import Database
from truelabel.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent


def test_layers_point_down() -> None:
    """import-linter: adapters → core → engines → domain, engines independent, and the
    contracts inside core (``tests/test_project_services.py`` proves those can fail)."""
    exe = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run(
        [str(exe), str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 broken" in r.stdout and "Layers point down" in r.stdout


def test_layer_contract_can_fail(tmp_path: Path) -> None:
    """The contract is real: a domain module importing the store breaks it."""
    bad = ROOT / "src" / "truelabel" / "domain" / "_layer_probe.py"
    bad.write_text("import truelabel.store.db  # noqa: F401\n")
    try:
        exe = Path(sys.executable).with_name("lint-imports")
        r = subprocess.run(
            [str(exe), str(ROOT / "pyproject.toml"), "--no-cache"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert r.returncode != 0 and "broken" in r.stdout
    finally:
        bad.unlink()


def test_driver_contract_can_fail() -> None:
    """Only the store imports SQLAlchemy, psycopg or Alembic: a core module that does breaks
    the forbidden contract."""
    bad = ROOT / "src" / "truelabel" / "core" / "_driver_probe.py"
    bad.write_text("import sqlalchemy.exc  # noqa: F401\n")
    try:
        exe = Path(sys.executable).with_name("lint-imports")
        r = subprocess.run(
            [str(exe), str(ROOT / "pyproject.toml"), "--no-cache"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert r.returncode != 0, r.stdout
        assert "Only the store talks to the database driver BROKEN" in r.stdout, r.stdout
    finally:
        bad.unlink()


def test_migrations_build_exactly_the_tables(tmp_path: Path) -> None:
    from helpers import open_workspace

    with open_workspace(tmp_path) as ws:  # on the backend under test
        with ws.db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        ws.db.migrate()  # idempotent


def test_import_truelabel_does_no_work() -> None:
    code = (
        "import sys, truelabel; "
        "print(any(m.split('.')[0] in ('sqlalchemy','fastapi','pyarrow') for m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
    assert {"LabelSchema", "Project", "Workspace", "__version__"} <= set(truelabel.__all__)
    # resolving the light names (errors, schema, models) still loads no driver or web stack
    code = ("import sys, truelabel; truelabel.errors; truelabel.LabelSchema; truelabel.User; "
            "print(sorted(m for m in ('sqlalchemy', 'fastapi') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_the_server_loads_pyarrow_only_when_a_file_is_read_or_written() -> None:
    # ~26 MiB of RSS in every server process that only serves the annotators' loop
    code = "import sys, truelabel.server.app, truelabel.cli.main; print('pyarrow' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_every_cli_command_has_an_example() -> None:
    import click

    from truelabel.cli.main import main

    def walk(cmd: click.Command, name: str) -> list[tuple[str, click.Command]]:
        out = [(name, cmd)]
        if isinstance(cmd, click.Group):
            for sub_name, sub in cmd.commands.items():
                out += walk(sub, f"{name} {sub_name}")
        return out

    for name, cmd in walk(main, "truelabel"):
        if isinstance(cmd, click.Group):
            continue
        assert "Example:" in (cmd.help or ""), f"{name} --help has no Example"


def test_a_0001_database_migrates_forward_with_its_data(tmp_path: Path) -> None:
    """A database made by the first release's schema upgrades in place, data intact."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(ROOT / "src" / "truelabel" / "store" / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 0)"))
        conn.execute(text("INSERT INTO items (id, project_id, content_hash, data) "
                          "VALUES (1, 1, x'00', '{\"text\": \"kept\"}')"))
        conn.execute(text("INSERT INTO users (id, username, password_hash, created_at) "
                          "VALUES (1, 'u', 'x', 0)"))
        conn.execute(text("INSERT INTO api_tokens (user_id, token_hash, name, created_at, "
                          "expires_at, revoked) VALUES (1, 'h1', '', 0, NULL, FALSE), "
                          "(1, 'h2', 'ci', 0, 99, FALSE), (1, 'h3', 'old', 0, NULL, TRUE)"))
        conn.execute(text("INSERT INTO jobs (id, kind, status, created_at) "
                          "VALUES (1, 'import', 'running', 0)"))
    engine.dispose()
    db = Database.open(url)  # migrates to head
    with db.read() as conn:
        row = conn.execute(text("SELECT data, is_gold, target, open, priority FROM items")).one()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tokens = conn.execute(text("SELECT token_hash, name, scope, expires_at, last_used_at "
                                   "FROM api_tokens ORDER BY token_hash")).all()
    assert tuple(row) == ('{"text": "kept"}', 0, None, 1, 0)  # 0006: priority 0, id order
    assert version == "0011"
    # 0005: existing tokens keep working with scope manage, named legacy; revoked ones go
    assert [tuple(t) for t in tokens] == [("h1", "legacy", "manage", None, None),
                                          ("h2", "legacy: ci", "manage", 99, None)]
    assert "ground_truth" in db.table_names()
    # 0007: a job left running by the old server is failed, and cannot be restarted
    with db.read() as conn:
        job = conn.execute(text("SELECT status, params, attempts, cancel_requested "
                                "FROM jobs")).one()
    assert tuple(job) == ("failed", None, 1, 0)
    # 0008: the lifecycle state, backfilled (an unanswered item is queued)
    with db.read() as conn:
        assert conn.execute(text("SELECT state FROM items")).scalar() == "queued"
    db.dispose()
