"""``truelabel agreement``, ``truelabel aggregate`` (answer files from any tool) and
``truelabel quality`` (a project's quality report).

Each command parses, makes one call into ``truelabel.core``, and prints rich tables (stdout) or
``--json``. Registered on the main group by :func:`register`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from truelabel.core import (
    DUPLICATES,
    LEVELS,
    METRICS,
    TIES,
    WEIGHTS,
)
from truelabel.domain.environment import TOKEN

from .common import fit_options, fit_rows

__all__ = ["register"]

# Consoles resolve sys.stdout/stderr when printing, so CliRunner captures them.
out = Console()
console = Console(stderr=True)

ITEM_ROWS = 20
"""Per-item rows shown by ``aggregate`` without --out (all of them go to --out or --json)."""
PAIR_ROWS = 50
"""Annotator pairs shown by ``agreement --pairs`` (lowest agreement first; all with --json)."""


def _fmt(x: Any, digits: int = 3) -> str:
    return "N/A" if x is None else f"{x:.{digits}f}"


def _print_json(data: Any) -> None:
    # Plain json: rich's highlighter is slow on tens of thousands of rows.
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _column_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--item-col", help="item column [default: item, else question, task, id...]"),
        click.option("--annotator-col",
                     help="annotator column [default: annotator, else worker, rater...]"),
        click.option("--label-col", help="label column [default: label, else answer, value...]"),
        click.option("--gold", "gold", type=click.Path(dir_okay=False),
                     help="known answers: a file with item and label columns"),
        click.option("--gold-item-col",
                     help="item column of --gold [default: FILE's item column, else item, q...]"),
        click.option("--gold-label-col",
                     help="label column of --gold [default: label, else truth, gold...]"),
        click.option("--project", "-p", "project_name",
                     help="SOURCE is a workspace or server: the project (if several)"),
        click.option("--field", help="the question to use when SOURCE holds several "
                     "(a project, or a file with a field column)"),
        click.option("--token", envvar=TOKEN.name, show_envvar=True,
                     help="API token when SOURCE is a server URL"),
        click.option("--json", "as_json", is_flag=True, help="print JSON"),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _columns_line(data: dict[str, Any]) -> str:
    c = data["columns"]
    return f"columns: item={c['item']}, annotator={c['annotator']}, label={c['label']}"


def _missing_notes(data: dict[str, Any]) -> list[str]:
    notes = []
    if data["answers_without_label"]:
        notes.append(f"{data['answers_without_label']:,} answer(s) had an empty label and were "
                     "left out.")
    if data["items_without_label"]:
        sample = ", ".join(map(str, data["items_without_label_sample"][:5]))
        notes.append(f"{data['items_without_label']:,} item(s) have no label: {sample}"
                     + ("..." if data["items_without_label"] > 5 else ""))
    return notes


# -- agreement ------------------------------------------------------------------------------


@click.command()
@click.argument("file", metavar="SOURCE")
@click.option("--metric", type=click.Choice(METRICS), default="alpha", show_default=True,
              help="alpha: Krippendorff; fleiss; cohen: exactly two annotators; percent")
@click.option("--level", type=click.Choice(LEVELS), default="nominal", show_default=True,
              help="level of measurement (alpha)")
@click.option("--order", "order_text", metavar="A,B,C",
              help="with --level ordinal or --weights: every label, lowest first "
                   "(default: sorted)")
@click.option("--weights", type=click.Choice(WEIGHTS), help="weighted Cohen's kappa")
@click.option("--pairs", is_flag=True, help="also score every annotator pair")
@click.option("--resamples", default=1000, show_default=True, help="bootstrap resamples")
@click.option("--seed", default=0, show_default=True, help="bootstrap seed")
@click.option("--confidence", default=0.95, show_default=True, help="interval coverage")
@click.option("--duplicates", type=click.Choice(DUPLICATES), default="first", show_default=True,
              help="an annotator who answered an item twice: keep which answer")
@_column_options
def agreement(
    file: str, metric: str, level: str, order_text: str | None, weights: str | None,
    pairs: bool, resamples: int,
    seed: int, confidence: float, duplicates: str, item_col: str | None,
    annotator_col: str | None, label_col: str | None, gold: str | None,
    gold_item_col: str | None, gold_label_col: str | None, project_name: str | None,
    field: str | None, token: str | None, as_json: bool,
) -> None:
    """Agreement between annotators in an answers file or a project, with a bootstrap
    interval.

    SOURCE is CSV, JSONL or Parquet with one row per answer: item, annotator, label (from any
    tool); or a project: its workspace folder (-p if several) or a server URL (--token), whose
    answers export is read (--field picks the question). Prints the coefficient, its interval
    (items resampled) and a per-label breakdown.

    \b
    Example: truelabel agreement answers.csv --metric alpha --level ordinal --pairs
    Example: truelabel agreement ratings.csv --level ordinal --order bad,ok,good
    Example: truelabel agreement two.csv --metric cohen --weights linear --order low,mid,high
    Example: truelabel agreement myproject --field sentiment
    """
    from truelabel.core import agreement_from_file, answers_input

    order = [x.strip() for x in order_text.split(",")] if order_text is not None else None
    with answers_input(file, project=project_name, token=token) as path:
        data = agreement_from_file(
            path, metric=metric, level=level, order=order, weights=weights, pairs=pairs, gold=gold,
            n_resamples=resamples, confidence=confidence, seed=seed, duplicates=duplicates,
            item_col=item_col, annotator_col=annotator_col, label_col=label_col,
            gold_item_col=gold_item_col, gold_label_col=gold_label_col, field=field,
        )
    if as_json:
        _print_json(data)
        return
    ci = data["ci"]
    head = f"[bold]{data['metric_name']}[/bold] = {_fmt(data['value'])}"
    if ci:
        head += (f"   {ci['confidence']:.0%} CI [{_fmt(ci['low'])}, {_fmt(ci['high'])}]"
                 f"  ({ci['resamples']:,} resamples, seed {ci['seed']})")
    out.print(head)
    out.print(
        f"{data['items']:,} items ({data['items_pairable']:,} with two or more answers), "
        f"{data['annotators']:,} annotators, {data['answers']:,} answers; {_columns_line(data)}",
        highlight=False,
    )
    if data.get("order") is not None:
        how = ("as given" if data["order_given"] else "numeric values" if data["level"] in (
            "interval", "ratio") else "the labels sorted; set it with --order")
        out.print(f"order: {' < '.join(map(str, data['order']))} ({how})", highlight=False)
    notes = _missing_notes(data)
    if data["duplicates"]["found"]:
        notes.append(f"{data['duplicates']['found']:,} repeated answer(s) of one annotator on one "
                     f"item; kept the {data['duplicates']['kept']} (see --duplicates).")
    if data.get("note"):
        notes.append(data["note"])
    t = Table("label", "agreement", "items", "answers", "note",
              title="Per label (one-vs-rest)", title_justify="left")
    for row in data["per_label"]:
        t.add_row(str(row["label"]), _fmt(row["value"]), f"{row['items']:,}",
                  f"{row['answers']:,}", row["note"] or "")
    out.print(t)
    if "pairs" in data:
        rows = sorted(data["pairs"], key=lambda p: (p["value"] is None, p["value"] or 0.0))
        t = Table("annotator", "annotator", "shared items", data["pair_metric"], "note",
                  title="Annotator pairs (lowest first)", title_justify="left")
        for p in rows[:PAIR_ROWS]:
            t.add_row(str(p["a"]), str(p["b"]), f"{p['items']:,}", _fmt(p["value"]),
                      p["note"] or "")
        if len(rows) > PAIR_ROWS:
            t.caption = f"{len(rows) - PAIR_ROWS:,} more pairs; see them all with --json"
        out.print(t)
    if "gold" in data:
        _print_gold(data["gold"])
        t = Table("annotator", "gold answers", "accuracy on gold", title="Annotators on gold",
                  title_justify="left")
        for row in data["gold"]["annotators"]:
            t.add_row(str(row["annotator"]), f"{row['gold_answers']:,}", _fmt(row["accuracy"]))
        out.print(t)
    for n in notes:
        console.print(f"[yellow]Note:[/yellow] {n}", highlight=False)


def _print_gold(g: dict[str, Any]) -> None:
    line = (f"gold: {g['items']:,} items in {g['file']}, {g['items_answered']:,} answered; "
            f"{g['answers_on_gold']:,} answers on gold, "
            f"{_fmt(g['answers_correct_share'])} of them correct")
    out.print(line, highlight=False)
    if g.get("note"):
        console.print(f"[yellow]Note:[/yellow] {g['note']}", highlight=False)


# -- aggregate ------------------------------------------------------------------------------



def _calibration_line(cal: dict[str, Any]) -> str:
    """How the confidence was calibrated, and the ECE on gold (out-of-fold) when measured."""
    line = str(cal["method"]) + (f", T = {cal['temperature']:.3g}" if "temperature" in cal
                                 else "")
    if cal.get("ece_raw") is not None:
        line += (f"; ECE on {cal['gold_items']:,} gold items (out-of-fold) "
                 f"{_fmt(cal['ece_raw'])} raw -> {_fmt(cal['ece_calibrated'])}")
    if "mean_confidence_raw" in cal:
        line += f"; raw mean confidence {_fmt(cal['mean_confidence_raw'])}"
    return line


@click.command()
@click.argument("file", metavar="SOURCE")
@fit_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="write item, label, confidence per item (.csv, .jsonl or .parquet)")
@click.option("--tie", type=click.Choice(TIES), default="lowest", show_default=True,
              help="a tie for the top label goes to the first in sorted order, or a random one")
@click.option("--seed", default=0, show_default=True,
              help="seed for --tie random, auto's held-out folds and the calibration's gold folds")
@_column_options
def aggregate(
    file: str, method: str, max_iter: int | None, tol: float | None, out_path: str | None,
    tie: str, seed: int, item_col: str | None,
    annotator_col: str | None, label_col: str | None, gold: str | None,
    gold_item_col: str | None, gold_label_col: str | None, project_name: str | None,
    field: str | None, token: str | None, as_json: bool,
) -> None:
    """One label per item from an answers file or a project, with its confidence.

    SOURCE is CSV, JSONL or Parquet with one row per answer: item, annotator, label (from any
    tool); or a project: its workspace folder (-p if several) or a server URL (--token), whose
    answers export is read (--field picks the question). Prints a summary and each
    annotator's estimated accuracy (and accuracy on --gold).

    Example: truelabel aggregate answers.csv --method dawid_skene --out labels.csv
    Example: truelabel aggregate https://labels.example.org -p support --field intent
    """
    from truelabel.core import aggregate_from_file, answers_input

    with answers_input(file, project=project_name, token=token) as path:
        data = aggregate_from_file(
            path, method=method, gold=gold, out=out_path, tie=tie, seed=seed,
            max_iter=max_iter, tol=tol, item_col=item_col, annotator_col=annotator_col,
            label_col=label_col,
            gold_item_col=gold_item_col, gold_label_col=gold_label_col, field=field,
        )
    if as_json:
        if out_path:
            data.pop("results")
        _print_json(data)
        return
    s = Table("", "", show_header=False, title=f"Aggregation: {data['engine']}",
              title_justify="left")
    s.add_row("items", f"{data['items']:,}")
    s.add_row("items with a label", f"{data['items_labelled']:,}")
    s.add_row("mean confidence", _fmt(data["mean_confidence"]))
    s.add_row("calibration", _calibration_line(data["calibration"]))
    s.add_row("ties", f"{data['tied']:,}")
    s.add_row("answers", f"{data['answers']:,}")
    s.add_row("annotators", f"{data['annotators_count']:,}")
    s.add_row("labels", ", ".join(map(str, data["labels"][:20])))
    fit_rows(s, data)
    if "default_weight" in data:
        s.add_row("weight without gold answers", _fmt(data["default_weight"]))
    if data.get("unweighted_fallback"):
        s.add_row("unweighted vote (weights all 0)", f"{data['unweighted_fallback']:,}")
    if "gold" in data:
        g = data["gold"]
        s.add_row("accuracy on gold",
                  f"{_fmt(g['accuracy'])} ({g['correct']:,} of {g['items_scored']:,} items)")
    if data["out"]:
        s.add_row("written to", data["out"])
    out.print(s)
    out.print(_columns_line(data), highlight=False)
    with_gold = "gold" in data
    cols = ["annotator", "answers", "estimated accuracy"]
    if with_gold:
        cols += ["gold answers", "accuracy on gold"]
    t = Table(*cols, title="Annotators (least accurate first)", title_justify="left")
    rows = sorted(data["annotators"], key=lambda r: (r["estimated_accuracy"] is None,
                                                     r["estimated_accuracy"] or 0.0))
    for r in rows:
        cells = [str(r["annotator"]), f"{r['answers']:,}", _fmt(r["estimated_accuracy"])]
        if with_gold:
            cells += [f"{r['gold_answers']:,}", _fmt(r["gold_accuracy"])]
        t.add_row(*cells)
    out.print(t)
    if not data["out"]:
        t = Table("item", "label", "confidence", "answers", "tied", title="Labels",
                  title_justify="left")
        for r in data["results"][:ITEM_ROWS]:
            t.add_row(str(r["item"]), "(no label)" if r["label"] is None else str(r["label"]),
                      _fmt(r["confidence"]), f"{r['answers']:,}", "yes" if r["tied"] else "")
        if len(data["results"]) > ITEM_ROWS:
            t.caption = (f"{len(data['results']) - ITEM_ROWS:,} more items; write them all "
                         "with --out labels.csv")
        out.print(t)
    if with_gold and data["gold"].get("note"):
        console.print(f"[yellow]Note:[/yellow] {data['gold']['note']}", highlight=False)
    for n in _missing_notes(data):
        console.print(f"[yellow]Note:[/yellow] {n}", highlight=False)


# -- quality --------------------------------------------------------------------------------


@click.command()
@click.argument("location")
@click.option("--project", "-p", "project_name", help="project name (if several)")
@click.option("--resamples", default=500, show_default=True,
              help="bootstrap resamples for the agreement intervals")
@click.option("--order", "orders", multiple=True, metavar="FIELD=A,B,C",
              help="ordinal agreement on FIELD in this label order, lowest first (default: "
                   "the schema's); repeatable")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def quality(location: str, project_name: str | None, resamples: int, orders: tuple[str, ...],
            as_json: bool) -> None:
    """A project's quality report: progress, agreement, annotators, hot spots.

    Agreement per field comes with its bootstrap interval; annotator scorecards mark the
    flagged ones; hot spots are the items annotators disagree on most.

    \b
    Example: truelabel quality myproject --resamples 1000
    Example: truelabel quality myproject --order tone=rude,neutral,polite
    """
    from truelabel.core import Workspace, parse_label_orders

    given = parse_label_orders(orders)
    ws = Workspace.open(location)
    try:
        rep = ws.project(project_name).quality_report(n_resamples=resamples, orders=given)
    finally:
        ws.close()
    if as_json:
        _print_json(rep)
        return
    _print_report(rep)


def _print_report(rep: dict[str, Any]) -> None:
    p = rep["progress"]
    t = Table("", "", show_header=False, title=f"Project {rep['project']}", title_justify="left")
    t.add_row("items", f"{p.get('items', 0):,}")
    t.add_row("labelled", f"{p.get('labeled', 0):,}")
    t.add_row("in progress", f"{p.get('in_progress', 0):,}")
    t.add_row("annotations", f"{p.get('submitted', 0):,}")
    t.add_row("gold items", f"{p.get('gold_items', 0):,}")
    t.add_row("items with ground truth", f"{p.get('ground_truth_items', 0):,}")
    reviews = p.get("reviews") or []
    if reviews:
        t.add_row("reviews", ", ".join(
            f"stage {r['stage']} {r['decision']}: {r['n']:,}" for r in reviews))
    if p.get("adjudication"):
        t.add_row("adjudication", ", ".join(f"{k}: {v:,}" for k, v in p["adjudication"].items()))
    out.print(t)

    t = Table("field", "type", "measure", "value", "interval", "percent", "note",
              title="Agreement (non-gold items)", title_justify="left")
    for name, f in rep["fields"].items():
        if "f1_exact" in f:
            t.add_row(name, f["type"], f["metric"], _fmt(f["f1_exact"]), "",
                      "", f"overlap F1 {_fmt(f['f1_overlap'])}, {f['documents']:,} documents")
            continue
        value = f.get("alpha")
        interval = (f"[{_fmt(f['ci_low'])}, {_fmt(f['ci_high'])}]"
                    if f.get("ci_low") is not None else "")
        note = f.get("error", "")
        if f.get("order"):
            note = "; ".join(filter(None, ["order " + " < ".join(map(str, f["order"])), note]))
        t.add_row(name, f["type"], f.get("metric", ""), _fmt(value), interval,
                  _fmt(f.get("percent_agreement")), note)
    out.print(t)

    t = Table("annotator", "answers", "gold accuracy", "gold 95% CI", "agrees with consensus",
              "median s", "", title="Annotators", title_justify="left")
    for c in rep["annotators"]:
        gold = (f"{_fmt(c['gold_accuracy'])} ({c['gold_correct']}/{c['gold_answered']})"
                if c["gold_answered"] else "N/A")
        ci = f"[{_fmt(c['gold_ci'][0])}, {_fmt(c['gold_ci'][1])}]" if c["gold_ci"] else ""
        agree = (f"{_fmt(c['agreement_with_aggregate'])} ({c['compared']:,})"
                 if c["agreement_with_aggregate"] is not None else "N/A")
        median = "" if c["median_seconds"] is None else f"{c['median_seconds']:.1f}"
        t.add_row(c["annotator"], f"{c['volume']:,}", gold, ci, agree, median,
                  "[bold red]FLAGGED[/bold red]" if c["flagged"] else "")
    out.print(t)

    if rep.get("calibration"):
        t = Table("field", "aggregation", "calibration", title="Calibrated confidence",
                  title_justify="left")
        for name, c in rep["calibration"].items():
            t.add_row(name, str(c.get("aggregation", "")), _calibration_line(c))
        out.print(t)

    if rep["hot_spots"]:
        t = Table("item", "field", "majority share", "labels",
                  title="Hot spots (least agreement)", title_justify="left")
        for h in rep["hot_spots"]:
            t.add_row(str(h["item_id"]), h["field"], _fmt(h["majority_share"], 2),
                      ", ".join(f"{k}: {v}" for k, v in h["labels"].items()))
        out.print(t)
    else:
        out.print("No hot spots: every item with two or more answers is unanimous.")


def register(group: click.Group) -> None:
    """Add ``agreement``, ``aggregate`` and ``quality`` to the ``truelabel`` command group."""
    group.add_command(agreement)
    group.add_command(aggregate)
    group.add_command(quality)
