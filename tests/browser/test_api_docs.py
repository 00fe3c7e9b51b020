"""``/api/docs`` works under the app's own CSP: no third-party script, no inline script."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


def test_api_docs_render_under_the_csp(page: Page) -> None:
    """Without logging in: the page loads, no CSP violation is reported, every operation of
    the spec is listed (grouped by tag) and opens to its parameters and answers."""
    page.add_init_script(WATCH_CSP)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    expect(page.locator("#api-operations[data-ready='1']")).to_be_attached()
    spec = page.evaluate("fetch('/api/openapi.json').then(r => r.json())")
    n = sum(1 for ops in spec["paths"].values() for m in ops if m in
            ("get", "post", "put", "patch", "delete"))
    expect(page.locator(".api-op")).to_have_count(n)
    expect(page.locator("#api-status")).to_contain_text(f"{n} operations")
    op = page.locator(".api-op", has_text="/api/projects/{project}/tasks/{task_id}/submit")
    expect(op).to_have_count(1)
    op.locator("summary").click()
    expect(op.locator(".api-params")).to_contain_text("task_id")
    expect(op.locator(".api-fields")).to_contain_text("idempotency_key")
    expect(op.locator(".api-responses")).to_contain_text("422")
    assert page.evaluate("window.__csp") == []
    base = page.url.split("/api/docs")[0]
    assert all(u.startswith(base) for u in requests), requests
