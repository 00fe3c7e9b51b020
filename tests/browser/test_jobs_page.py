"""The jobs page: a manager starts an export, sees it finish, downloads it; a job interrupted
by a server restart is shown failed with a Restart button that completes it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.jobs import INTERRUPTED
from truelabel.store import jobs as job_store

pytestmark = pytest.mark.browser


def test_manager_exports_and_restarts_an_interrupted_job(
    browser_ws: Workspace, page: Page, make_project: Callable[..., Project],
    login: Callable[..., None],
) -> None:
    p = make_project([{"id": f"j{i}", "text": f"job item {i}"} for i in range(30)])
    mia = browser_ws.get_user("mia")
    # a job a dead server left behind, as the next start finds it
    with browser_ws.db.write() as conn:
        stale = job_store.add(conn, kind="export", project_id=p.id, user_id=mia.id,
                              params={"project": p.id, "format": "jsonl"},
                              runner="gone:1:x", now=time.time() - 3600)
        job_store.update_job(conn, stale, status="failed", message=INTERRUPTED,
                             finished_at=time.time())
    login(page, "mia", f"/p/{p.name}/jobs")
    row = page.locator(f'tr[data-job="{stale}"]')
    expect(row).to_have_attribute("data-status", "failed")
    expect(row).to_contain_text("interrupted by a server restart")
    row.locator('[data-action="restart"]').click()
    expect(row).to_have_attribute("data-status", "done", timeout=20_000)
    with page.expect_download() as dl:
        row.locator('[data-action="download"]').click()
    assert dl.value.suggested_filename == f"{p.name}.jsonl"

    page.click("#job-export-parquet")
    expect(page.locator('tr[data-status="done"]')).to_have_count(2, timeout=20_000)
    expect(page.locator("#nav-jobs")).to_have_attribute("aria-current", "page")
