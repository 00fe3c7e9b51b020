"""The managers' team page: queue depth, throughput, activity and time per item, drawn as
server-made SVG charts; and the quality page's "not enough data" note in a row of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.core import Project

pytestmark = pytest.mark.browser

CHARTS = ("queue", "per-day", "per-hour", "activity", "time", "durations")


def work(ws: Workspace, project: Project, name: str, n: int) -> None:
    user = ws.get_user(name)
    for _ in range(n):
        task = project.next_task(user)
        assert task is not None
        project.submit(task.id, {"intent": "question"}, user, time_spent_ms=12_000)


def test_the_team_page_shows_its_charts(
    browser_ws: Workspace, make_project: Callable[..., Project], page: Page,
    login: Callable[..., None],
) -> None:
    project = make_project([{"id": f"t{i}", "text": f"Message {i}"} for i in range(8)])
    work(browser_ws, project, "ann", 3)
    work(browser_ws, project, "ann2", 2)
    login(page, "mia", f"/p/{project.name}/quality")
    page.click("#nav-team")  # the project nav links the team page for managers
    page.wait_for_url(f"**/p/{project.name}/team")
    expect(page.locator("#team-status")).to_contain_text("5 labels by 2 annotators")
    expect(page.locator('#queue [data-stat="labels_needed"] dd')).to_have_text("3")
    expect(page.locator('#team-rows tr[data-annotator="ann"] td').first).to_have_text("3")
    expect(page.locator('#team-rows tr[data-annotator="ann2"] td').nth(2)).to_have_text("12.0 s")
    for name in CHARTS:
        img = page.locator(f"#chart-{name}")
        expect(img).to_be_visible()
        page.wait_for_function(
            "(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle()
        )
        assert f"/team/charts/{name}.svg" in (img.get_attribute("src") or "")
    # the period changes the charts' query
    page.select_option("#team-days", "30")
    page.wait_for_function("() => document.getElementById('chart-per-day').src.includes('days=30')")


def test_annotators_get_no_team_link_or_page(
    make_project: Callable[..., Project], page: Page, login: Callable[..., None], guard: Any,
) -> None:
    guard.allow(r"status of 403")  # the page itself answers 403
    project = make_project([{"id": "a", "text": "Hello"}])
    login(page, "ann", f"/p/{project.name}")
    expect(page.locator("#nav-team")).to_have_count(0)
    page.goto(f"/p/{project.name}/team")
    expect(page.locator("main")).to_contain_text("may not open this page")


def test_not_enough_data_is_a_note_not_the_measure(
    browser_ws: Workspace, make_project: Callable[..., Project], page: Page,
    login: Callable[..., None],
) -> None:
    project = make_project([{"id": "a", "text": "Hello"}, {"id": "b", "text": "Bye"}])
    work(browser_ws, project, "ann", 1)  # one label: no pair to agree on
    login(page, "mia", f"/p/{project.name}/quality")
    row = page.locator('#agreement tr[data-field="intent"]')
    expect(row).to_be_visible()
    measure = row.locator("td").first
    expect(measure).to_have_text("Krippendorff's alpha (nominal)")
    note = page.locator('#agreement tr.note-row[data-note-for="intent"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text("intent:")
    assert len(note.inner_text()) > len("intent: ") + 10
