"""Open redirects after login and off-site guideline links, checked with Chromium's URL parser.

Every request that is not for the test server is blocked (and recorded), so a regression shows
up as a recorded request and a foreign host in the page URL, never as traffic leaving the box.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from truelabel.server.pages.redirects import safe_next
from url_corpus import BAD_LINKS, BAD_NEXT, BAD_NEXT_QUERIES, GOOD_LINKS, GOOD_NEXT

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"  # the browser fixtures' password (tests/browser/conftest.py)
URLS_JS = "/static/js/urls.js"


def block_other_hosts(page: Page, live_url: str) -> list[str]:
    """Abort (and list) every request from this page's context that leaves the test server."""
    here = urlsplit(live_url).netloc
    escaped: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == here:
            route.continue_()
        else:
            escaped.append(url)
            route.abort()

    page.context.route("**/*", handle)
    return escaped


def js(page: Page, module: str, fn: str, values: list[str]) -> list[Any]:
    return page.evaluate(
        "async ([module, fn, values]) => { const m = await import(module);"
        " return values.map((v) => m[fn](v)); }", [module, fn, values])


# -- next=… ----------------------------------------------------------------------------------
def test_safe_next_in_the_page_agrees_with_the_server(page: Page, live_url: str) -> None:
    """The same corpus through safeNext() (Chromium's own URL parser) and safe_next()."""
    page.goto("/login")
    values = BAD_NEXT + list(GOOD_NEXT)
    answers = js(page, URLS_JS, "safeNext", values)
    for value, answer in zip(values, answers, strict=True):
        expected = GOOD_NEXT.get(value, "/")
        assert answer == expected, f"safeNext({value!r}) = {answer!r}, want {expected!r}"
        assert safe_next(value) == answer, f"server and page disagree on {value!r}"


def test_safe_next_agrees_with_the_browser_on_random_odd_values(page: Page) -> None:
    """Many short strings of the characters parsers disagree on, same answer on both sides."""
    rng = random.Random(10)
    alphabet = list("/\\.%2eEfF?#:@ \t\n\r\x00\x1f\x7f'\"<>`{}ab\u00fc\u3000")
    values = ["".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(3000)]
    values = ["/" + v if i % 2 else v for i, v in enumerate(values)]  # half start as paths
    page.goto("/login")
    answers = js(page, URLS_JS, "safeNext", values)
    wrong = [(v, a, safe_next(v)) for v, a in zip(values, answers, strict=True)
             if a != safe_next(v)]
    assert not wrong, wrong[:10]


def _log_in_here(page: Page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")


def signed_out(page: Page) -> None:
    """Let the landing page finish loading, then drop the session."""
    expect(page.locator("#projects-status")).not_to_have_text("Loading projects…")
    page.context.clear_cookies()


def test_login_with_a_hostile_next_stays_on_this_site(
        new_page: Callable[[], Page], live_url: str, make_project: Callable[..., Any]) -> None:
    page = new_page()
    escaped = block_other_hosts(page, live_url)
    here = urlsplit(live_url).netloc
    # The attacker's link as sent, and one with a raw tab that the browser itself drops.
    for query in [*BAD_NEXT_QUERIES, "/\t/evil.invalid/"]:
        page.goto(f"/login?next={query}")
        _log_in_here(page, "mia")
        landed = urlsplit(page.url)
        assert (landed.netloc, landed.path) == (here, "/"), f"next={query!r} landed on {page.url}"
        signed_out(page)
    assert escaped == []

    # The page checks on its own too: a data-next the server would never write is refused.
    for value in BAD_NEXT[:20]:
        page.goto("/login")
        page.evaluate("(v) => { document.getElementById('login-form').dataset.next = v; }", value)
        _log_in_here(page, "mia")
        landed = urlsplit(page.url)
        assert (landed.netloc, landed.path) == (here, "/"), f"data-next {value!r} → {page.url}"
        signed_out(page)
    assert escaped == []

    # An honest next still works, query and fragment included.
    project = make_project([{"id": "n1", "text": "hello"}])
    target = f"/p/{project.name}/label?x=1#y"
    page.goto(f"/login?next={quote(target, safe='')}")
    _log_in_here(page, "mia")
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    expect(page.locator("#task-title")).to_have_text("Item n1")
    assert escaped == []


# -- guideline links -------------------------------------------------------------------------
def test_guideline_links_only_go_where_they_should(
        new_page: Callable[[], Page], live_url: str, make_project: Callable[..., Any],
        login: Callable[..., None]) -> None:
    lines = [f"- bad {i}: [bad{i}]({t})" for i, t in enumerate(BAD_LINKS)]
    lines += [f"- good {i}: [good{i}]({t})" for i, t in enumerate(GOOD_LINKS)]
    project = make_project([{"id": "g1", "text": "hello"}], guidelines="\n".join(lines))
    page = new_page()
    escaped = block_other_hosts(page, live_url)
    login(page, "ann", f"/p/{project.name}/label")
    guide = page.locator("#guidelines")
    expect(guide.locator("li")).to_have_count(len(lines))

    links = guide.locator("a")
    expect(links).to_have_count(len(GOOD_LINKS))
    for i, (href, external) in enumerate(GOOD_LINKS.values()):
        a = guide.locator(f"a:text-is('good{i}')")
        expect(a).to_have_attribute("href", href)
        if external:
            expect(a).to_have_attribute("target", "_blank")
            expect(a).to_have_attribute("rel", "noopener noreferrer")
        else:
            assert a.get_attribute("target") is None
    for i in range(len(BAD_LINKS)):  # shown as the Markdown the author wrote, not a link
        item = guide.locator("li").nth(i)
        expect(item).to_contain_text(f"[bad{i}](")
        expect(item.locator("a")).to_have_count(0)

    # The same targets straight through linkTarget(): refused, or the expected href.
    answers = js(page, URLS_JS, "linkTarget", BAD_LINKS + list(GOOD_LINKS))
    assert answers[:len(BAD_LINKS)] == [None] * len(BAD_LINKS), answers[:len(BAD_LINKS)]
    assert [(a["href"], a["external"]) for a in answers[len(BAD_LINKS):]] == list(
        GOOD_LINKS.values())
    assert escaped == []
