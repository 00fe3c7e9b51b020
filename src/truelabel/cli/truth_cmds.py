"""Adjudication, ground truth and sign-off from the command line, at parity with
``/api/projects/{p}/adjudications``, ``/aggregate``, ``/ground-truth`` and ``/signoffs``.

Each command parses, makes one ``Project`` call, and prints a table or ``--json``; the ones
that record a person's decision take ``--as USER``. Registered on the main group by
:func:`register`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.table import Table

from .common import (
    actor_option,
    emit,
    fit_options,
    json_arg,
    json_option,
    open_project,
    open_workspace,
    project_option,
    report,
)

__all__ = ["register"]



# -- adjudication ----------------------------------------------------------------------------
@click.group()
def adjudication() -> None:
    """Items annotators disagree on beyond the threshold: list, decide."""


@adjudication.command("list")
@click.argument("location")
@project_option
@click.option("--status", type=click.Choice(["open", "decided"]), default="open",
              show_default=True, help="waiting items, or those already decided")
@json_option
def adjudication_list(location: str, project_name: str | None, status: str,
                      as_json: bool) -> None:
    """Items waiting for (or given) an adjudicated label, with every annotator's label.

    Example: truelabel adjudication list myproject
    """
    with open_project(location, project_name) as p:
        rows = p.adjudication_queue(status=status)

    def table() -> Table:
        t = Table("item", "your id", "reason", "labels")
        for r in rows:
            t.add_row(str(r["item_id"]), str(r["external_id"] or ""), str(r["reason"] or ""),
                      str(len(r["annotations"])))
        return t

    emit(rows, as_json, table)


@adjudication.command("decide")
@click.argument("location")
@click.argument("item_id", type=int)
@click.argument("value")
@actor_option
@project_option
@click.option("--comment", default="", help="why this label")
@json_option
def adjudication_decide(location: str, item_id: int, value: str, actor_name: str,
                        project_name: str | None, comment: str, as_json: bool) -> None:
    """Decide item ITEM_ID's label (VALUE, JSON); it becomes its ground truth.

    Example: truelabel adjudication decide myproject 7 '{"sentiment": "neutral"}' --as mia
    """
    decided = json_arg(value, "VALUE")
    with open_workspace(location) as ws:
        clean = ws.project(project_name).adjudicate(item_id, decided, ws.get_user(actor_name),
                                                    comment=comment)
    data = {"item_id": item_id, "value": clean}
    report(data, as_json, f"Item {item_id} decided: {json.dumps(clean, ensure_ascii=False)}.")


# -- ground truth ----------------------------------------------------------------------------
@click.group()
def truth() -> None:
    """Ground truth: aggregate the annotations, show the result."""


@truth.command("aggregate")
@click.argument("location")
@project_option
@fit_options
@json_option
def truth_aggregate(location: str, project_name: str | None, method: str,
                    max_iter: int | None, tol: float | None, as_json: bool) -> None:
    """Compute ground truth for every field (adjudicated items keep their decision).

    Example: truelabel truth aggregate myproject --method majority
    """
    with open_project(location, project_name) as p:
        summary = p.aggregate(method=method, max_iter=max_iter, tol=tol)

    def table() -> Table:
        t = Table("field", "summary", title=f"Ground truth ({method})", title_justify="left")
        for field, info in summary["fields"].items():
            t.add_row(str(field), json.dumps(info, default=str))
        return t

    emit(summary, as_json, table)


@truth.command("show")
@click.argument("location")
@project_option
@click.option("--item", "item_id", type=int, help="only this item")
@json_option
def truth_show(location: str, project_name: str | None, item_id: int | None,
               as_json: bool) -> None:
    """Per item and field: the ground-truth value, its confidence and method.

    Example: truelabel truth show myproject --item 7 --json
    """
    with open_project(location, project_name) as p:
        rows: list[dict[str, Any]] = [
            {"item_id": i, "fields": f} for i, f in sorted(p.ground_truth(item_id=item_id).items())
        ]

    def table() -> Table:
        t = Table("item", "field", "value", "confidence", "method")
        for r in rows:
            for name, v in r["fields"].items():
                conf = v.get("confidence")
                t.add_row(str(r["item_id"]), name, json.dumps(v.get("value"), ensure_ascii=False),
                          "" if conf is None else f"{conf:.3f}", str(v.get("method", "")))
        return t

    emit(rows, as_json, table)


# -- sign-off --------------------------------------------------------------------------------
@click.group()
def signoff() -> None:
    """QA-lead sign-offs with their frozen evidence: create, list."""


@signoff.command("create")
@click.argument("location")
@actor_option
@project_option
@click.option("--comment", default="", help="what the sign-off covers")
@click.option("--override-reason", default="",
              help="sign off despite open adjudications or low agreement, saying why "
                   "(recorded with the sign-off and in the audit log)")
@json_option
def signoff_create(location: str, actor_name: str, project_name: str | None, comment: str,
                   override_reason: str, as_json: bool) -> None:
    """Sign the project off as USER; the quality report is frozen with it as evidence.

    Open adjudications or agreement below the workflow's min_agreement refuse it unless
    --override-reason says why.

    Example: truelabel signoff create myproject --as qa-lead --comment "batch 3"
    """
    with open_workspace(location) as ws:
        result = ws.project(project_name).sign_off(
            ws.get_user(actor_name), comment=comment, override_reason=override_reason)
    note = f" Overridden: {result['override_reason']}" if result["override_reason"] else ""
    report(result, as_json, f"Signed off as {actor_name} (sign-off {result['id']}).{note}")


@signoff.command("check")
@click.argument("location")
@actor_option
@project_option
@json_option
def signoff_check(location: str, actor_name: str, project_name: str | None,
                  as_json: bool) -> None:
    """What a sign-off now would be warned about: open adjudications, low agreement.

    Example: truelabel signoff check myproject --as qa-lead
    """
    with open_workspace(location) as ws:
        found = ws.project(project_name).signoff_warnings(actor=ws.get_user(actor_name))

    def table() -> Table:
        t = Table("warning", "detail")
        for w in found:
            t.add_row(w["code"], w["message"])
        return t

    emit({"warnings": found}, as_json, table)


@signoff.command("list")
@click.argument("location")
@project_option
@json_option
def signoff_list(location: str, project_name: str | None, as_json: bool) -> None:
    """Every sign-off, newest last, with its evidence (in --json).

    Example: truelabel signoff list myproject
    """
    with open_project(location, project_name) as p:
        rows = p.signoffs()

    def table() -> Table:
        t = Table("id", "by", "when (UTC)", "comment")
        for r in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["created_at"]))
            t.add_row(str(r["id"]), r["username"], when, r["comment"])
        return t

    emit(rows, as_json, table)


def register(main: click.Group) -> None:
    """Add the adjudication, truth and signoff groups to ``main``."""
    for group in (adjudication, truth, signoff):
        main.add_command(group)
