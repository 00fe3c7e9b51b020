"""Where the login page sends the browser next: same-origin paths only, parsed as a browser would.

The same corpus runs through the browser's own URL parser in
``browser/test_redirects_and_links.py``; here the server's half: ``safe_next`` and the
``/login`` route (the page's ``data-next`` and the redirect of a signed-in user).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from helpers import PASSWORD
from truelabel.domain.models import User
from truelabel.server.pages.redirects import DEFAULT_NEXT, safe_next
from url_corpus import BAD_NEXT, BAD_NEXT_QUERIES, GOOD_NEXT


@pytest.mark.parametrize("value", BAD_NEXT)
def test_off_site_or_odd_next_falls_back_to_the_landing_page(value: str) -> None:
    assert safe_next(value) == DEFAULT_NEXT
    assert safe_next(value, default="/elsewhere") == "/elsewhere"


@pytest.mark.parametrize(("value", "expected"), list(GOOD_NEXT.items()))
def test_same_site_next_is_kept_in_the_form_the_browser_reads(value: str, expected: str) -> None:
    assert safe_next(value) == expected


def test_none_gives_the_default() -> None:
    assert safe_next(None) == DEFAULT_NEXT


ODD_CHARS = list("/\\.%2fFeE?#:@ \t\n\rab\x00\x1f\u00fc")


@given(st.text(alphabet=st.sampled_from(ODD_CHARS), max_size=24))
def test_any_answer_is_a_path_on_this_site(value: str) -> None:
    out = safe_next(value)
    assert out.startswith("/") and not out.startswith("//")
    assert all(0x21 <= ord(c) <= 0x7E for c in out), out  # nothing left for the parser to drop
    assert "\\" not in out.partition("?")[0].partition("#")[0]
    assert urlsplit("http://site.test" + out).netloc == "site.test"
    assert safe_next(out) == out  # the answer is already in its parsed form


def _login(c: TestClient, name: str) -> None:
    assert c.post("/api/login", json={"username": name, "password": PASSWORD}).status_code == 200


def _data_next(html: str) -> str:
    m = re.search(r'data-next="([^"]*)"', html)
    assert m, "the login form carries no data-next"
    return unescape(m.group(1))


@pytest.mark.parametrize("query", BAD_NEXT_QUERIES)
def test_login_route_refuses_an_off_site_next(app: Any, users: dict[str, User], query: str) -> None:
    c = TestClient(app)
    page = c.get(f"/login?next={query}")
    assert page.status_code == 200
    assert _data_next(page.text) == "/"
    _login(c, "ann1")
    r = c.get(f"/login?next={query}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_login_route_keeps_a_same_site_next(app: Any, users: dict[str, User]) -> None:
    c = TestClient(app)
    target = "/p/support/label?x=1#y"
    assert _data_next(c.get(f"/login?next={quote(target, safe='')}").text) == target
    _login(c, "ann1")
    r = c.get(f"/login?next={quote(target, safe='')}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == target
