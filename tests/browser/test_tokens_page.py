"""The API tokens page: create (the secret shown once, as text), list, revoke."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"
NAME = "<img src=x onerror=alert(1)>"


def test_a_user_creates_uses_and_revokes_a_token(browser_ws: Workspace, page: Page,
                                                 live_url: str,
                                                 login: Callable[..., None]) -> None:
    try:
        user = browser_ws.get_user("tok-user")
    except Exception:
        user = browser_ws.add_user("tok-user", PASSWORD)
    login(page, "tok-user", "/me/tokens")
    expect(page.locator("#token-status")).to_contain_text("no API tokens")
    page.fill("#token-name", NAME)
    page.select_option("#token-scope", "read")
    page.select_option("#token-days", "7")
    page.click("#token-create")
    expect(page.locator("#token-new")).to_be_visible()
    token = page.inner_text("#token-secret").strip()
    assert token.startswith("tl_")
    expect(page.locator("#token-rows tr")).to_have_count(1)
    text = page.inner_text("#token-table")
    assert NAME in text and "read" in text  # the name is shown as text
    assert page.locator("#token-table img, #token-table script").count() == 0

    with httpx.Client(base_url=live_url,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/me").status_code == 200
        assert c.post("/api/me/tokens", json={"name": "x"}).status_code == 403  # read-only
        page.reload()
        expect(page.locator("#token-new")).to_be_hidden()  # shown once
        assert token not in page.content()
        page.click("#token-rows button")
        expect(page.locator("#token-rows tr")).to_have_count(0)
        assert c.get("/api/me").status_code == 401
    assert browser_ws.tokens.list(user) == []
