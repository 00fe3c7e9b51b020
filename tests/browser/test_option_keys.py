"""Issue 12: every option has a key the page shows and uses (the server's, shipped with the
schema), and an empty submission is confirmed in the page or refused, by schema setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

MANY = [f"opt{i:02d}" for i in range(1, 15)]  # 14 options: before, options 11+ had no key
LOTS = [f"tag{i:02d}" for i in range(1, 41)]  # 40: more than single keys, so sequences


def test_option_twelve_by_keyboard(page: Page, make_project: Callable[..., Any],
                                   login: Callable[..., None]) -> None:
    schema = {"fields": [
        {"name": "topic", "type": "choice", "options": MANY},
        {"name": "tags", "type": "multi_choice", "options": LOTS, "required": False},
    ]}
    project = make_project([{"id": "k1", "text": "hello"}], schema=schema)
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item k1")

    # 1-9, 0, then letters: the twelfth option is "b", shown beside it
    twelfth = page.locator("tl-choice label.option").nth(11)
    expect(twelfth.locator("kbd")).to_have_text("b")
    page.keyboard.press("b")
    expect(page.locator("tl-choice input[value=opt12]")).to_be_checked()

    # 40 options: two-key sequences; the twelfth is "1 b" (typed 1 then b in the field)
    page.keyboard.press("Tab")
    tag12 = page.locator("tl-multi-choice label.option").nth(11)
    expect(tag12.locator("kbd")).to_have_text("1 b")
    page.keyboard.press("1")
    expect(page.locator("tl-multi-choice input:checked")).to_have_count(0)  # waits for "b"
    page.keyboard.press("b")
    expect(page.locator("tl-multi-choice input[value=tag12]")).to_be_checked()
    expect(page.locator("#shortcut-list")).to_contain_text("toggle tag12")

    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    ann = project.annotations(project.items()[0]["id"])[0]
    assert ann["value"] == {"topic": "opt12", "tags": ["tag12"]}


OPTIONAL = {"fields": [
    {"name": "intent", "type": "choice", "required": False, "options": ["a", "b"]},
    {"name": "entities", "type": "spans", "required": False, "labels": ["ORG"]},
]}


def test_empty_submission_is_confirmed_in_the_page(page: Page, make_project: Callable[..., Any],
                                                   login: Callable[..., None]) -> None:
    project = make_project([{"id": "e1", "text": "one"}, {"id": "e2", "text": "two"}],
                           schema=OPTIONAL)
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item e1")
    page.keyboard.press("Enter")  # nothing filled in: the page asks (not window.confirm)
    dialog = page.locator("#empty-confirm")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # back to work: nothing sent
    expect(dialog).to_have_count(0)
    expect(page.locator("#task-title")).to_have_text("Item e1")
    assert project.annotations(project.items()[0]["id"]) == []

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.locator("#empty-send")).to_be_focused()
    page.keyboard.press("Enter")  # "Submit empty"
    expect(page.locator("#task-title")).to_have_text("Item e2")
    assert project.annotations(project.items()[0]["id"])[0]["value"] == {"entities": []}

    page.keyboard.press("1")  # a value: no question
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()


def test_empty_submission_refused_by_schema(page: Page, make_project: Callable[..., Any],
                                            login: Callable[..., None]) -> None:
    project = make_project([{"id": "r1", "text": "one"}],
                           schema={**OPTIONAL, "empty_submissions": "refuse"})
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item r1")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text(re.compile("does not take empty answers"))
    expect(page.locator("#empty-confirm")).to_have_count(0)
    assert project.annotations(project.items()[0]["id"]) == []
