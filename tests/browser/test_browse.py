"""The projects list and the data browser: keyset pages, search, status, roles, import."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def ids_on_page(page: Page) -> list[int]:
    return [int(x) for x in page.locator("#items tr").evaluate_all(
        "rows => rows.map(r => r.dataset.itemId)")]


def test_browser_pages_searches_and_filters(page: Page, make_project: Callable[..., Any],
                                            login: Callable[..., None]) -> None:
    records = [{"id": f"r{i:03d}", "text": f"Sentence {i}" + (" needle" if i % 10 == 0 else "")}
               for i in range(120)]
    project = make_project(records)
    all_ids = [r["id"] for r in project.items(limit=500)]
    assert len(all_ids) == 120

    login(page, "mia", f"/p/{project.name}")
    rows = page.locator("#items tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#project-counts")).to_contain_text("120 items")
    prev, nxt = page.locator("#prev-page"), page.locator("#next-page")
    expect(prev).to_be_disabled()
    assert ids_on_page(page) == all_ids[:50]

    nxt.click()
    expect(page.locator("#page-no")).to_have_text("Page 2")
    expect(rows.first).to_have_attribute("data-item-id", str(all_ids[50]))
    assert ids_on_page(page) == all_ids[50:100]
    nxt.click()
    expect(page.locator("#page-no")).to_have_text("Page 3")
    expect(rows).to_have_count(20)
    assert ids_on_page(page) == all_ids[100:]
    expect(nxt).to_be_disabled()
    prev.click()
    expect(page.locator("#page-no")).to_have_text("Page 2")
    expect(rows.first).to_have_attribute("data-item-id", str(all_ids[50]))
    prev.click()
    expect(page.locator("#page-no")).to_have_text("Page 1")
    expect(rows.first).to_have_attribute("data-item-id", str(all_ids[0]))
    expect(prev).to_be_disabled()

    # Search (live, debounced) filters and starts again from page 1.
    page.fill("#q", "needle")
    expect(rows).to_have_count(12)
    expect(nxt).to_be_disabled()
    for text in page.locator("#items td.preview").all_inner_texts():
        assert "needle" in text
    assert "q=needle" in page.url
    page.select_option("#status", "done")
    expect(rows).to_have_count(0)
    expect(page.locator("#items-status")).to_have_text("No items match.")
    page.select_option("#status", "")
    page.fill("#q", "r007")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sentence 7")

    # The projects list shows the project with its counts and both links.
    page.goto("/")
    card = page.locator(f'.project-card[data-project="{project.name}"]')
    expect(card).to_contain_text("120")
    expect(card.get_by_role("link", name="Label")).to_have_attribute(
        "href", f"/p/{project.name}/label")
    card.get_by_role("link", name="Browse items").click()
    page.wait_for_url(re.compile(f"/p/{re.escape(project.name)}$"))


def test_roles_import_and_export(new_page: Callable[[], Page], make_project: Callable[..., Any],
                                 login: Callable[..., None], tmp_path: Path) -> None:
    project = make_project([{"id": "a1", "text": "first"}, {"id": "a2", "text": "second"}])

    # An annotator sees only items they took, and no manager buttons.
    ann = new_page()
    login(ann, "ann2", f"/p/{project.name}")
    expect(ann.locator("#items-status")).to_have_text("No items yet.")
    for sel in ("#export-jsonl", "#export-parquet", "#import-form"):
        expect(ann.locator(sel)).to_have_count(0)
    ann.goto(f"/p/{project.name}/label")
    expect(ann.locator("#task-title")).to_have_text("Item a1")
    ann.goto(f"/p/{project.name}")
    expect(ann.locator("#items tr")).to_have_count(1)
    expect(ann.locator("#items tr").first).to_contain_text("in progress")

    # The manager imports a file with upload and job progress, then exports.
    mia = new_page()
    login(mia, "mia", f"/p/{project.name}")
    expect(mia.locator("#items tr")).to_have_count(2)
    upload = tmp_path / "more.jsonl"
    upload.write_text("".join(json.dumps({"id": f"n{i}", "text": f"new {i}"}) + "\n"
                              for i in range(3)))
    mia.locator("#import-panel summary").click()
    mia.set_input_files("#import-file", str(upload))
    mia.click("#import-submit")
    expect(mia.locator("#import-status")).to_have_text("3 items added, 0 already present")
    expect(mia.locator("#items tr")).to_have_count(5)
    expect(mia.locator("#project-counts")).to_contain_text("5 items")

    with mia.expect_download() as dl:
        mia.click("#export-jsonl")
    lines = Path(dl.value.path()).read_text().splitlines()
    assert sorted(json.loads(x)["external_id"] for x in lines) == ["a1", "a2", "n0", "n1", "n2"]
    expect(mia.locator("#export-parquet")).to_have_attribute(
        "href", f"/api/projects/{project.name}/export?format=parquet")


def test_login_errors_next_and_logout(page: Page, make_project: Callable[..., Any],
                                      guard: Any) -> None:
    guard.allow(r"status of 401")  # the wrong password, expected here
    project = make_project([{"id": "z", "text": "z"}])
    page.goto(f"/p/{project.name}/label")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", "ann")
    page.fill("#password", "wrong-password")
    page.keyboard.press("Enter")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).not_to_be_empty()
    page.fill("#password", "browser-pass-1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/p/{re.escape(project.name)}/label$"))
    expect(page.locator("#task-title")).to_have_text("Item z")
    # An open redirect is refused: next must be a path on this site.
    page.goto("/login?next=//evil.example/x")
    page.wait_for_url(re.compile(r"/$"))
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=%2F$"))


# -- the data browser of issue 12: filters in the URL, bulk actions, the item page, mobile --
def _labelled_project(make_project: Callable[..., Any]) -> Any:
    """30 items; ann labels the first 6 (complaint on even ones, with an ORG span on the
    first), ann2 the next 4 (praise)."""
    project = make_project([{"id": f"t{i:02d}", "text": f"ACME ticket {i}"} for i in range(30)])
    for i in range(10):
        who = project.ws.get_user("ann" if i < 6 else "ann2")
        task = project.next_task(who)
        assert task is not None
        value: dict[str, Any] = {"intent": "praise" if i >= 6 else (
            "complaint" if i % 2 == 0 else "question")}
        if i == 0:
            value["entities"] = [{"start": 0, "end": 4, "label": "ORG"}]
        project.submit(task.id, value, who)
    return project


def test_filters_live_in_the_url_reload_and_history(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        guard: Any) -> None:
    guard.allow(r"status of 422")  # the bad URL value at the end, expected there
    project = _labelled_project(make_project)
    ids = [r["id"] for r in project.items(limit=500)]
    login(page, "mia", f"/p/{project.name}")
    rows = page.locator("#items tr")
    expect(rows).to_have_count(30)
    expect(page.locator("#range")).to_have_text("1–30 of 30")

    page.locator("#more-filters summary").click()
    page.fill("#f-annotator", "ann")
    page.locator("#f-annotator").dispatch_event("change")
    expect(rows).to_have_count(6)
    expect(page.locator("#range")).to_have_text("1–6 of 6")
    assert "annotator=ann" in page.url
    page.fill("#f-label", "intent=complaint")
    page.locator("#f-label").dispatch_event("change")
    expect(rows).to_have_count(3)
    assert ids_on_page(page) == [ids[0], ids[2], ids[4]]
    expect(rows.first.locator("td.answers")).to_contain_text("intent: complaint")
    page.select_option("#sort", "-id")
    expect(rows.first).to_have_attribute("data-item-id", str(ids[4]))
    view_url = page.url
    assert "label=intent%3Dcomplaint" in view_url and "sort=-id" in view_url

    # A deep link reloads to the same view, controls filled in.
    page.reload()
    expect(rows).to_have_count(3)
    assert ids_on_page(page) == [ids[4], ids[2], ids[0]]
    expect(page.locator("#f-label")).to_have_value("intent=complaint")
    expect(page.locator("#sort")).to_have_value("-id")
    expect(page.locator("#more-filters")).to_have_attribute("open", "")

    # Back and forward walk the views.
    page.go_back()
    expect(rows.first).to_have_attribute("data-item-id", str(ids[0]))
    expect(page.locator("#sort")).to_have_value("id")
    page.go_back()
    expect(rows).to_have_count(6)
    expect(page.locator("#f-label")).to_have_value("")
    page.go_forward()
    page.go_forward()
    expect(rows.first).to_have_attribute("data-item-id", str(ids[4]))
    assert page.url == view_url

    # A bad value in the URL is explained, not a blank page.
    page.goto(f"/p/{project.name}?status=nope")
    expect(page.locator("#items-status")).to_contain_text("status")
    expect(page.locator("#items-status")).to_contain_text("queued")


def test_bulk_action_confirms_the_count_in_the_page_and_saved_views(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        browser_ws: Any) -> None:
    project = _labelled_project(make_project)
    ids = [r["id"] for r in project.items(limit=500)]
    login(page, "mia", f"/p/{project.name}")
    rows = page.locator("#items tr")
    expect(rows).to_have_count(30)
    # select two items and delete them; cancelling first changes nothing
    rows.nth(20).locator("input.pick").check()
    rows.nth(21).locator("input.pick").check()
    expect(page.locator("#bulk-selected")).to_have_text("selected (2)")
    page.select_option("#bulk-action", "delete")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_be_visible()
    expect(page.locator("#bulk-question")).to_have_text("Delete 2 items? This cannot be undone.")
    page.keyboard.press("Escape")  # the focus is on Confirm; Escape cancels
    expect(page.locator("#bulk-confirm")).to_be_hidden()
    expect(page.locator("#bulk-status")).to_have_text("Nothing was changed.")
    page.click("#bulk-apply")
    page.click("#bulk-no")
    expect(page.locator("#bulk-confirm")).to_be_hidden()
    expect(rows).to_have_count(30)
    page.click("#bulk-apply")
    page.click("#bulk-yes")
    expect(page.locator("#bulk-status")).to_have_text("Delete: 2 items done.")
    expect(rows).to_have_count(28)
    assert {ids[20], ids[21]}.isdisjoint(ids_on_page(page))
    entry = [e for e in browser_ws.audit_log(limit=10_000) if e["action"] == "items.bulk"][-1]
    assert json.loads(entry["detail"])["ids"] == [ids[20], ids[21]]

    # everything a filter matches: assign the unlabelled ones to ann2
    page.select_option("#status", "unlabeled")
    expect(rows).to_have_count(18)
    page.select_option("#bulk-action", "assign")
    page.fill("#bulk-user", "ann2")
    page.check("#bulk-scope-all")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-question")).to_have_text("Assign 18 items to ann2?")
    page.click("#bulk-yes")
    expect(page.locator("#bulk-status")).to_have_text("Assign: 18 items done.")
    expect(rows).to_have_count(0)

    # save the view, come back to it from a clean page
    page.fill("#view-name", "Untouched")
    page.click("#view-save")
    expect(page.locator("#view-status")).to_have_text("Saved “Untouched”.")
    page.goto(f"/p/{project.name}")
    expect(rows).to_have_count(28)
    page.select_option("#view-select", label="Untouched")
    expect(page.locator("#status")).to_have_value("unlabeled")
    assert "status=unlabeled" in page.url
    expect(page.locator("#items-status")).to_have_text("No items match.")


def test_item_page_has_a_permanent_url_with_answers_and_history(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        guard: Any) -> None:
    guard.allow(r"status of 404")  # the missing item at the end, expected there
    project = _labelled_project(make_project)
    first = project.items(limit=1)[0]
    login(page, "mia", f"/p/{project.name}?sort=-id")
    page.locator(f"#items tr[data-item-id='{first['id']}'] a.item-link").click()
    page.wait_for_url(re.compile(f"/p/{re.escape(project.name)}/items/{first['id']}$"))
    expect(page.locator("#item-title")).to_have_text(f"Item #{first['id']} · t00")
    expect(page.locator("#item-body")).to_contain_text("ACME ticket 0")
    answer = page.locator("#answers .answer")
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("ann")
    expect(answer.locator("[data-field='intent']")).to_contain_text("Complaint")
    expect(answer.locator(".value-spans li")).to_have_text("ORG ACME")  # the span, drawn
    expect(page.locator("#reviews")).to_contain_text("Not reviewed.")
    expect(page.locator("#adjudication")).to_contain_text("Never disputed.")
    expect(page.locator("#back-to-items")).to_have_attribute(  # back to the view it came from
        "href", f"/p/{project.name}?sort=-id")
    # the history shows what was done to it
    project.bulk_items("requeue", item_ids=[first["id"]])
    page.reload()
    expect(page.locator("#history")).to_contain_text("item.requeue")
    page.goto(f"/p/{project.name}/items/999999")
    expect(page.locator("#item-error")).to_contain_text("No item 999999")


def test_browser_fits_a_phone_screen(new_page: Callable[[], Page],
                                     make_project: Callable[..., Any],
                                     login: Callable[..., None]) -> None:
    project = _labelled_project(make_project)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "mia", f"/p/{project.name}")
    expect(page.locator("#items tr")).to_have_count(30)
    item_path = f"/p/{project.name}/items/{project.items(limit=1)[0]['id']}"
    for path in (f"/p/{project.name}", item_path):
        if path == item_path:
            page.goto(path)
            expect(page.locator("#answers .answer")).to_have_count(1)
        else:
            page.locator("#more-filters summary").click()  # every filter shown
            expect(page.locator("#f-label")).to_be_visible()
        wide = page.evaluate("""Array.from(document.querySelectorAll('body *')).filter(
            e => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap')).map(
            e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)""")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px: {wide}"
