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

from truelabel.core import DEFAULT_METHOD, Project, Workspace, truth_method_names
from truelabel.domain.errors import InvalidInput, SchemaError, UnknownComponent
from truelabel.domain.schema import LabelSchema

__all__ = ["actor_option", "console", "emit", "fit_options", "fit_rows", "json_arg",
           "json_option", "open_project", "open_workspace", "out", "project_option",
           "read_schema", "read_text", "report"]

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


class MethodChoice(click.Choice):  # type: ignore[type-arg]
    """The registered truth-inference methods (plug-ins included), read when first needed."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return truth_method_names()

    @choices.setter
    def choices(self, value: Any) -> None:
        pass


def fit_options(f: F) -> F:
    """``--method`` (a registered truth-inference method), ``--max-iter`` and ``--tol``."""
    f = click.option("--tol", type=click.FloatRange(min=0.0), default=None,
                     help="iterative methods: stop when the objective (log-likelihood per "
                     "answer) improves by at most this; 0 runs to a fixed point or "
                     "--max-iter [default: the method's, 1e-5]")(f)
    f = click.option("--max-iter", "max_iter", type=click.IntRange(min=1), default=None,
                     help="iterative methods: at most this many iterations [default: the "
                     "method's, 100]")(f)
    return click.option("--method", type=MethodChoice(), default=DEFAULT_METHOD,
                        show_default=True,
                        help="a registered truth-inference method: auto picks one per data set "
                        "by a held-out score; weighted and gold_dawid_skene need gold")(f)


def fit_rows(table: Table, fit: dict[str, Any]) -> None:
    """Rows for how a fit went: ``auto``'s choice with every candidate's score, the
    iterations (and whether they converged) and the final objective."""
    choice = fit.get("auto")
    if choice:
        scores = ", ".join(
            f"{name} {_score(v)}" for name, v in sorted(choice["scores"].items()))
        table.add_row("auto chose", f"{choice['chosen']} by {choice['criterion']}")
        table.add_row("auto scores", scores)
    if fit.get("iterations"):
        table.add_row("iterations", f"{fit['iterations']}"
                      + ("" if fit["converged"] else " (not converged: raise --max-iter)"))
    if fit.get("objective") is not None:
        table.add_row("final objective", f"{fit['objective']:.6f} ("
                      f"{fit.get('objective_name', 'per answer')})")


def _score(v: Any) -> str:
    if v is None:
        return "N/A"
    if isinstance(v, list):
        return f"{v[0]:.4f} (log-lik {v[1]:.4f})"
    return f"{v:.4f}"


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
