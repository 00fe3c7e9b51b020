"""The demo shows what truelabel is for: overlap, gold, review, adjudication and a simulated
team with one careless annotator, worked through the real services (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import open_workspace
from truelabel.core import Project
from truelabel.core.demo import SIMULATED, build_demo, create_demo

NOW = 1_780_000_000.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, dict[str, str]]]:
    """One demo for the module (tests only read it, or take one task)."""
    with open_workspace(tmp_path_factory.mktemp("demo")) as ws:
        yield build_demo(ws, password="pw-123456789", now=NOW)


def test_agreement_is_measured_and_below_one(demo: tuple[Project, dict[str, str]]) -> None:
    project, _ = demo
    report = project.quality_report(n_resamples=50)
    for field in ("intent", "sentiment"):
        f = report["fields"][field]
        assert "error" not in f, f
        assert 0 < f["alpha"] < 1 and f["percent_agreement"] < 1
    assert 0 < report["fields"]["entities"]["f1_exact"] < 1
    # the sample schema ranks sentiment: ordinal agreement in the schema's order
    assert report["fields"]["sentiment"]["order"] == ["negative", "neutral", "positive"]
    assert report["progress"]["gold_items"] > 0


def test_the_careless_annotator_has_the_lowest_gold_accuracy(
    demo: tuple[Project, dict[str, str]],
) -> None:
    project, _ = demo
    cards = {c["annotator"]: c for c in project.quality_report(n_resamples=50)["annotators"]}
    careless = next(s.name for s in SIMULATED if s.random_rate > 0)
    assert set(cards) >= {s.name for s in SIMULATED}
    assert all(cards[s.name]["gold_answered"] >= 3 for s in SIMULATED)
    worst = min((s.name for s in SIMULATED), key=lambda n: cards[n]["gold_accuracy"])
    assert worst == careless
    assert cards[careless]["flagged"]
    assert cards[careless]["median_seconds"] < min(
        cards[s.name]["median_seconds"] for s in SIMULATED if s.name != careless
    )


def test_review_adjudication_and_ground_truth_have_content(
    demo: tuple[Project, dict[str, str]],
) -> None:
    project, _ = demo
    progress = project.quality_report(n_resamples=50)["progress"]
    decisions = {r["decision"] for r in progress["reviews"]}
    assert {"accept", "reject", "correct"} <= decisions
    assert progress["adjudication"]["open"] > 0 and progress["adjudication"]["decided"] > 0
    assert project.adjudication_queue()
    assert progress["ground_truth_items"] > 0
    reviewer = project.ws.get_user("reviewer")
    assert project.next_review(reviewer) is not None  # more waiting


def test_items_are_left_for_a_new_annotator(demo: tuple[Project, dict[str, str]]) -> None:
    project, _ = demo
    user = project.ws.get_user("annotator")
    assert project.next_task(user) is not None
    assert project.team_report(now=NOW)["queue"]["now"]["unlabeled"] > 0


def test_the_team_charts_have_shape(demo: tuple[Project, dict[str, str]]) -> None:
    project, _ = demo
    r = project.team_report(days=7, now=NOW)
    busy_days = [d for d in r["throughput"]["per_day"] if d["labels"]]
    assert len(busy_days) >= 4
    assert r["annotators"] and {s.name for s in SIMULATED} <= set(r["annotators"])
    needed = [d["labels_needed"] for d in r["queue"]["per_day"]]
    assert needed[-1] < max(needed)  # the queue went down
    assert r["queue"]["now"]["review_waiting"] > 0


def test_the_demo_is_the_same_every_time(
    demo: tuple[Project, dict[str, str]], tmp_path: Path,
) -> None:
    def summary(project: Project) -> tuple[object, ...]:
        q = project.quality_report(n_resamples=50)
        return (q["fields"]["intent"]["alpha"], q["fields"]["sentiment"]["alpha"],
                [(c["annotator"], c["volume"], c["gold_accuracy"]) for c in q["annotators"]])

    d = create_demo(tmp_path / "again", password="pw-123456789")
    with d.workspace:
        assert d.created and summary(d.project) == summary(demo[0])
