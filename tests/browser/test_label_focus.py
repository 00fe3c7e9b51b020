"""Hotkeys never destroy work (issue 12): letters typed while focus sits on a choice or rating
control are not page hotkeys (the "s" of "Customer" must not skip), and arrow keys in a radio
group change it only when the user made that group the active field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

FOCUS_SCHEMA: dict[str, Any] = {
    "title": "Focus",
    "fields": [
        {"name": "intent", "type": "choice", "title": "Intent",
         "options": [{"value": "question"}, {"value": "complaint"}, {"value": "praise"}]},
        {"name": "stars", "type": "rating", "title": "Stars", "scale": 5, "required": False},
        {"name": "note", "type": "text", "title": "Note", "required": False},
    ],
}


def _open(page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> Any:
    project = make_project([{"id": "f1", "text": "first"}, {"id": "f2", "text": "second"}],
                           schema=FOCUS_SCHEMA)
    skips: list[str] = []
    page.on("request", lambda r: skips.append(r.url) if r.url.endswith("/skip") else None)
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item f1")
    return skips


def test_letters_typed_on_a_choice_control_do_not_skip(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    skips = _open(page, make_project, login)
    expect(page.locator("tl-choice input").first).to_be_focused()  # where the page put it
    page.keyboard.type("Customer says hi")
    page.wait_for_timeout(300)
    assert skips == []
    expect(page.locator("#task-title")).to_have_text("Item f1")
    # and on a rating control
    page.locator("tl-rating label").nth(2).click()
    page.keyboard.type("so sad")
    page.wait_for_timeout(300)
    assert skips == []
    expect(page.locator("#task-title")).to_have_text("Item f1")
    expect(page.locator("tl-rating input[value='3']")).to_be_checked()


def test_letters_typed_into_a_text_box_stay_text(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    skips = _open(page, make_project, login)
    note = page.locator("tl-text textarea, tl-text input").first
    note.click()
    page.keyboard.type("sss 123 ?")
    page.wait_for_timeout(300)
    assert skips == []
    expect(note).to_have_value("sss 123 ?")
    expect(page.locator("tl-choice input:checked")).to_have_count(0)


def test_arrows_change_a_radio_group_only_when_it_is_the_active_field(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    _open(page, make_project, login)
    first = page.locator("tl-choice input").first
    expect(first).to_be_focused()
    for key in ("ArrowDown", "ArrowRight", "ArrowUp"):
        page.keyboard.press(key)
    expect(page.locator("tl-choice input:checked")).to_have_count(0)
    # The user clicks an option: the group is active, and arrows move its answer.
    page.locator("tl-choice label").nth(0).click()
    page.keyboard.press("ArrowDown")
    expect(page.locator("tl-choice input[value=complaint]")).to_be_checked()


def test_escape_leaves_the_field_and_s_then_skips_undoably(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    skips = _open(page, make_project, login)
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    expect(page.locator("#task-title")).to_have_text("Item f2")
    assert len(skips) == 1
    page.locator("#undo").click()
    expect(page.locator("#task-title")).to_have_text("Item f1")
