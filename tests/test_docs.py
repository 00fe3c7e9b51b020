"""docs/reference/ is what the code generates now, and everything in it is documented: every
CLI command and option, every HTTP route, every error code, every TRUELABEL_* variable.

Each completeness check is also shown to fail: a command, route, error or variable added
without documentation is reported.
"""

from __future__ import annotations

import gc
import re
from pathlib import Path

import click
import pytest
from fastapi import FastAPI

from truelabel.cli.main import main
from truelabel.devtools import refdocs
from truelabel.domain.environment import VARIABLES, EnvVar
from truelabel.domain.errors import Conflict, TruelabelError
from truelabel.domain.fields import field_types

REGENERATE = "run: python -m truelabel.devtools.refdocs (then commit docs/reference/)"
REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return refdocs.generate()


@pytest.fixture(scope="module")
def spec() -> dict:
    return refdocs.api_reference()[0]


# -- drift -------------------------------------------------------------------------------------
def test_reference_docs_match_the_code(generated: dict[str, str]) -> None:
    stale = [name for name, text in generated.items()
             if not (REFERENCE / name).is_file() or (REFERENCE / name).read_text("utf-8") != text]
    assert stale == [], f"{stale} differ from the code; {REGENERATE}"
    on_disk = {p.name for p in REFERENCE.iterdir() if p.name != "README.md"}
    assert on_disk == set(generated), "docs/reference/ holds a file the generator does not make"


def test_the_drift_check_reports_a_stale_file(tmp_path: Path) -> None:
    refdocs.write(tmp_path)
    assert refdocs.check(tmp_path) == []
    (tmp_path / "errors.md").write_text("edited by hand\n")
    (tmp_path / "cli.md").unlink()
    assert sorted(refdocs.check(tmp_path)) == ["cli.md", "errors.md"]
    assert refdocs.main(["--check", "--out", str(tmp_path)]) == 1


def test_generation_is_deterministic(generated: dict[str, str]) -> None:
    assert refdocs.generate() == generated


# -- the CLI -----------------------------------------------------------------------------------
def test_every_command_and_option_is_documented(generated: dict[str, str]) -> None:
    assert refdocs.undocumented_commands() == []
    for name, _, _ in refdocs.walk_commands(main):
        assert f"`{name}`" in generated["cli.md"], name
    assert "`TRUELABEL_ALLOWED_HOSTS`" in generated["cli.md"]  # envvar options say so


def test_an_undocumented_command_is_reported() -> None:
    @click.command()
    @click.option("--plain")
    def secret(plain: str) -> None:
        pass

    @click.command()
    @click.option("--loud", help="documented")
    def known(loud: str) -> None:
        """Documented. Example: truelabel known"""

    probe = click.Group("truelabel", commands={**main.commands, "secret": secret, "known": known},
                        help=main.help)
    assert refdocs.undocumented_commands(probe) == ["truelabel secret",
                                                    "truelabel secret --plain"]


# -- the HTTP API ------------------------------------------------------------------------------
def test_every_route_is_documented(spec: dict, generated: dict[str, str]) -> None:
    assert refdocs.undocumented_routes(spec) == []
    assert len(spec["paths"]) > 30
    for path in spec["paths"]:
        assert f"`{path}`" in generated["routes.md"], path


def test_an_undocumented_route_is_reported() -> None:
    app = FastAPI()

    @app.get("/api/documented")
    def documented() -> int:
        """Says what it does."""
        return 1

    @app.post("/api/bare")
    def bare() -> int:
        return 2

    assert refdocs.undocumented_routes(app.openapi()) == ["POST /api/bare"]


def test_routes_name_login_and_permission(generated: dict[str, str]) -> None:
    rows = {line.split("|")[2].strip(): line for line in generated["routes.md"].splitlines()
            if line.startswith("| GET ")}
    workflow = rows["`/api/projects/{project}/workflow`"]
    assert "| yes |" in workflow and "`quality.read`" in workflow
    assert "| no |" in rows["`/api/schema.json`"]


# -- errors ------------------------------------------------------------------------------------
def test_every_error_code_is_documented(generated: dict[str, str]) -> None:
    classes = refdocs.error_classes()
    assert classes[0] is TruelabelError and Conflict in classes
    assert refdocs.undocumented_errors() == []
    for cls in classes:
        assert re.search(rf"`{cls.__name__}` \| `{cls.code}` \| {cls.status} \| \S",
                         generated["errors.md"]), cls


def test_an_undocumented_error_is_reported() -> None:
    class Undocumented(Conflict):
        code = "undocumented_probe"

    class Described(Conflict):
        """A probe with a docstring."""

        code = "described_probe"

    class Twin(Conflict):
        """Reuses a code."""

        code = "conflict"

    try:
        found = refdocs.undocumented_errors(refdocs.error_classes())
        assert f"{__name__}.Undocumented" in found
        assert not any("Described" in f for f in found)
        assert any(f.startswith("Twin: code 'conflict'") for f in found)
    finally:
        del Undocumented, Described, Twin
        gc.collect()  # subclasses are weak references: gone for the other tests
    assert "undocumented_probe" not in [c.code for c in refdocs.error_classes()]


# -- environment variables -----------------------------------------------------------------------
def test_every_environment_variable_is_declared(generated: dict[str, str]) -> None:
    assert refdocs.undocumented_env_vars() == []
    for name in VARIABLES:
        assert f"`{name}`" in generated["environment.md"]


def test_an_undeclared_environment_variable_is_reported() -> None:
    source = [("truelabel/new.py", 'flag = os.environ.get("TRUELABEL_NEW_THING", "")\n'
               "# TRUELABEL_* in a comment is no name\n")]
    assert refdocs.undocumented_env_vars(source) == ["TRUELABEL_NEW_THING (truelabel/new.py)"]
    blank = {"TRUELABEL_NEW_THING": EnvVar("TRUELABEL_NEW_THING", "", " ", "nobody")}
    assert refdocs.undocumented_env_vars(source, blank) != []
    meant = {"TRUELABEL_NEW_THING": EnvVar("TRUELABEL_NEW_THING", "", "A probe.", "nobody")}
    assert refdocs.undocumented_env_vars(source, meant) == []


def test_variables_are_read_through_their_declaration() -> None:
    spelled = [path for path, text in refdocs.source_files()
               if re.search(r"environ(\.get\(|\[)\s*[\"']TRUELABEL_", text)]
    assert spelled == [], "read TRUELABEL_* variables via truelabel.domain.environment"
    var = VARIABLES["TRUELABEL_ASYNC_CONNECTIONS"]
    assert var.read({}) == "2" and var.read({"TRUELABEL_ASYNC_CONNECTIONS": "4"}) == "4"


# -- field kinds ---------------------------------------------------------------------------------
def test_every_field_kind_is_listed(generated: dict[str, str]) -> None:
    for name, cls in field_types().items():
        assert f"| `{name}` |" in generated["field-kinds.md"]
        assert cls.summary, f"field type {name} has no summary"
