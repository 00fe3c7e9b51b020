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
