"""The ``truelabel`` command. Each command parses, makes one library call, prints the result."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from truelabel import __version__
from truelabel.core import DEDUP, ON_CONFLICT, Workspace
from truelabel.domain import environment as env
from truelabel.domain.errors import TruelabelError
from truelabel.domain.limits import MAX_ITEM_BYTES

from .common import console, emit, open_project, open_workspace, out, read_schema, read_text

_emit = emit  # the name this module's commands use


#: How ``truelabel --help`` groups the commands (a new command shows under "Other" until it
#: is placed here).
SECTIONS: dict[str, tuple[str, ...]] = {
    "Set up": ("init", "create-project", "add-member", "user", "schema-types", "demo"),
    "Data": ("import", "export", "status", "priority"),
    "Quality": ("workflow", "gold", "review", "adjudication", "truth", "quality", "signoff"),
    "Answer files from any tool": ("agreement", "aggregate"),
    "Run and maintain": ("serve", "backup", "restore", "check"),
}


class Group(click.Group):
    """Turns library errors into a one-line message and exit code 1 (JSON with --json), and
    lists the commands by :data:`SECTIONS`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TruelabelError as exc:
            console.print(f"[red]Error:[/red] {exc.message}", markup=True, highlight=False)
            ctx.exit(1)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        visible = {n: c for n in self.list_commands(ctx)
                   if (c := self.get_command(ctx, n)) is not None and not c.hidden}
        placed = {n for names in SECTIONS.values() for n in names}
        sections = [*SECTIONS.items(), ("Other", tuple(n for n in visible if n not in placed))]
        width = formatter.width - 6 - max(map(len, visible), default=0)
        for title, names in sections:
            rows = [(n, visible[n].get_short_help_str(width)) for n in names if n in visible]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="truelabel")
def main() -> None:
    """truelabel: turn raw data into AI training data a team can trust.

    Most commands take LOCATION first: a project folder made by `truelabel init`,
    or a database URL such as postgresql://user@host/db.
    """


@contextmanager
def _bar(description: str, *, as_bytes: bool) -> Iterator[Callable[[int, int | None], None]]:
    cols: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    cols += [DownloadColumn()] if as_bytes else [TextColumn("{task.completed:,.0f} items")]
    cols += [TimeRemainingColumn()]
    with Progress(*cols, console=console, transient=True, disable=not console.is_terminal) as prog:
        task = prog.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            prog.update(task, completed=done, total=total)

        yield update


@main.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False),
    help="label schema (YAML/JSON, or a Label Studio XML config): also creates a project",
)
@click.option("--name", help="project name (default: from the schema's title, else the folder's "
              "name)")
@click.option("--overlap", default=1, show_default=True, help="annotators per item")
@click.option(
    "--guidelines",
    type=click.Path(exists=True, dir_okay=False),
    help="Markdown guidelines shown beside each task",
)
def init(
    path: str, schema_file: str | None, name: str | None, overlap: int, guidelines: str | None
) -> None:
    """Create a project folder (database, blob store, secret key).

    Example: truelabel init myproject --schema schema.yaml

    All or nothing: if any step fails, no folder or database is left behind.
    """
    from truelabel.domain.limits import check_guidelines

    schema = read_schema(schema_file)[0] if schema_file else None
    notes = read_text(guidelines, "guidelines") if guidelines else ""
    check_guidelines(notes)
    with Workspace.init(path, schema=schema, name=name, overlap=overlap, guidelines=notes) as ws:
        names = [p["name"] for p in ws.list_projects()]
    msg = f"Created {path}" + (f" with project {names[0]!r}" if names else "")
    console.print(msg + ". Add a user: truelabel user add " + path + " NAME --role admin")


@main.command("import")
@click.argument("location")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--project", "-p", "project_name", help="project name (if several)")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "text"]),
    help="default: from the file name",
)
@click.option(
    "--id-field",
    default="id",
    show_default=True,
    help="field holding your own item id (re-imports skip known ids)",
)
@click.option(
    "--max-item-bytes",
    type=click.IntRange(min=1),
    default=MAX_ITEM_BYTES,
    show_default=True,
    help="largest item (its data as JSON) the import accepts; a larger one refuses the import",
)
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE",
              help="slice metadata stored with every item (source, language, channel, "
              "licence…); repeatable")
@click.option("--dedup", type=click.Choice(DEDUP), default="content", show_default=True,
              help="records without an id whose text repeats: merged into one item "
              "(content; re-imports add nothing) or each its own item (none); reported "
              "either way")
@click.option("--on-conflict", type=click.Choice(ON_CONFLICT), default="fail", show_default=True,
              help="a record reusing an id with different content: refuse the import "
              "(nothing stored), keep the first, or keep the last")
@click.option("--large-item-bytes", type=click.IntRange(min=1), envvar=env.LARGE_ITEM_BYTES.name,
              show_envvar=True, default=int(env.LARGE_ITEM_BYTES.default), show_default=True,
              help="items larger than this are imported and reported as a warning")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def import_(
    location: str,
    file: str,
    project_name: str | None,
    fmt: str | None,
    id_field: str,
    max_item_bytes: int,
    meta: tuple[str, ...],
    dedup: str,
    on_conflict: str,
    large_item_bytes: int,
    as_json: bool,
) -> None:
    """Import items from JSONL, CSV, Parquet or text (one item per line). All or nothing.

    Every record not added as a new item, and every large item, is counted and shown by line.

    Example: truelabel import myproject messages.jsonl
    Example: truelabel import myproject fr.jsonl --meta language=fr --meta channel=email
    """
    pairs = [m.partition("=") for m in meta]
    bad = [m for m, (_, eq, _) in zip(meta, pairs, strict=True) if not eq]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not KEY=VALUE (e.g. language=en).",
                                 param_hint="--meta")
    with open_project(location, project_name) as p, \
            _bar(f"Importing {Path(file).name}", as_bytes=True) as bar:
        r = p.import_file(file, fmt=fmt, id_field=id_field or None, progress=bar,
                          max_item_bytes=max_item_bytes,
                          meta={k: v for k, _, v in pairs} or None, dedup=dedup,
                          on_conflict=on_conflict, large_item_bytes=large_item_bytes)
    if as_json:
        _emit(r.to_dict(), True)
        return
    present = r.report["counts"]["present"]
    console.print(f"Imported {r.added:,} items from {file} ({present:,} already present) "
                  f"in {r.seconds:.1f} s.", highlight=False)
    for note in r.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", highlight=False)


@main.command()
@click.argument("location")
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--project", "-p", "project_name", help="project name (if several)")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "parquet", "answers"]),
    help="default: from OUT's suffix (.csv: answers); answers is one row per item, field, "
    "annotator and label, as CSV, JSONL or Parquet by OUT's suffix",
)
@click.option("--only-labeled", is_flag=True, help="skip items without annotations")
def export(
    location: str, out_path: str, project_name: str | None, fmt: str | None, only_labeled: bool
) -> None:
    """Export items with every annotator's annotations to JSONL or Parquet, or the long
    answers table (feeds `truelabel agreement` and `aggregate` as it is).

    Example: truelabel export myproject labels.parquet
    Example: truelabel export myproject answers.csv --format answers
    """
    with open_project(location, project_name) as p, _bar("Exporting", as_bytes=False) as bar:
        r = p.export(out_path, fmt=fmt, only_labeled=only_labeled, progress=bar)
    console.print(
        f"Wrote {r.items:,} items and {r.annotations:,} annotations to {r.path} "
        f"in {r.seconds:.1f} s."
    )


@main.command()
@click.argument("location")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(location: str, as_json: bool) -> None:
    """Projects with their item and annotation counts.

    Example: truelabel status myproject --json
    """
    with open_workspace(location) as ws:
        rows: list[dict[str, Any]] = [
            {"name": info["name"], "title": info["title"], "overlap": info["overlap"],
             **ws.project(info["id"]).status()}
            for info in ws.list_projects()
        ]

    def table() -> Table:
        t = Table("project", "items", "labeled", "in progress", "annotations", "overlap")
        for r in rows:
            t.add_row(
                r["name"],
                f"{r['items']:,}",
                f"{r['labeled']:,}",
                f"{r['in_progress']:,}",
                f"{r['submitted']:,}",
                str(r["overlap"]),
            )
        return t

    _emit(rows, as_json, table)


@main.command()
@click.argument("location")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="interface to bind; use 0.0.0.0 only behind a TLS proxy",
)
@click.option("--port", default=8000, show_default=True, help="TCP port to listen on")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes (PostgreSQL only); about one per CPU core for a large team",
)
@click.option(
    "--allowed-hosts",
    envvar=env.ALLOWED_HOSTS.name,
    show_envvar=True,
    help="host names the server answers to, comma-separated (any port; *.example.org for "
    "subdomains, * for any); default: 127.0.0.1, localhost and ::1 on a loopback --host, "
    "else the --host address; required with --host 0.0.0.0",
)
@click.option(
    "--forwarded-allow-ips",
    envvar=env.FORWARDED_ALLOW_IPS.name,
    show_envvar=True,
    help="addresses or networks of the proxies whose X-Forwarded-For/-Proto are believed, "
    "comma-separated; default: none (the connection's own address is the client's)",
)
@click.option("--max-json-body", envvar=env.MAX_JSON_BODY.name, show_envvar=True,
              help="largest request body except logins and uploads [default: 1MiB]")
@click.option("--max-login-body", envvar=env.MAX_LOGIN_BODY.name, show_envvar=True,
              help="largest login request body [default: 64KiB]")
@click.option("--max-upload-body", envvar=env.MAX_UPLOAD_BODY.name, show_envvar=True,
              help="largest uploaded file, read only from a logged-in user [default: 2GiB]")
@click.option("--access-log/--no-access-log", default=True, envvar=env.ACCESS_LOG.name,
              show_envvar=True, show_default=True,
              help="one line per request on standard error: method, path, status, duration, "
              "user (never tokens, cookies or query strings)")
def serve(location: str, host: str, port: int, workers: int, allowed_hosts: str | None,
          forwarded_allow_ips: str | None, max_json_body: str | None,
          max_login_body: str | None, max_upload_body: str | None, access_log: bool) -> None:
    """Run the web UI and HTTP API (binds to 127.0.0.1 unless told otherwise).

    Request bodies are limited before any route reads them (413 past the limit), and
    requests for a host name not in --allowed-hosts get 400. Sizes are bytes or a number
    with a unit: 512KiB, 1MiB, 4GiB.

    \b
    Example: truelabel serve myproject --port 8000
    Example: truelabel serve postgresql://truelabel@db/truelabel --workers 2
    Example: truelabel serve myproject --host 0.0.0.0 --allowed-hosts labels.example.org
    --forwarded-allow-ips 10.0.0.2
    """
    from truelabel.server.hosts import AllowedHosts
    from truelabel.server.limits import EdgeSettings, parse_size
    from truelabel.server.run import serve as run

    given = {k: parse_size(v) for k, v in (("max_json_body", max_json_body),
                                           ("max_login_body", max_login_body),
                                           ("max_upload_body", max_upload_body)) if v}
    edge = EdgeSettings(**given, access_log=access_log,
                        allowed_hosts=AllowedHosts.parse(allowed_hosts) if allowed_hosts else None)
    with open_workspace(location) as ws:
        console.print(
            f"truelabel {__version__} serving {location} on http://{host}:{port}/ "
            f"({workers} worker{'s' if workers > 1 else ''}; Ctrl+C stops)"
        )
        run(ws, host=host, port=port, workers=workers, edge=edge,
            forwarded_allow_ips=forwarded_allow_ips or "")


@main.command()
@click.argument("path", default="demo-project", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to bind")
@click.option("--port", default=8000, show_default=True, help="TCP port to listen on")
@click.option("--password", help="password for every demo user (default: random, printed)")
@click.option("--no-serve", is_flag=True, help="create the project, do not start the server")
def demo(path: str, host: str, port: int, password: str | None, no_serve: bool) -> None:
    """Create a demo project from bundled customer-service messages and serve it: a
    simulated team of four (one careless) has labelled part of it with overlap 3, gold, a
    review stage and adjudication, so every page has something true to show.

    Example: truelabel demo --port 8000
    """
    from truelabel.core import create_demo

    d = create_demo(path, password=password)
    with d.workspace:
        if d.created:
            t = Table("user", "role", "password", title="Demo logins")
            for name, pw in d.passwords.items():
                t.add_row(name, d.workspace.get_user(name).role.value, pw)
            out.print(t)
            console.print(d.story)
        else:
            console.print(
                f"Reusing {path} (users keep their passwords; "
                f"reset one with: truelabel user passwd {path} NAME)."
            )
        if not no_serve:
            from truelabel.server.run import serve as run

            out.print(f"Open http://{host}:{port}/login  (Ctrl+C stops)")
            sys.stdout.flush()
            run(d.workspace, host=host, port=port)


@main.command()
@click.argument("location")
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
def backup(location: str, out_path: str) -> None:
    """Back up a workspace to one .tar.gz, consistent while the server runs.

    The file is readable by its owner only (0600); keep it somewhere as safe as the
    workspace, since it holds password hashes, the secret key and gold answers.

    Example: truelabel backup myproject backups/myproject-2026-11-26.tar.gz
    """
    from truelabel.core import backup_workspace as run

    with open_workspace(location) as ws:
        m = run(ws, out_path)
    rows = sum(m["tables"].values())
    console.print(f"Backed up {rows:,} rows and {m['blobs']:,} blobs to {out_path}.")


@main.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.argument("location")
def restore(archive: str, location: str) -> None:
    """Restore a backup into a new folder (or an empty database URL).

    Everything is checked first (entry names and sizes against the manifest, every blob's
    hash, row counts, database integrity); the folder appears, or the database commits, only
    when all is well, and on any error nothing is left behind.

    Example: truelabel restore backups/myproject.tar.gz myproject-restored
    """
    from truelabel.core import restore_workspace as run

    m = run(archive, location)
    console.print(f"Restored {sum(m['tables'].values()):,} rows from {archive} into "
                  f"{location}.")


@main.command()
@click.argument("location")
def check(location: str) -> None:
    """Check a workspace's database integrity and truelabel's invariants.

    Example: truelabel check myproject
    """
    from truelabel.core import check_workspace as run

    with open_workspace(location) as ws:
        problems = run(ws)
    if problems:
        for p in problems:
            console.print(f"[red]problem:[/red] {p}")
        sys.exit(1)
    console.print("OK: the database passes its integrity check.")


@main.command("add-member")
@click.argument("location")
@click.argument("project_name", metavar="PROJECT")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["admin", "manager", "reviewer", "annotator"]),
    default="annotator",
    show_default=True,
    help="the user's role in this project",
)
def add_member(location: str, project_name: str, username: str, role: str) -> None:
    """Give a user a role in a project. Example: truelabel add-member p support alice"""
    with open_project(location, project_name) as p:
        p.add_member(username, role)
    console.print(f"{username} is now {role} in {project_name}.")


@main.command("create-project")
@click.argument("location")
@click.argument("name")
@click.option(
    "--schema", "schema_file", required=True, type=click.Path(exists=True, dir_okay=False),
    help="label schema (YAML/JSON, or a Label Studio XML config)",
)
@click.option("--overlap", default=1, show_default=True, help="annotators per item")
@click.option("--guidelines", type=click.Path(exists=True, dir_okay=False),
              help="Markdown guidelines shown beside each task")
def create_project(
    location: str, name: str, schema_file: str, overlap: int, guidelines: str | None
) -> None:
    """Create another project in a workspace.

    Example: truelabel create-project myproject reviews --schema reviews.yaml
    """
    _, schema = read_schema(schema_file)
    notes = read_text(guidelines, "guidelines") if guidelines else ""
    with open_workspace(location) as ws:  # one transaction: all or nothing
        ws.create_project(name, schema, title=schema.title.strip()[:300], overlap=overlap,
                          guidelines=notes)
    console.print(f"Created project {name}.")


@main.command("schema-types")
@click.option("--json-schema", is_flag=True, help="print the JSON Schema of schema files")
def schema_types(json_schema: bool) -> None:
    """List the field kinds a label schema can use (plug-ins included), by short type and
    versioned name. Example: truelabel schema-types"""
    from truelabel.domain.fields import field_kinds
    from truelabel.domain.schema import schema_json_schema

    if json_schema:
        out.print_json(json.dumps(schema_json_schema()))
        return
    t = Table("type", "kind", "what it holds")
    for name, cls in sorted(field_kinds().items(), key=lambda kv: kv[1].type_name):
        t.add_row(cls.type_name, name, cls.summary)
    out.print(t)


from . import (  # noqa: E402  (registered after main is defined)
    answers_cmds,
    priority_cmds,
    quality_cmds,
    truth_cmds,
    user_cmds,
)

answers_cmds.register(main)
quality_cmds.register(main)
truth_cmds.register(main)
priority_cmds.register(main)
user_cmds.register(main)


if __name__ == "__main__":  # python -m truelabel.cli.main
    main()
