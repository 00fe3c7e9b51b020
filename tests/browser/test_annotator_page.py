"""The annotator's page (issue 12): undo of a skip and of a submit, back to the previous
item, the progress counter, "my work" history with edits, the skipped list, questions to the
managers, and the dark-mode toggle."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

ITEMS = [{"id": f"u{i}", "text": f"Message number {i}"} for i in range(1, 5)]


def _start(page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> Any:
    project = make_project(ITEMS)
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item u1")
    return project


def test_undo_of_a_skip_brings_the_item_back_with_its_draft(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    _start(page, make_project, login)
    with page.expect_response(lambda r: r.url.endswith("/draft")):
        page.locator("tl-choice label", has_text="Praise").click()
    page.locator("#skip").click()
    expect(page.locator("#task-title")).to_have_text("Item u2")
    expect(page.locator("#message")).to_contain_text("Skipped item u1")
    page.locator("#undo").click()
    expect(page.locator("#task-title")).to_have_text("Item u1")
    expect(page.locator("#message")).to_contain_text("your skip is undone")
    expect(page.locator("tl-choice input[value=praise]")).to_be_checked()
    expect(page.locator("#back")).to_be_disabled()


def test_undo_of_a_submit_by_key_takes_the_answer_back_and_prefills_it(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    project = _start(page, make_project, login)
    page.keyboard.press("2")
    with page.expect_response(lambda r: r.url.endswith("/submit")):
        page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item u2")
    expect(page.locator("#progress-total")).to_contain_text("1")
    item = next(r["id"] for r in project.items() if r["external_id"] == "u1")
    assert len(project.annotations(item)) == 1
    page.keyboard.press("Control+ArrowLeft")  # back to the previous item
    expect(page.locator("#task-title")).to_have_text("Item u1")
    expect(page.locator("#message")).to_contain_text("taken back")
    expect(page.locator("tl-choice input[value=complaint]")).to_be_checked()
    assert project.annotations(item) == []
    expect(page.locator("#progress-total")).to_contain_text("0")
    page.keyboard.press("3")
    with page.expect_response(lambda r: r.url.endswith("/submit")):
        page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item u2")  # the one left open
    assert [a["value"]["intent"] for a in project.annotations(item)] == ["praise"]


def test_progress_counter_counts_today_total_left(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    _start(page, make_project, login)
    expect(page.locator("#progress-today")).to_have_text("0 today")
    expect(page.locator("#progress-left")).to_have_text("4 left")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item u2")
    expect(page.locator("#progress-today")).to_have_text("1 today")
    expect(page.locator("#progress-total")).to_have_text("1 in total")
    page.reload()  # the server's counts agree with the page's
    expect(page.locator("#progress-today")).to_have_text("1 today")
    expect(page.locator("#progress-left")).to_have_text("3 left")


def test_my_work_lists_edits_and_shows_skipped(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    project = _start(page, make_project, login)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item u2")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item u3")
    page.locator("#skip").click()
    expect(page.locator("#task-title")).to_have_text("Item u4")
    page.locator("#my-work-link").click()
    rows = page.locator("#work-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("u2")  # newest first
    expect(rows.nth(0)).to_contain_text("Complaint")
    expect(page.locator("#work-range")).to_have_text("1–2 of 2")
    expect(page.locator("#skipped-list")).to_contain_text("u3")
    rows.nth(1).get_by_role("button", name="Edit").click()
    expect(page.locator("#work-edit")).to_be_visible()
    page.locator("#work-edit-fields tl-choice label", has_text="Praise").click()
    page.locator("#work-save").click()
    expect(page.locator("#work-status")).to_have_text("Saved as a new version.")
    expect(rows.nth(0)).to_contain_text("u1")  # the newest version first
    expect(rows.nth(0)).to_contain_text("Praise")
    expect(rows.nth(0)).to_contain_text("(edited)")
    item = next(r["id"] for r in project.items() if r["external_id"] == "u1")
    assert [a["value"]["intent"] for a in project.annotations(item)] == ["praise"]


def test_a_question_reaches_a_manager_and_the_answer_comes_back(
        new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None]) -> None:
    ann = new_page()
    project = _start(ann, make_project, login)
    ann.locator("#ask summary").click()
    ann.locator("#question-text").fill("Is a late parcel a complaint?")
    ann.locator("#question-send").click()
    expect(ann.locator("#question-status")).to_have_text("Sent to the managers.")
    expect(ann.locator("#question-list")).to_contain_text("Waiting for an answer")
    mia = new_page()
    login(mia, "mia", f"/p/{project.name}")
    mia.locator("#nav-questions").click()
    question = mia.locator("#questions-list li").first
    expect(question).to_contain_text("Is a late parcel a complaint?")
    expect(question).to_contain_text("ann on item u1")
    question.locator("textarea").fill("Yes, when it is late by a week.")
    question.get_by_role("button", name="Answer and resolve").click()
    expect(mia.locator("#questions-status")).to_have_text("No open questions.")
    ann.reload()
    expect(ann.locator("#question-list")).to_contain_text("Yes, when it is late by a week.")


def test_dark_mode_follows_the_system_then_the_toggle_and_persists(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    page.emulate_media(color_scheme="dark")
    _start(page, make_project, login)
    bg = "getComputedStyle(document.body).backgroundColor"
    dark = page.evaluate(bg)
    assert dark == "rgb(17, 20, 24)"
    toggle = page.locator("#theme-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(bg) == "rgb(246, 247, 249)"
    page.reload()
    expect(page.locator("#task-title")).to_have_text(re.compile("Item"))
    assert page.evaluate(bg) == "rgb(246, 247, 249)"  # remembered over the system's dark
    page.locator("#theme-toggle").click()
    assert page.evaluate(bg) == dark
    assert page.evaluate("localStorage.getItem('tl-theme')") is None  # the system's again
