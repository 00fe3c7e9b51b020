"""Drafts in a shared browser: one user's unsent answers never reach the next user.

With overlap 2 two annotators label the same item blind. If the second one finds the first
one's answers pre-filled and submits them, the overlap measures nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace

pytestmark = pytest.mark.browser

DRAFT_KEYS = "Object.keys(localStorage).filter((k) => k.startsWith('tl-draft:'))"


def draft_entries(page: Page) -> dict[str, Any]:
    return page.evaluate(
        f"Object.fromEntries({DRAFT_KEYS}.map((k) => [k, JSON.parse(localStorage.getItem(k))]))")


def test_drafts_stay_with_their_author_on_a_shared_browser(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        browser_ws: Workspace) -> None:
    project = make_project([{"id": "d1", "text": "Acme Corp sells Widget Pro."}])
    project.set_overlap(2)
    ann, ann2 = browser_ws.get_user("ann"), browser_ws.get_user("ann2")
    label = f"/p/{project.name}/label"
    checked = page.locator("tl-choice input:checked")

    # A labels part of the item: the draft is in this browser (as A's) and on the server.
    with page.expect_response(lambda r: r.url.endswith("/tasks/next")) as first:
        login(page, "ann", label)
    item_id = first.value.json()["item_id"]
    expect(page.locator("#task-title")).to_have_text("Item d1")
    with page.expect_response(lambda r: r.url.endswith("/draft")) as saved:
        page.keyboard.press("2")
    assert saved.value.status == 204
    mine = draft_entries(page)
    assert [rec["owner"] for rec in mine.values()] == [str(ann.id)]
    assert [rec["value"]["intent"] for rec in mine.values()] == ["complaint"]

    # A logs out: nothing of A's is left in the browser.
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login$"))
    assert draft_entries(page) == {}

    # B logs in on the same browser. Entries that old code (or a forged one) left behind —
    # unowned, or A's under B's key — are never restored.
    login(page, "ann2", "/")
    legacy = {"value": {"intent": "complaint"}, "key": "k-legacy", "synced": False}
    forged = {**legacy, "owner": str(ann.id), "project": project.name, "item": item_id}
    page.evaluate("([entries]) => { for (const [k, v] of entries) localStorage.setItem(k, v); }", [[
        [f"tl-draft:{project.name}:{item_id}", json.dumps(legacy)],
        [f"tl-draft:v2:{ann2.id}:{project.name}:{item_id}", json.dumps(forged)],
    ]])
    page.goto(label)
    expect(page.locator("#task-title")).to_have_text("Item d1")  # the same item: overlap 2
    expect(checked).to_have_count(0)
    expect(page.locator("#save-state")).not_to_have_text("Draft restored")
    expect(page.locator("#message")).to_be_hidden()
    forged_key = f"tl-draft:v2:{ann2.id}:{project.name}:{item_id}"
    assert forged_key not in draft_entries(page)  # read, found not B's, and dropped

    # B's own answer goes in under B's name, with B's own choice.
    page.keyboard.press("3")
    with page.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        page.keyboard.press("Enter")
    assert sub.value.status == 200
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login$"))
    assert draft_entries(page) == {}

    # A's work was not lost by the logout: the server kept A's draft, for A only.
    login(page, "ann", label)
    expect(page.locator("#task-title")).to_have_text("Item d1")
    expect(page.locator("#save-state")).to_have_text("Draft restored")
    expect(page.locator("tl-choice input[value=complaint]")).to_be_checked()
    expect(checked).to_have_count(1)

    stored = project.annotations(item_id)
    assert [(a["username"], a["value"]["intent"]) for a in stored] == [
        ("ann2", "praise")]


def test_logging_in_drops_other_users_drafts(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        browser_ws: Workspace) -> None:
    """A never logged out (the session ran out, the tab was closed): B's login clears A's drafts."""
    project = make_project([{"id": "e1", "text": "Initech makes Gizmo."}])
    project.set_overlap(2)
    ann = browser_ws.get_user("ann")
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item e1")
    with page.expect_response(lambda r: r.url.endswith("/draft")):
        page.keyboard.press("1")
    assert [rec["owner"] for rec in draft_entries(page).values()] == [str(ann.id)]

    page.context.clear_cookies()  # the session is gone, not through the log-out button
    page.goto("/login")
    page.fill("#username", "ann2")
    page.fill("#password", "browser-pass-1")
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/$"))
    assert draft_entries(page) == {}
    expect(page.locator("#projects-status")).not_to_have_text("Loading projects…")
