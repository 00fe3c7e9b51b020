"""``truelabel priority set``: the claim order's priorities (docs/loop.md, "The claim order").

Parses, makes one call into ``truelabel.core`` (``Project.set_priorities``), prints the
result. Registered on the main group by :func:`register`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from truelabel.core import Workspace
from truelabel.domain.errors import InvalidInput

__all__ = ["register"]


@click.group()
def priority() -> None:
    """Which items annotators get first: higher priority first, then item id."""


@priority.command("set")
@click.argument("location")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--project", "-p", "project_name", help="project name (if several)")
@click.option("--items", help="comma-separated item ids to set to --priority")
@click.option("--external-ids", help="comma-separated external ids to set to --priority")
@click.option("--priority", "value", type=int, help="the priority for --items/--external-ids")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def set_(location: str, file: str | None, project_name: str | None, items: str | None,
         external_ids: str | None, value: int | None, as_json: bool) -> None:
    """Set items' priorities, from FILE or for --items/--external-ids.

    FILE is CSV (a `priority` column and an `item_id` or `external_id` column) or JSON
    Lines ({"item_id" or "external_id": ..., "priority": ...}). All or nothing: an unknown
    item changes nothing. Every annotator's next task follows the new order.

    Example: truelabel priority set myproject priorities.csv

    Example: truelabel priority set myproject --items 17,18,40 --priority 10
    """
    by_id: dict[int, int] = {}
    by_ext: dict[str, int] = {}
    if file is not None:
        if items or external_ids or value is not None:
            raise click.UsageError("Give FILE or --items/--external-ids, not both.")
        _read(Path(file), by_id, by_ext)
    else:
        if value is None or not (items or external_ids):
            raise click.UsageError("Give FILE, or --items/--external-ids with --priority.")
        try:
            by_id = dict.fromkeys((int(i) for i in _split(items)), value)
        except ValueError:
            raise click.UsageError(
                "--items takes item ids (whole numbers), comma-separated.") from None
        by_ext = dict.fromkeys(_split(external_ids), value)
    with Workspace.open(location) as ws:
        n = ws.project(project_name).set_priorities(
            by_id, by_external_id=by_ext, source=Path(file).name if file else "cli")
    click.echo(json.dumps({"set": n}) if as_json else f"Set the priority of {n:,} items.")


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _read(path: Path, by_id: dict[int, int], by_ext: dict[str, int]) -> None:
    """Fill ``by_id``/``by_ext`` from a CSV or JSON Lines file of priorities."""
    rows: list[dict[str, Any]]
    with path.open(encoding="utf-8", newline="") as f:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            try:
                rows = [json.loads(line) for line in f if line.strip()]
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path.name} line {exc.lineno}: not JSON ({exc.msg}); "
                                   "give one JSON object per line.") from None
        else:
            rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "priority" not in row:
            raise InvalidInput(f"{path.name} row {n} has no priority; give a priority and an "
                               "item_id or external_id for every row. Nothing was changed.")
        try:
            p = int(row["priority"])
            key = row.get("item_id") or None
            target: dict[Any, int] = by_id if key is not None else by_ext
            key = int(key) if key is not None else row.get("external_id") or None
        except (TypeError, ValueError):
            raise InvalidInput(f"{path.name} row {n}: the priority and item_id must be whole "
                               "numbers. Nothing was changed.") from None
        if key is None:
            raise InvalidInput(f"{path.name} row {n} names no item; give an item_id or an "
                               "external_id. Nothing was changed.")
        if key in target:
            raise InvalidInput(f"{path.name} lists item {key!r} twice (row {n}); give each "
                               "item once. Nothing was changed.")
        target[key] = p


def register(group: click.Group) -> None:
    """Add ``priority`` to the ``truelabel`` command group."""
    group.add_command(priority)
