"""The data browser's import refuses an unclosed CSV quote naming the line, and warns about
rows a quote swallowed (issue 13)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_import_refuses_an_unclosed_quote_and_warns_of_swallowed_rows(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None],
        tmp_path: Path) -> None:
    project = make_project([{"id": "a1", "text": "first"}])
    unclosed = tmp_path / "q.csv"
    unclosed.write_bytes(b'id,text\n1,"hello there\n2,second\n3,third\n')
    login(page, "mia", f"/p/{project.name}")
    page.locator("#import-panel summary").click()
    page.set_input_files("#import-file", str(unclosed))
    page.click("#import-submit")
    status = page.locator("#import-status")
    expect(status).to_contain_text("Import failed")
    expect(status).to_contain_text("line 2: a quote opened on this line is never closed")
    assert project.status()["items"] == 1

    swallowed = tmp_path / "s.csv"
    swallowed.write_bytes(b'id,text\n1,"hello\n2,second\n3,third\n4,"\n5,fifth\n')
    page.set_input_files("#import-file", str(swallowed))
    page.click("#import-submit")
    expect(status).to_have_text("2 items added, 0 already present")
    notes = page.locator("#import-notes li")
    expect(notes).to_have_count(1)
    expect(notes.nth(0)).to_contain_text("Warning")
    expect(notes.nth(0)).to_contain_text("lines 2–5")
