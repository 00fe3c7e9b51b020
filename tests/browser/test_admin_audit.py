"""The audit log page: admins see who did what; everybody else is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"


def test_admin_reads_and_filters_the_audit_log(browser_ws: Workspace, page: Page,
                                               login: Callable[..., None],
                                               new_page: Callable[[], Page],
                                               guard: Any) -> None:
    try:
        browser_ws.get_user("root-admin")
    except Exception:
        browser_ws.add_user("root-admin", PASSWORD, role="admin")
    browser_ws.audit_event("demo.marker", "user", "<img src=x onerror=alert(1)>", actor=None,
                           detail={"note": "<script>alert(1)</script>"})
    login(page, "root-admin", "/admin/audit")
    page.wait_for_selector("#audit-rows tr")
    text = page.inner_text("#audit-table")
    assert "login" in text and "demo.marker" in text
    assert "<img src=x onerror=alert(1)>" in text  # shown as text
    assert page.locator("#audit-table img, #audit-table script").count() == 0
    page.fill("#audit-action", "demo.marker")
    page.click("#audit-filter button")
    expect(page.locator("#audit-rows tr")).to_have_count(1)
    assert page.get_attribute("#audit-export", "href") == "/api/audit/export"

    other = new_page()
    login(other, "ann", "/")
    assert other.locator("a[href='/admin/audit']").count() == 0
    guard.allow(r"status of 403")  # the refusal itself is the expected outcome
    resp = other.goto("/admin/audit")
    assert resp is not None and resp.status == 403


def test_admin_edits_the_url_import_allow_list(browser_ws: Workspace, page: Page,
                                              login: Callable[..., None],
                                              new_page: Callable[[], Page],
                                              guard: Any) -> None:
    """Settings page: save entries (normalised, audited), a bad entry is refused with its
    reason and nothing changes, a reload shows what is stored; non-admins are refused."""
    from truelabel.core.url_import import get_url_allowlist

    try:
        browser_ws.get_user("root-admin")
    except Exception:
        browser_ws.add_user("root-admin", PASSWORD, role="admin")
    login(page, "root-admin", "/admin/settings")
    expect(page.locator("#allow-status")).to_contain_text("Nothing extra is allowed")
    page.fill("#allow-entries", "10.0.0.0/8\n  Data.Internal:8443  \n")
    page.click("#allow-save")
    expect(page.locator("#allow-status")).to_contain_text("Saved. 2 entries allowed")
    assert get_url_allowlist(browser_ws) == ["10.0.0.0/8", "data.internal:8443"]
    guard.allow(r"status of 422")  # the refusal is the expected outcome
    page.fill("#allow-entries", "10.0.0.0/8\nnot a host!\n")
    page.click("#allow-save")
    expect(page.locator("#allow-status")).to_contain_text("Not saved")
    assert get_url_allowlist(browser_ws) == ["10.0.0.0/8", "data.internal:8443"]
    page.reload()
    expect(page.locator("#allow-entries")).to_have_value("10.0.0.0/8\ndata.internal:8443")
    assert browser_ws.audit_log(action="settings.url_allowlist")

    other = new_page()
    login(other, "ann", "/")
    assert other.locator("a[href='/admin/settings']").count() == 0
    guard.allow(r"status of 403")
    resp = other.goto("/admin/settings")
    assert resp is not None and resp.status == 403
