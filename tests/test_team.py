"""The managers' team view: throughput, time per item, activity by day, queue depth, charts.

The work is done through the real services; then ``store.team.backdate`` puts each label at
a time the test chooses, and the report is asked for at a pinned ``now``.
"""

from __future__ import annotations

from typing import Any

import pytest

from truelabel import charts
from truelabel.core import Project
from truelabel.domain.errors import Forbidden, InvalidInput
from truelabel.domain.models import User
from truelabel.store import team as team_store

DAY = 86_400
# 2026-03-10 12:00 UTC, a Tuesday
NOW = 1_773_144_000.0


def label(project: Project, user: User, n: int) -> list[int]:
    """``user`` labels ``n`` items through the annotators' loop; the annotation ids."""
    ids = []
    for _ in range(n):
        task = project.next_task(user)
        assert task is not None
        ann = project.submit(task.id, {"intent": "refund"}, user)
        ids.append(ann.id)
    return ids


@pytest.fixture
def worked(project: Project, users: dict[str, User]) -> Project:
    """ann1: 3 labels two days ago (10, 20, 30 s each) and 2 today (40 s);
    ann2: 1 label yesterday (60 s). Overlap 2 on 20 items: 40 labels asked for."""
    project.set_overlap(2)
    a1 = label(project, users["ann1"], 5)
    a2 = label(project, users["ann2"], 1)
    times: dict[int, tuple[float, float]] = {}
    for k, (aid, took) in enumerate(zip(a1[:3], (10, 20, 30), strict=True)):
        end = NOW - 2 * DAY + k * 60
        times[aid] = (end - took, end)
    for aid in a1[3:]:
        times[aid] = (NOW - 100 - 40, NOW - 100)
    times[a2[0]] = (NOW - DAY - 60, NOW - DAY)
    with project.db.write() as conn:
        team_store.backdate(conn, project.id, times, imported_at=NOW - 3 * DAY)
    return project


def test_throughput_per_day_and_activity_per_annotator(worked: Project) -> None:
    r = worked.team_report(days=7, now=NOW)
    per_day = {d["date"]: d["labels"] for d in r["throughput"]["per_day"]}
    assert len(per_day) == 7
    assert per_day["2026-03-08"] == 3 and per_day["2026-03-09"] == 1
    assert per_day["2026-03-10"] == 2 and per_day["2026-03-04"] == 0
    assert r["throughput"]["total"] == 6
    assert r["annotators"] == ["ann1", "ann2"]  # the busiest first
    rows = {row["annotator"]: row for row in r["activity"]["rows"]}
    assert rows["ann1"]["counts"][-3:] == [3, 0, 2] and rows["ann1"]["active_days"] == 2
    assert rows["ann2"]["counts"][-3:] == [0, 1, 0] and rows["ann2"]["total"] == 1
    hours = r["throughput"]["per_hour"]
    assert len(hours) == 48 and sum(h["labels"] for h in hours) == 3  # today's 2 + yesterday's 1
    assert hours[-1]["hour"] == "2026-03-10T12:00Z"


def test_days_follow_the_viewers_time_zone(worked: Project) -> None:
    # about noon UTC is past midnight at UTC+13: every label moves to the next local day
    r = worked.team_report(days=3, now=NOW, tz_offset=13 * 60)
    per_day = {d["date"]: d["labels"] for d in r["throughput"]["per_day"]}
    assert per_day == {"2026-03-09": 3, "2026-03-10": 1, "2026-03-11": 2}


def test_time_per_item_from_claim_to_submit(worked: Project) -> None:
    t = worked.team_report(days=7, now=NOW)["time_per_item"]
    ann1 = next(a for a in t["annotators"] if a["annotator"] == "ann1")
    assert ann1["n"] == 5
    assert ann1["median"] == pytest.approx(30)
    assert ann1["p25"] == pytest.approx(20) and ann1["p75"] == pytest.approx(40)
    assert sum(ann1["histogram"]) == 5
    # bins <5, 5-10, 10-20, 20-30, 30-60, ...: 10 s → third, 20 s → fourth, 30/40/40 → fifth
    assert ann1["histogram"][:5] == [0, 0, 1, 1, 3]
    assert t["overall"]["n"] == 6 and t["overall"]["median"] == pytest.approx(35)
    # a window that starts after the old labels leaves them out
    assert worked.team_report(days=1, now=NOW)["time_per_item"]["overall"]["n"] == 2


def test_the_client_measured_time_wins(project: Project, users: dict[str, User]) -> None:
    task = project.next_task(users["ann1"])
    assert task is not None
    project.submit(task.id, {"intent": "refund"}, users["ann1"], time_spent_ms=7_500)
    t = project.team_report(days=1)["time_per_item"]["overall"]
    assert t["median"] == pytest.approx(7.5)


def test_queue_depth_now_and_per_day(worked: Project, users: dict[str, User]) -> None:
    project = worked
    q = project.team_report(days=7, now=NOW)["queue"]
    now = q["now"]
    assert now["gold"] == 0 and now["in_progress"] == 0
    assert now["partial"] == 4 and now["complete"] == 1  # ann1's 5 items, one also ann2's
    assert now["unlabeled"] == 20 - 5
    assert now["labels_needed"] == 40 - 6
    project.next_task(users["reviewer"])  # a live lease
    now = project.team_report(days=7, now=NOW)["queue"]["now"]
    assert now["in_progress"] == 1
    assert sum(now[k] for k in ("unlabeled", "in_progress", "partial", "complete")) == 20
    per_day = {d["date"]: d["labels_needed"] for d in q["per_day"]}
    # nothing asked for before the import three days ago; then 40, less each day's labels
    assert per_day == {"2026-03-04": 0, "2026-03-05": 0, "2026-03-06": 0, "2026-03-07": 40,
                       "2026-03-08": 37, "2026-03-09": 36, "2026-03-10": 34}


def test_review_and_adjudication_waiting(project: Project, users: dict[str, User]) -> None:
    project.set_workflow({"review_stages": [{"name": "check", "role": "reviewer",
                                             "sample_rate": 1}]})
    label(project, users["ann1"], 3)
    assert project.team_report()["queue"]["now"]["review_waiting"] == 3
    task = project.next_review(users["reviewer"])
    assert task is not None
    project.review(task["annotation"]["id"], "accept", users["reviewer"])
    assert project.team_report()["queue"]["now"]["review_waiting"] == 2


def test_annotators_may_not_see_the_team(project: Project, users: dict[str, User]) -> None:
    with pytest.raises(Forbidden):
        project.team_report(actor=users["ann1"])
    assert project.team_report(actor=users["reviewer"])["window"]["days"] == 14
    with pytest.raises(InvalidInput):
        project.team_report(days=0)
    with pytest.raises(InvalidInput):
        project.team_report(tz_offset=2000)


@pytest.mark.parametrize("name", charts.TEAM_CHARTS)
def test_every_chart_draws_and_escapes(worked: Project, name: str) -> None:
    report = worked.team_report(days=7, now=NOW)
    svg = charts.team_chart(report, name)
    assert svg.startswith("<svg") and "<title" in svg
    report["annotators"] = ["<script>"]
    for row in report["activity"]["rows"]:
        row["annotator"] = "<b>x</b>"
    for row in report["time_per_item"]["annotators"]:
        row["annotator"] = "<b>x</b>"
    assert "<b>" not in charts.team_chart(report, name)


def test_empty_project_charts_say_so(project: Project) -> None:
    report = project.team_report(days=3)
    assert "No annotator" in charts.team_chart(report, "activity")
    assert "No timed label" in charts.team_chart(report, "time")
    with pytest.raises(LookupError):
        charts.team_chart(report, "nope")


def test_api_report_and_chart(client_for: Any, worked: Project) -> None:
    c = client_for("manager")
    r = c.get("/api/projects/support/team", params={"days": 7, "tz_offset": 60})
    assert r.status_code == 200
    body = r.json()
    assert body["window"] == {**body["window"], "days": 7, "tz_offset": 60}
    assert body["throughput"]["total"] >= 0 and "queue" in body
    svg = c.get("/api/projects/support/team/charts/activity.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["content-security-policy"].startswith("default-src 'none'")
    assert c.get("/api/projects/support/team/charts/nope.svg").status_code == 404
    assert c.get("/api/projects/support/team", params={"days": 0}).status_code == 422
    assert client_for("ann1").get("/api/projects/support/team").status_code == 403
