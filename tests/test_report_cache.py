"""The quality report is computed once per change and cached: a new annotation, gold answer or
review invalidates it; reading it again (each dashboard chart) does not recompute it."""

from __future__ import annotations

from typing import Any

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.report import quality_report
from truelabel.domain.models import User


def _setup(ws: Workspace, project: Project) -> tuple[User, User, User]:
    mgr = ws.add_user("mgr", PASSWORD, role="manager")
    project.add_member(mgr, "manager")
    anns = []
    for name in ("a1", "a2"):
        u = ws.add_user(name, PASSWORD)
        project.add_member(u, "annotator")
        anns.append(u)
    return mgr, anns[0], anns[1]


def _counting(project: Project) -> list[int]:
    calls: list[int] = []
    original = project._long_format

    def counted(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return original(*a, **k)

    project._long_format = counted  # type: ignore[method-assign]
    return calls


def test_report_is_cached_until_an_annotation_gold_or_review_changes(
    ws: Workspace, project: Project
) -> None:
    mgr, a1, a2 = _setup(ws, project)
    project.set_overlap(2, actor=mgr)
    items = [i["id"] for i in project.items(actor=mgr)]
    project.annotate(items[0], {"intent": "refund"}, a1)
    project.annotate(items[0], {"intent": "refund"}, a2)
    calls = _counting(project)

    first = quality_report(project, actor=mgr, n_resamples=50)
    again = quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 1 and again == first

    project.set_overlap(3, actor=mgr)  # a setting: recomputed
    quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 2
    project.annotate(items[1], {"intent": "shipping"}, a1)  # a new annotation: recomputed
    third = quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 3 and third["progress"]["submitted"] == 3

    project.set_gold(items[2], {"intent": "other"}, actor=mgr)
    quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 4
    quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 4

    project.set_workflow({"review_stages": [{"name": "check"}]}, actor=mgr)
    quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 5
    ann = project.annotations(items[0])[0]
    project.review(ann["id"], "accept", mgr, stage=1)
    quality_report(project, actor=mgr, n_resamples=50)
    assert len(calls) == 6


def test_a_cached_report_is_a_copy_and_hides_gold_per_viewer(
    ws: Workspace, project: Project
) -> None:
    mgr, a1, a2 = _setup(ws, project)
    rev = ws.add_user("rev", PASSWORD)
    project.add_member(rev, "reviewer")
    items = [i["id"] for i in project.items(actor=mgr)]
    project.set_gold(items[0], {"intent": "refund"}, actor=mgr)
    project.annotate(items[1], {"intent": "refund"}, a1)
    calls = _counting(project)
    seen = quality_report(project, actor=mgr, n_resamples=50)
    seen["fields"].clear()
    hidden = quality_report(project, actor=rev, n_resamples=50)
    assert len(calls) == 1
    assert hidden["fields"] and hidden["gold_visible"] is False
    assert quality_report(project, actor=mgr, n_resamples=50)["gold_visible"] is True
