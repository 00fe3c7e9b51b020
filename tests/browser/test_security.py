"""User data is text: no markup from items or guidelines runs, and pages carry no inline code."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
HOSTILE_TEXT = f"Hello {IMG} and {SCRIPT} bye"
HOSTILE_GUIDELINES = f"""# Rules {SCRIPT}

Some **bold** advice and {IMG} inline.

- item with `code` and [a bad link](javascript:alert(1))
- [a good link](https://example.org/guide)

<div onclick="alert(1)">raw html block</div>
"""

class InlineCodeFinder(HTMLParser):
    """Collects every inline script, event handler attribute and style in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _ in attrs}
        if tag == "script":
            self.scripts += 1
            self._in_script = True
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"script without a same-site src: {attrs}")
        if tag == "style":
            self.problems.append("a <style> element")
        self.problems += [f"<{tag} {n}=…>" for n in names if n.startswith("on") or n == "style"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body: {data[:80]!r}")


def assert_no_inline_code(html: str) -> None:
    finder = InlineCodeFinder()
    finder.feed(html)
    assert finder.scripts >= 1
    assert not finder.problems, finder.problems


def test_pages_have_no_inline_script_or_style(page: Page, make_project: Callable[..., Any],
                                              login: Callable[..., None]) -> None:
    project = make_project([{"id": "a", "text": "hello"}])
    anon = page.request.get("/login")
    assert "script-src 'self'" in anon.headers["content-security-policy"]
    assert_no_inline_code(anon.text())
    login(page, "mia")
    for path in ("/", f"/p/{project.name}", f"/p/{project.name}/label", "/p/no-such-project",
                 "/me/tokens"):
        res = page.request.get(path)
        assert res.status == (404 if "no-such" in path else 200), path
        assert "script-src 'self'" in res.headers["content-security-policy"]
        assert_no_inline_code(res.text())


def test_hostile_item_data_and_guidelines_render_as_text(
        new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None]) -> None:
    project = make_project([{"id": f"x{IMG}", "text": HOSTILE_TEXT, "note": SCRIPT}],
                           guidelines=HOSTILE_GUIDELINES)

    # The annotator's label page: spans text, title and guidelines all show the markup as text.
    page = new_page()
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("#task-title")).to_have_text(f"Item x{IMG}")
    expect(page.locator("tl-spans .span-text")).to_have_text(HOSTILE_TEXT)
    guide = page.locator("#guidelines")
    expect(guide.locator("h3")).to_have_text(f"Rules {SCRIPT}")
    expect(guide.locator("strong")).to_have_text("bold")
    expect(guide.locator("code")).to_have_text("code")
    expect(guide).to_contain_text(IMG)
    expect(guide).to_contain_text('<div onclick="alert(1)">raw html block</div>')
    expect(guide.locator("a")).to_have_count(1)
    expect(guide.locator("a")).to_have_attribute("href", "https://example.org/guide")
    expect(guide).to_contain_text("[a bad link](javascript:alert(1))")
    for sel in ("main img", "main script", "[onerror]", "[onclick]", "main div[onclick]"):
        expect(page.locator(sel)).to_have_count(0)

    # A plain (non-spans) project shows item JSON as text too.
    plain = make_project([{"id": "p1", "body": SCRIPT}],
                         schema={"fields": [{"name": "ok", "type": "choice",
                                             "options": ["yes", "no"]}]})
    page.goto(f"/p/{plain.name}/label")
    expect(page.locator("#task-text-body")).to_contain_text(SCRIPT)

    # The manager's data browser and item dialog.
    manager = new_page()
    login(manager, "mia", f"/p/{project.name}")
    row = manager.locator("#items tr").first
    expect(row).to_contain_text(HOSTILE_TEXT)
    expect(row).to_contain_text(f"x{IMG}")
    row.locator("button").click()
    dialog = manager.locator("#item-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("pre").first).to_contain_text(SCRIPT)
    for sel in ("main img", "main script", "[onerror]"):
        expect(manager.locator(sel)).to_have_count(0)
