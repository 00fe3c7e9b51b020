"""The managers' view of the team: throughput over time, time per item, activity by day and
annotator, and the queue's depth (``project.team_report``, ``/api/projects/{p}/team``).

Counting rules (the store's ``team`` module holds the SQL):

- a *label* is an annotator's first answer to a task; edits and reviewers' corrections are not
  counted again;
- the *time per item* is the annotator's on-screen time when the client sent it
  (``time_spent_ms``), else the time from claiming the task to submitting it;
- days and hours are local to ``tz_offset`` minutes east of UTC (the browser's time zone),
  so a day starts at the team's midnight;
- *labels still needed* at the end of a day is what the items imported by then ask for
  (their overlap) minus the labels given to them by then: an estimate that ignores labels
  later rejected or items whose overlap changed.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import User
from truelabel.store import qa as qa_store
from truelabel.store import team as team_store

from .context import ProjectContext

__all__ = ["DURATION_BINS", "MAX_DAYS", "team_report"]

DAY, HOUR = 86_400, 3_600
MAX_DAYS = 366
#: Upper edges (seconds) of the time-per-item histogram's bins; the last bin is open.
DURATION_BINS = (5, 10, 20, 30, 60, 120, 300, 600)


def _quantile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``values`` (linear interpolation), None when empty."""
    if not values:
        return None
    pos = (len(values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _histogram(values: list[float]) -> list[int]:
    counts = [0] * (len(DURATION_BINS) + 1)
    for v in values:
        k = next((j for j, edge in enumerate(DURATION_BINS) if v < edge), len(DURATION_BINS))
        counts[k] += 1
    return counts


def _summary(values: list[float]) -> dict[str, Any]:
    """Count, median, quartiles and 90th percentile (seconds, to a tenth) and histogram."""
    s = sorted(values)

    def q(x: float) -> float | None:
        v = _quantile(s, x)
        return None if v is None else round(v, 1)

    return {
        "n": len(s),
        "median": q(0.5),
        "p25": q(0.25),
        "p75": q(0.75),
        "p90": q(0.9),
        "histogram": _histogram(s),
    }


def _label(bucket: int, size: int, offset: int, fmt: str) -> str:
    return (datetime.fromtimestamp(bucket * size - offset, UTC) + timedelta(seconds=offset)
            ).strftime(fmt)


def team_report(
    project: ProjectContext,
    *,
    actor: User | None = None,
    days: int = 14,
    tz_offset: int = 0,
    now: float | None = None,
) -> dict[str, Any]:
    """The team's work over the last ``days`` days, as plain JSON-able data.

    Args:
        project: The project.
        actor: Who asks; needs ``quality.read`` (reviewers, managers, admins).
        days: How many days back (1 to 366), today included.
        tz_offset: The viewer's time zone, minutes east of UTC (-840 to 840).
        now: The time to report up to (epoch seconds; default: now). Tests pin it.

    Returns:
        ``window``, ``annotators``, ``throughput`` (``per_day``, ``per_hour`` for the last 48
        hours), ``activity`` (labels per annotator and day), ``time_per_item`` (overall and per
        annotator: n, median, quartiles, p90 and a histogram over ``bins``) and ``queue``
        (``now``: items by standing, reviews and adjudications waiting; ``per_day``: labels
        still needed at each day's end).
    """
    project.require(actor, "quality.read")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1..{MAX_DAYS}; got {days}.", field="days")
    if not -840 <= tz_offset <= 840:
        raise InvalidInput(
            f"tz_offset is minutes east of UTC, -840..840; got {tz_offset}.", field="tz_offset"
        )
    off = tz_offset * 60
    now = time.time() if now is None else now
    today = math.floor((now + off) / DAY)
    first_day = today - days + 1
    since = first_day * DAY - off
    wf = project.workflow()
    overlap = int(project._settings()["overlap"])
    with project.db.read() as conn:
        daily = team_store.labels_by_bucket(conn, project.id, since=0, size=DAY, offset=off)
        hourly = team_store.labels_by_bucket(
            conn, project.id, since=now - 47 * HOUR - (now % HOUR), size=HOUR, offset=0
        )
        durations = team_store.label_durations(conn, project.id, since=since)
        imported = team_store.imported_by_bucket(conn, project.id, size=DAY, offset=off)
        queue = team_store.queue_now(conn, project.id, overlap)
        stages = wf.review_stages
        queue["review_waiting"] = (
            team_store.review_waiting(
                conn, project.id, sample_permille=round(stages[0].sample_rate * 1000)
            ) if stages else 0
        )
        queue["adjudication_open"] = qa_store.adjudication_counts(conn, project.id).get("open", 0)
    day_range = list(range(first_day, today + 1))
    day_names = [_label(d, DAY, off, "%Y-%m-%d") for d in day_range]

    per_day: dict[int, int] = defaultdict(int)
    activity: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    pool_done: dict[int, int] = defaultdict(int)  # labels on non-gold items, all time
    for r in daily:
        if not r["gold"]:
            pool_done[r["bucket"]] += r["n"]
        if r["bucket"] >= first_day:
            per_day[r["bucket"]] += r["n"]
            activity[r["annotator"]][r["bucket"]] += r["n"]
    per_hour: dict[int, int] = defaultdict(int)
    for r in hourly:
        per_hour[r["bucket"]] += r["n"]
    this_hour = math.floor(now / HOUR)

    by_annotator: dict[str, list[float]] = defaultdict(list)
    for d in durations:
        by_annotator[d["annotator"]].append(d["seconds"])
    names = sorted(
        set(activity) | set(by_annotator),
        key=lambda n: (-sum(activity[n].values()) if n in activity else 0, n),
    )

    # labels still needed at each day's end: asked for by items imported by then, minus done
    asked: dict[int, int] = defaultdict(int)
    for r in imported:
        b = r["bucket"] if r["bucket"] is not None else 0  # no batch: before everything
        asked[b] += r["explicit"] + r["default_target"] * overlap
    remaining = []
    total_asked = total_done = 0
    for b in sorted(set(asked) | set(pool_done) | {day_range[0]}):
        if b >= day_range[0]:
            break
        total_asked += asked.get(b, 0)
        total_done += pool_done.get(b, 0)
    for day, name in zip(day_range, day_names, strict=True):
        total_asked += asked.get(day, 0)
        total_done += pool_done.get(day, 0)
        remaining.append({"date": name, "labels_needed": max(total_asked - total_done, 0)})

    return {
        "window": {"days": days, "since": since, "until": now, "tz_offset": tz_offset},
        "annotators": names,
        "throughput": {
            "per_day": [
                {"date": n, "labels": per_day.get(d, 0)}
                for d, n in zip(day_range, day_names, strict=True)
            ],
            "per_hour": [
                {"hour": _label(h, HOUR, 0, "%Y-%m-%dT%H:00Z"), "labels": per_hour.get(h, 0)}
                for h in range(this_hour - 47, this_hour + 1)
            ],
            "total": sum(per_day.values()),
        },
        "activity": {
            "days": day_names,
            "rows": [
                {
                    "annotator": n,
                    "counts": [activity[n].get(d, 0) for d in day_range],
                    "total": sum(activity[n].values()),
                    "active_days": sum(1 for v in activity[n].values() if v),
                }
                for n in names
            ],
        },
        "time_per_item": {
            "bins": list(DURATION_BINS),
            "overall": _summary([s for v in by_annotator.values() for s in v]),
            "annotators": [
                {"annotator": n, **_summary(by_annotator.get(n, []))} for n in names
            ],
        },
        "queue": {"now": queue, "per_day": remaining},
    }
