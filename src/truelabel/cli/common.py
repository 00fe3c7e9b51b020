"""What every ``truelabel`` command module shares: the consoles, opening a workspace (always
closed when the command ends), the common options, and printing a table or ``--json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from truelabel.core import Project, Workspace
from truelabel.domain.errors import InvalidInput, SchemaError, UnknownComponent
from truelabel.domain.schema import LabelSchema

__all__ = ["actor_option", "console", "emit", "json_arg", "json_option", "open_project",
           "open_workspace", "out", "project_option", "read_schema", "read_text", "report"]

# Consoles resolve sys.stdout/stderr when printing, so CliRunner captures them.
console = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def open_workspace(location: str) -> Iterator[Workspace]:
    """The workspace at ``location``, closed (connections and pool) when the block ends."""
    with Workspace.open(location) as ws:
        yield ws


@contextmanager
def open_project(location: str, name: str | None) -> Iterator[Project]:
    """Project ``name`` (the only one when None) of the workspace at ``location``; the
    workspace is closed when the block ends."""
    with open_workspace(location) as ws:
        if name is None:
            names = [p["name"] for p in ws.list_projects()]
            if len(names) != 1:
                raise InvalidInput(
                    f"{location} holds {len(names)} projects: {', '.join(names)}. Name the one "
                    f"you mean with -p/--project, e.g. -p {names[0]}." if names else
                    f"{location} holds no project yet; make one with: truelabel "
                    f"create-project {location} NAME --schema schema.yaml"
                )
        yield ws.project(name)


def read_text(path: str, what: str) -> str:
    """The text of a file the command was given (``what``: "schema", "guidelines"); an error
    naming the file when it is not UTF-8 or cannot be read."""
    try:
        return Path(path).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The {what} file {path} is not UTF-8 text (byte {exc.start:,}); "
                           "save it as UTF-8 and run the command again.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read the {what} file {path}: {exc.strerror}. Check the "
                           "path and its permissions.") from None


def read_schema(path: str) -> tuple[str, LabelSchema]:
    """A schema file's text and the schema it holds; every error names the file."""
    text = read_text(path, "schema")
    try:
        return text, LabelSchema.parse(text, filename=path)
    except (SchemaError, UnknownComponent) as exc:
        if path not in exc.message:
            exc.message = f"{path}: {exc.message}"
            exc.args = (exc.message,)
        raise


def emit(data: Any, as_json: bool, table: Callable[[], Table] | None = None) -> None:
    """Print ``data`` as JSON (with --json, or when there is no table), else the table."""
    if as_json or table is None:
        out.print_json(json.dumps(data, default=str))
    else:
        out.print(table())


def report(data: Any, as_json: bool, message: str) -> None:
    """Print ``data`` as JSON with --json, else the one-line ``message`` (on stderr)."""
    if as_json:
        emit(data, True)
    else:
        console.print(message)


def project_option(f: F) -> F:
    return click.option("--project", "-p", "project_name",
                        help="project name (if the workspace has several)")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="print the result as JSON")(f)


def actor_option(f: F) -> F:
    return click.option("--as", "actor_name", required=True, metavar="USER",
                        help="the member acting (recorded with the decision; their role must "
                        "allow it)")(f)


def json_arg(text: str, what: str) -> Any:
    """``text`` parsed as JSON; a usage error (exit 2) naming ``what`` otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} must be JSON ({exc.msg}); e.g. "
                                 "'{\"sentiment\": \"positive\"}'.") from None
