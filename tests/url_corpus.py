"""Hostile and honest URLs for the redirect (``next``) and Markdown-link checks.

Shared by the unit tests (``test_redirects.py``) and the Chromium tests
(``browser/test_redirects_and_links.py``), which run the same values through the browser's
own URL parser. Hosts are ``evil.invalid``: never resolvable, and the browser tests block every
request that does not go to the test server anyway.
"""

from __future__ import annotations

EVIL = "evil.invalid"

#: ``next`` values (as the server receives them, i.e. already percent-decoded) that must fall
#: back to the landing page "/".
BAD_NEXT: list[str] = [
    f"//{EVIL}",
    f"/\\{EVIL}",
    f"\\/{EVIL}",
    f"\\\\{EVIL}",
    f"/\t/{EVIL}",
    f"/\n/{EVIL}",
    f"/\r/{EVIL}",
    f"/\t\\{EVIL}",
    f"\t//{EVIL}",
    f" //{EVIL}",
    f"\x01//{EVIL}",
    f"///{EVIL}",
    f"//%2f%2f{EVIL}",
    f"//{EVIL}/p/x/label",
    f"/..//{EVIL}",
    f"/.//{EVIL}",
    f"/%2e%2e//{EVIL}",
    f"/a/../..//{EVIL}",
    f"https://{EVIL}",
    f"http:{EVIL}",
    f"http:/{EVIL}",
    f"HTTPS:\\\\{EVIL}",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<b>x</b>",
    EVIL,
    "?x=1",
    "#top",
    "",
    "/" + "x" * 3000,
]

#: ``next`` values that stay on the site, with the path the browser must be sent to.
GOOD_NEXT: dict[str, str] = {
    "/": "/",
    "/projects/1/label?x=1#y": "/projects/1/label?x=1#y",
    "/p/tickets/label": "/p/tickets/label",
    f"/ /{EVIL}": f"/%20/{EVIL}",
    f"/%09/{EVIL}": f"/%09/{EVIL}",  # an encoded tab in a path is text, not a tab
    f"/%2f%2f{EVIL}": f"/%2f%2f{EVIL}",
    f"/%5c{EVIL}": f"/%5c{EVIL}",
    "/a\\b": "/a/b",
    "/a\tb": "/ab",
    "  /p/x \n": "/p/x",
    f"\x00/\x1f/{EVIL}": f"/%1F/{EVIL}",  # a control inside a path is encoded, not dropped
    "/a/./b/../c": "/a/c",
    "/%2E%2e/x": "/x",
    "/..": "/",
    "/a/.": "/a/",
    "/p/\u00fc?q=\u00fc#\u00fc": "/p/%C3%BC?q=%C3%BC#%C3%BC",
    "/a?b='c'": "/a?b=%27c%27",
    "/a?x=\\y": "/a?x=\\y",
    "/a\"<>`{}": "/a%22%3C%3E%60%7B%7D",
    "/a#b c": "/a#b%20c",
    "/a?": "/a",
    "/a#": "/a",
    "/a?b#": "/a?b",
}

#: Raw query strings for ``/login?next=…`` (percent-encoding as an attacker would send it).
BAD_NEXT_QUERIES: list[str] = [
    f"//{EVIL}/",
    f"/%09/{EVIL}/",
    f"/%0a/{EVIL}/",
    f"/%0d/{EVIL}/",
    f"/%0D%0A/{EVIL}/",
    f"%09//{EVIL}/",
    f"%2F%09%2F{EVIL}/",
    f"/%5C{EVIL}/",
    f"%5C/{EVIL}/",
    f"%5C%5C{EVIL}/",
    f"/%09%5C{EVIL}/",
    f"%20//{EVIL}/",
    f"///{EVIL}/",
    f"//%2f%2f{EVIL}/",
    f"/..//{EVIL}/",
    f"https://{EVIL}/",
    f"https%3A%2F%2F{EVIL}/",
    f"http:{EVIL}",
    "javascript:alert(1)",
    "javascript%3Aalert(1)",
    "java%09script:alert(1)",
    "data:text/html,x",
]

#: Markdown link targets that must be shown as text, not as links.
BAD_LINKS: list[str] = [
    f"/\\{EVIL}",
    f"\\\\{EVIL}",
    f"\\/{EVIL}",
    f"//{EVIL}",
    f"///{EVIL}",
    f"/%09/..//{EVIL}",
    f"/..//{EVIL}",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "javascript%3Aalert(1)",
    "java%09script:alert(1)",
    "%09javascript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<b>x</b>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://evil.invalid/x",
    EVIL,
    "relative/path",
]

#: Markdown link targets that stay links: target → (href, opens in a new tab).
GOOD_LINKS: dict[str, tuple[str, bool]] = {
    "https://example.org/guide": ("https://example.org/guide", True),
    "HTTP://Example.org/a%20b": ("http://example.org/a%20b", True),
    "mailto:lead@example.org": ("mailto:lead@example.org", False),
    "/p/x/label?a=1": ("/p/x/label?a=1", False),
    "/%09/x": ("/%09/x", False),
}
