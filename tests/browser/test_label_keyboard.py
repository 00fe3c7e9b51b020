"""The acceptance path: an annotator labels with the keyboard only; the export holds it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TEXT1 = "Acme Corp launched the Widget Pro today."
TEXT2 = "I love my new Gizmo from Initech!"
TEXT3 = "Where is my refund?"


def span(text: str, part: str, label: str) -> dict[str, Any]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "label": label, "text": part}


def is_draft_put(containing: str) -> Callable[[Any], bool]:
    return lambda r: (r.request.method == "PUT" and r.url.endswith("/draft")
                      and containing in (r.request.post_data or ""))


def test_keyboard_only_labeling_survives_reload_and_exports(
        new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None]) -> None:
    project = make_project([{"id": "t1", "text": TEXT1}, {"id": "t2", "text": TEXT2},
                            {"id": "t3", "text": TEXT3}])
    label_path = f"/p/{project.name}/label"
    page = new_page()
    login(page, "ann", label_path)
    form = page.locator("#task-form")
    expect(page.locator("#task-title")).to_have_text("Item t1")

    # Item 1: "2" picks Complaint (focus starts on the first field); Tab to the text;
    # Shift+→ selects "Acme Corp"; "o" labels it ORG; → → → moves to "Widget"; Shift+→ adds
    # "Pro"; "p" labels PRODUCT.
    page.keyboard.press("2")
    expect(page.locator("tl-choice input[value=complaint]")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("tl-spans .span-text")).to_be_focused()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("o")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    with page.expect_response(is_draft_put("PRODUCT")) as draft:
        page.keyboard.press("p")
    assert draft.value.status == 204
    spans = page.locator("tl-spans .span-list li")
    expect(spans).to_have_count(2)

    # Reload mid-task with this browser's copy gone: the server draft comes back.
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator("#task-title")).to_have_text("Item t1")
    expect(page.locator("#save-state")).to_have_text("Draft restored")
    expect(page.locator("tl-choice input[value=complaint]")).to_be_checked()
    expect(spans).to_have_count(2)
    expect(spans.nth(0)).to_have_attribute("data-label", "ORG")
    expect(spans.nth(0)).to_contain_text("Acme Corp")
    expect(spans.nth(1)).to_have_attribute("data-label", "PRODUCT")
    expect(spans.nth(1)).to_contain_text("Widget Pro")

    # Enter submits; the next item comes up.
    with page.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        page.keyboard.press("Enter")
    assert sub.value.status == 200
    expect(page.locator("#task-title")).to_have_text("Item t2")
    expect(page.locator("#message")).to_contain_text("Submitted item t1")

    # Item 2: "3" Praise; Tab; End → "!", ← → "Initech" "o"; ← ← → "Gizmo" "p"; Enter.
    page.keyboard.press("3")
    page.keyboard.press("Tab")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("o")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("p")
    expect(spans).to_have_count(2)
    with page.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        page.keyboard.press("Enter")
    assert sub.value.status == 200
    expect(page.locator("#task-title")).to_have_text("Item t3")

    # Item 3: Esc leaves the field the page focused (letters there are that field's, so
    # "s" would not skip: issue 12), then "s" skips it. With nothing else left it comes back
    # once (issue 12: skipped items return); skipped again, nothing is left.
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    expect(page.locator("#message")).to_contain_text("skipped this item before")
    expect(page.locator("#task-title")).to_have_text("Item t3")
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    expect(page.locator("#done")).to_be_visible()
    expect(form).to_be_hidden()

    # The manager's export holds exactly what was typed.
    manager = new_page()
    login(manager, "mia", f"/p/{project.name}")
    res = manager.request.get(f"/api/projects/{project.name}/export?format=jsonl")
    assert res.ok
    rows = {r["external_id"]: r for r in map(json.loads, res.text().splitlines())}
    assert [a["annotator"] for a in rows["t1"]["annotations"]] == ["ann"]
    assert rows["t1"]["annotations"][0]["value"] == {
        "intent": "complaint",
        "entities": [span(TEXT1, "Acme Corp", "ORG"), span(TEXT1, "Widget Pro", "PRODUCT")],
    }
    assert rows["t2"]["annotations"][0]["value"] == {
        "intent": "praise",
        "entities": [span(TEXT2, "Gizmo", "PRODUCT"), span(TEXT2, "Initech", "ORG")],
    }
    assert rows["t3"]["annotations"] == []


def test_spans_by_mouse_and_keys_panel(page: Page, make_project: Callable[..., Any],
                                       login: Callable[..., None]) -> None:
    """Mouse selection snaps to words; Delete removes a span; '?' hides the key list;
    optional fields may stay empty; a required one is asked for before submitting."""
    text = "Send the 😀 Gizmo Max to Initech please"
    project = make_project([{"id": "m1", "text": text}])
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item m1")

    # Drag from inside "Gizmo" to inside "Max": the span covers both whole words. The emoji
    # before it counts as one character, as on the server.
    gizmo = page.locator("tl-spans .tok", has_text="Gizmo").bounding_box()
    mx = page.locator("tl-spans .tok", has_text="Max").bounding_box()
    assert gizmo and mx
    page.mouse.move(gizmo["x"] + 6, gizmo["y"] + gizmo["height"] / 2)
    page.mouse.down()
    page.mouse.move(mx["x"] + mx["width"] - 6, mx["y"] + mx["height"] / 2, steps=4)
    page.mouse.up()
    expect(page.locator("tl-spans .span-text")).to_be_focused()
    with page.expect_response(is_draft_put("PRODUCT")) as draft:
        page.keyboard.press("p")
    sent = json.loads(draft.value.request.post_data or "{}")["value"]
    start = text.index("Gizmo")  # Python counts code points; JavaScript's index is one more
    assert sent["entities"] == [{"start": start, "end": start + len("Gizmo Max"),
                                 "label": "PRODUCT"}]

    # Delete at the cursor removes it again.
    page.keyboard.press("Delete")
    expect(page.locator("tl-spans .span-list li")).to_have_count(0)

    # "?" hides and shows the shortcut list.
    keys = page.locator("#shortcut-list")
    expect(keys).to_be_visible()
    expect(keys).to_contain_text("label PRODUCT")
    page.keyboard.press("?")
    expect(keys).to_be_hidden()
    page.keyboard.press("?")
    expect(keys).to_be_visible()

    # The intent is required: Enter says so instead of sending.
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text(re.compile("Intent.*needs a value"))
    expect(page.locator("tl-choice input").first).to_be_focused()
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    item_id = project.items()[0]["id"]
    assert project.annotations(item_id)[0]["value"] == {"intent": "question", "entities": []}


def test_expired_lease_is_explained_and_work_kept(page: Page, make_project: Callable[..., Any],
                                                  login: Callable[..., None],
                                                  guard: Any) -> None:
    guard.allow(r"status of 40[49]")  # the refused draft save and submit, expected here
    project = make_project([{"id": "e1", "text": "Lease me"}])
    project.set_lease_seconds(1)
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text("Item e1")
    expect(page.locator("#lease")).to_have_text("Lease expired", timeout=4000)
    expect(page.locator("#message")).to_contain_text("ran out")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    message = page.locator("#message")
    expect(message).to_contain_text("Not submitted: The lease on task")
    expect(message).to_contain_text("expired")
    # Asking again re-leases the item, and the work comes back from this browser.
    message.get_by_role("button", name="Get a task").click()
    expect(page.locator("tl-choice input[value=praise]")).to_be_checked()
