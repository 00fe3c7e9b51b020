"""The quality workflow from the command line, at parity with ``/api/projects/{p}/...``:
the ``workflow``, ``gold`` and ``review`` groups (``truth_cmds``: adjudication, ground truth,
sign-off).

Each command parses, makes one ``Project`` call, and prints a table or ``--json``. Commands
that record a person's decision (a review, an adjudication, a sign-off) take ``--as USER``:
the member acting, whose role must allow it, exactly as over the API. Registered on the main
group by :func:`register`.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from .common import (
    actor_option,
    console,
    emit,
    json_arg,
    json_option,
    open_project,
    open_workspace,
    project_option,
    report,
)

__all__ = ["register"]

def _setting(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not NAME=VALUE; e.g. gold_rate=0.1.")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word: a string
    return name.strip(), value


def _kv_table(data: dict[str, Any], title: str) -> Table:
    t = Table("setting", "value", title=title, title_justify="left")
    for k, v in data.items():
        t.add_row(k, v if isinstance(v, str) else json.dumps(v))
    return t


# -- workflow --------------------------------------------------------------------------------
@click.group()
def workflow() -> None:
    """A project's quality workflow settings: show, set."""


@workflow.command("show")
@click.argument("location")
@project_option
@json_option
def workflow_show(location: str, project_name: str | None, as_json: bool) -> None:
    """Show the workflow settings (gold rate, review stages, adjudication...).

    Example: truelabel workflow show myproject
    """
    with open_project(location, project_name) as p:
        data = p.workflow().model_dump(mode="json")
    emit(data, as_json, lambda: _kv_table(data, "Workflow"))


@workflow.command("set")
@click.argument("location")
@click.argument("settings", nargs=-1, required=True, metavar="NAME=VALUE...")
@project_option
@json_option
def workflow_set(location: str, settings: tuple[str, ...], project_name: str | None,
                 as_json: bool) -> None:
    """Change some workflow settings; VALUE is JSON (a bare word is a string). Unknown names
    are refused with the list of known ones.

    \b
    Example: truelabel workflow set myproject gold_rate=0.1 adjudication_threshold=0.5
    Example: truelabel workflow set myproject
    'review_stages=[{"name": "review", "role": "reviewer", "sample_rate": 1}]'
    """
    values = dict(_setting(s) for s in settings)
    with open_project(location, project_name) as p:
        data = p.set_workflow(values).model_dump(mode="json")
    emit(data, as_json, lambda: _kv_table(data, "Workflow"))


# -- gold ------------------------------------------------------------------------------------
@click.group()
def gold() -> None:
    """Gold items (known answers): list, add, import, remove."""


@gold.command("list")
@click.argument("location")
@project_option
@json_option
def gold_list(location: str, project_name: str | None, as_json: bool) -> None:
    """List every gold item with its known answer.

    Example: truelabel gold list myproject --json
    """
    with open_project(location, project_name) as p:
        rows = [{"item_id": i, "value": v} for i, v in sorted(p.gold().items())]

    def table() -> Table:
        t = Table("item", "known answer")
        for r in rows:
            t.add_row(str(r["item_id"]), json.dumps(r["value"], ensure_ascii=False))
        return t

    emit(rows, as_json, table)


@gold.command("add")
@click.argument("location")
@click.argument("item_id", type=int)
@click.argument("value")
@project_option
@json_option
def gold_add(location: str, item_id: int, value: str, project_name: str | None,
             as_json: bool) -> None:
    """Make item ITEM_ID a gold item with known answer VALUE (JSON: field name -> answer).

    Example: truelabel gold add myproject 12 '{"sentiment": "negative"}'
    """
    answer = json_arg(value, "VALUE")
    with open_project(location, project_name) as p:
        clean = p.set_gold(item_id, answer, source="cli")
    data = {"item_id": item_id, "value": clean}
    report(data, as_json, f"Item {item_id} is gold: {json.dumps(clean, ensure_ascii=False)}.")


@gold.command("import")
@click.argument("location")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@project_option
@click.option("--id-field", default="id", show_default=True,
              help="the column holding the item's own (external) id")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="default: from the file name")
@json_option
def gold_import(location: str, file: str, project_name: str | None, id_field: str,
                fmt: str | None, as_json: bool) -> None:
    """Import known answers from a file, one record per item (all or nothing).

    Example: truelabel gold import myproject gold.csv --id-field id
    """
    with open_project(location, project_name) as p:
        n = p.import_gold(file, id_field=id_field, fmt=fmt)
    report({"imported": n, "source": file}, as_json, f"Imported {n:,} gold answers from {file}.")


@gold.command("remove")
@click.argument("location")
@click.argument("item_id", type=int)
@project_option
def gold_remove(location: str, item_id: int, project_name: str | None) -> None:
    """Item ITEM_ID is no longer gold; it returns to the pool.

    Example: truelabel gold remove myproject 12
    """
    with open_project(location, project_name) as p:
        p.unset_gold(item_id)
    console.print(f"Item {item_id} is no longer gold.")


# -- review ----------------------------------------------------------------------------------
@click.group()
def review() -> None:
    """Review annotations in stages: next, decide."""


@review.command("next")
@click.argument("location")
@actor_option
@project_option
@click.option("--stage", help="stage number (1-based) or name [default: the first]")
@json_option
def review_next(location: str, actor_name: str, project_name: str | None, stage: str | None,
                as_json: bool) -> None:
    """The next annotation waiting for USER's review, with its item and the other labels.

    Example: truelabel review next myproject --as rita --stage 1
    """
    with open_workspace(location) as ws:
        view = ws.project(project_name).next_review(ws.get_user(actor_name), stage=stage)
    if view is None:
        report(None, as_json, "Nothing is waiting for review at this stage.")
        return
    emit(view, True)


@review.command("decide")
@click.argument("location")
@click.argument("annotation_id", type=int)
@click.argument("decision", type=click.Choice(["accept", "reject", "correct"]))
@actor_option
@project_option
@click.option("--stage", help="stage number (1-based) or name [default: the first]")
@click.option("--comment", default="", help="why (required to reject)")
@click.option("--value", help="the corrected annotation, JSON (with 'correct')")
@json_option
def review_decide(location: str, annotation_id: int, decision: str, actor_name: str,
                  project_name: str | None, stage: str | None, comment: str,
                  value: str | None, as_json: bool) -> None:
    """Accept, reject (the item returns to the queue) or correct an annotation.

    Example: truelabel review decide myproject 41 reject --as rita --comment "sarcasm"
    """
    corrected = json_arg(value, "--value") if value is not None else None
    with open_workspace(location) as ws:
        result = ws.project(project_name).review(
            annotation_id, decision, ws.get_user(actor_name), stage=stage, comment=comment,
            value=corrected)
    report(result, as_json, f"Annotation {annotation_id}: {decision} recorded.")


def register(main: click.Group) -> None:
    """Add the workflow, gold and review groups to ``main``."""
    for group in (workflow, gold, review):
        main.add_command(group)
