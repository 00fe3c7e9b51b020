"""The data browser's import shows what the import did besides adding items (issue 12):
repeated texts and reused ids, with the policy chosen in the form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_import_reports_repeats_and_conflicts(page: Page, make_project: Callable[..., Any],
                                              login: Callable[..., None], tmp_path: Path) -> None:
    project = make_project([{"id": "a1", "text": "first"}])
    upload = tmp_path / "dups.jsonl"
    upload.write_text("".join(json.dumps(r) + "\n" for r in [
        {"text": "Thanks!"}, {"text": "Thanks!"}, {"id": "a1", "text": "first, edited"}]))
    login(page, "mia", f"/p/{project.name}")
    page.locator("#import-panel summary").click()
    page.set_input_files("#import-file", str(upload))
    page.click("#import-submit")  # the default policy: a reused id stops the import
    status = page.locator("#import-status")
    expect(status).to_contain_text("Import failed")
    expect(status).to_contain_text("id 'a1' at line 3")
    expect(page.locator("#import-notes")).to_be_hidden()

    page.select_option("#import-on-conflict", "keep-last")
    page.set_input_files("#import-file", str(upload))
    page.click("#import-submit")
    expect(status).to_have_text("1 items added, 0 already present")
    notes = page.locator("#import-notes li")
    expect(notes).to_have_count(2)
    expect(notes.nth(0)).to_contain_text("line 2 = line 1")
    expect(notes.nth(1)).to_contain_text("the later record replaced the item")
    assert project.items(search="edited")[0]["external_id"] == "a1"

    page.select_option("#import-dedup", "none")
    page.set_input_files("#import-file", str(upload))
    page.click("#import-submit")
    expect(status).to_have_text("2 items added, 1 already present")
    expect(page.locator("#import-notes")).to_be_hidden()  # a1 is now the same content
