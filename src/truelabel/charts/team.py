"""The team page's charts, drawn from the plain data of a team report
(``truelabel.core.team.team_report``). :func:`team_chart` picks one by name, for the server's
``/team/charts/{name}.svg``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .series import columns, heatmap
from .svg import Bar, bars

__all__ = ["TEAM_CHARTS", "team_chart"]


def _per_day(report: Mapping[str, Any]) -> str:
    rows = report["throughput"]["per_day"]
    return columns(
        [r["date"][5:] for r in rows], [r["labels"] for r in rows],
        title="Labels per day", axis="day (month-day)", unit=" labels",
    )


def _per_hour(report: Mapping[str, Any]) -> str:
    rows = report["throughput"]["per_hour"]
    return columns(
        [r["hour"][11:13] for r in rows], [r["labels"] for r in rows],
        title="Labels per hour, last 48 hours", axis="hour (UTC)", unit=" labels",
        label_every=6,
    )


def _activity(report: Mapping[str, Any]) -> str:
    act = report["activity"]
    days = [d[5:] for d in act["days"]]
    return heatmap(
        [r["annotator"] for r in act["rows"]], days, [r["counts"] for r in act["rows"]],
        title="Activity: labels per annotator and day",
        col_every=max(1, len(days) // 16),
        empty="No annotator has submitted a label in this period.",
    )


def _time_per_item(report: Mapping[str, Any]) -> str:
    rows = [
        Bar(a["annotator"], a["median"], a["p25"], a["p75"], note=f"n={a['n']}")
        for a in report["time_per_item"]["annotators"] if a["n"]
    ]
    return bars(
        rows, title="Time per item (median, seconds)",
        axis="seconds per label (whiskers: middle half, 25th to 75th percentile)",
        domain=(0.0, 1.0), empty="No timed label in this period.",
    )


def _durations(report: Mapping[str, Any]) -> str:
    t = report["time_per_item"]
    edges = t["bins"]
    names = [f"<{edges[0]}s"] + [f"{a}–{b}s" for a, b in zip(edges, edges[1:], strict=False)]
    names.append(f"≥{edges[-1]}s")
    return columns(
        names, t["overall"]["histogram"], title="Time per item: every label",
        axis="seconds per label", unit=" labels", label_every=1, min_width=420,
    )


def _queue(report: Mapping[str, Any]) -> str:
    rows = report["queue"]["per_day"]
    return columns(
        [r["date"][5:] for r in rows], [r["labels_needed"] for r in rows],
        title="Queue depth: labels still needed at each day's end", axis="day (month-day)",
        unit=" labels",
    )


_DRAW = {
    "per-day": _per_day,
    "per-hour": _per_hour,
    "activity": _activity,
    "time": _time_per_item,
    "durations": _durations,
    "queue": _queue,
}
TEAM_CHARTS = tuple(_DRAW)


def team_chart(report: Mapping[str, Any], name: str) -> str:
    """The chart ``name`` (one of :data:`TEAM_CHARTS`) of a team report; LookupError for an
    unknown name."""
    try:
        draw = _DRAW[name]
    except KeyError:
        raise LookupError(f"No team chart {name!r}; charts are {list(TEAM_CHARTS)}.") from None
    return draw(report)
