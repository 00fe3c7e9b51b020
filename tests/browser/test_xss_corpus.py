"""Stored XSS: a corpus of hostile strings through every text sink, every page, real Chromium.

One project holds the corpus everywhere a user can put text: item text, other data keys
(and a data key *name*), nested metadata, the external id, the project title, the label
schema (titles, help, option values and titles, span label values), the guidelines
(Markdown, with hostile link targets), review and adjudication comments, the review stage
name, the sign-off comment, and the usernames and display names of the people who work in it.
Error messages that echo input are reached too: a project name in the URL, and the file name of
a failed import.

Every page that shows these is opened by the user who sees them, and must:

- open no dialog (``alert``), never set the ``window.__xss`` canary the payloads aim at,
  log no console error and fire no ``securitypolicyviolation`` (markup that got into the
  page would, even though CSP then blocks it);
- hold no element the payloads make: no script without a ``/static/`` source, no iframe,
  object, embed, style, base, math or foreign image, no ``on*`` attribute, no
  ``javascript:``/``data:`` link (shadow roots included);
- show the payload as text.

The server-made SVG charts must parse as XML with the hostile labels as text, no script,
no event handler, no foreign content, and run nothing when opened as a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import defusedxml.ElementTree as SafeXML
import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.core import Project
from truelabel.server.pages import routes as page_routes

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"  # the browser fixtures' password (tests/browser/conftest.py)
Guard = Any  # tests/browser/conftest.py: Guard (dialogs, console errors)

# -- the corpus ------------------------------------------------------------------------------
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=window.__xss=1>",
    "<svg onload=alert(1)>",
    "<svg><script>window.__xss=1</script></svg>",
    '"><iframe srcdoc="<script>parent.__xss=1</script>">',
    "</script><script>window.__xss=1</script>",
    "{{7*7}} ${alert(1)} #{7*7}",
    '<a href="data:text/html,<script>alert(1)</script>">data link</a>',
    '<a href="javascript:window.__xss=1">js link</a>',
    "'\"`><details open ontoggle=window.__xss=1>",
    "\u202e<b>gnp.exe</b>\u2028<i>x</i>\u2029",
    "<style>body{display:none}</style>",
    "<math><mtext><img src=x onerror=window.__xss=1></mtext></math>",
    "javascript:alert(1)",
]
MARKDOWN = [
    "[x](javascript:alert(1))",
    "[y](JaVaScRiPt:window.__xss=1)",
    "[z](data:text/html,<script>alert(1)</script>)",
    '![i](x" onerror="window.__xss=1)',
    "<div onclick=alert(1)>raw html</div>",
    "[w](&#106;avascript:alert(1))",
]
CORPUS = " ¦ ".join(XSS)
#: Columns with a length limit: a project title (300), a display name (200).
TITLE = " ¦ ".join(XSS[:8])
DISPLAY = " ".join([XSS[0], XSS[1], XSS[5]])
#: Where spaces or length are not allowed (usernames, stage names, external ids).
SHORT = ["<img/src/onerror=window.__xss=1>", "<svg/onload=alert(1)>",
         '"><script>alert(1)</script>']
#: Strings every page that shows hostile text must show literally.
MUST_SHOW = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]

NAME = "xss-corpus"
MANAGER, ANN1, ANN2 = SHORT[1], SHORT[0], SHORT[2]
EXT_ID = "<img src=x onerror=window.__xss=1>"
DATA_KEY = "<img src=x onerror=alert(1)>"
GUIDELINES = "# Rules " + XSS[0] + "\n\n" + CORPUS + "\n\n" + "\n".join(
    f"- {m}" for m in MARKDOWN) + "\n\n> " + XSS[1] + "\n\n```\n" + XSS[6] + "\n```\n"
SCHEMA: dict[str, Any] = {
    "title": CORPUS,
    "fields": [
        {"name": "intent", "type": "choice", "title": XSS[1], "help": CORPUS,
         "options": [{"value": p, "title": XSS[(i + 1) % len(XSS)]} for i, p in enumerate(XSS)]},
        {"name": "tags", "type": "multi_choice", "title": XSS[3], "required": False,
         "options": XSS[:4]},
        {"name": "entities", "type": "spans", "title": XSS[0], "source": "text",
         "required": False, "labels": [{"value": p} for p in XSS[:3]]},
        {"name": "note", "type": "text", "title": XSS[2], "help": CORPUS, "required": False},
    ],
}


# -- the project ------------------------------------------------------------------------------
@dataclass
class Corpus:
    project: Project
    ids: dict[str, int]


@pytest.fixture(scope="module")
def corpus(browser_ws: Workspace) -> Iterator[Corpus]:
    ws = browser_ws
    users = {name: ws.add_user(name, PASSWORD, role=role, display_name=DISPLAY)
             for name, role in ((MANAGER, "manager"), (ANN1, "annotator"), (ANN2, "annotator"))}
    p = ws.create_project(NAME, SCHEMA, title=TITLE, guidelines=GUIDELINES, overlap=2)
    p.add_member(users[MANAGER], "manager")
    p.add_member(users[ANN1], "annotator")
    p.add_member(users[ANN2], "annotator")
    p.set_workflow(review_stages=[{"name": SHORT[0], "role": "reviewer"}],
                   adjudication_threshold=0.4, slice_keys=["lang"])
    records = [{"id": EXT_ID, "text": CORPUS, "note": CORPUS, DATA_KEY: CORPUS,
                "lang": XSS[1], "meta": {"html": CORPUS, "list": XSS}}]
    records += [{"id": f"x{k}{SHORT[k % 3]}", "text": f"{XSS[k]} item {k}", "lang": SHORT[k % 3]}
                for k in range(1, 8)]
    p.import_records(records)
    ids = {r["external_id"]: r["id"] for r in p.items(limit=100)}
    gold_ext = f"x7{SHORT[7 % 3]}"
    p.set_gold(ids[gold_ext], {"intent": XSS[0]})
    for k, (ext, item_id) in enumerate(ids.items()):
        if ext == gold_ext:
            continue
        p.annotate(item_id, {"intent": XSS[0], "note": CORPUS,
                             "entities": [{"start": 0, "end": 8, "label": XSS[0]}]},
                   users[ANN1], key=f"xss-a1-{k}")
        p.annotate(item_id, {"intent": XSS[k % 3], "tags": XSS[:2], "note": CORPUS},
                   users[ANN2], key=f"xss-a2-{k}")
    # the first item goes back to ANN1 with the reviewer's comment
    first = next(a for a in p.annotations(ids[EXT_ID]) if a["username"] == ANN1)
    p.review(first["id"], "reject", users[MANAGER], comment=CORPUS)
    disputed = [r["item_id"] for r in p.adjudication_queue()]
    assert len(disputed) >= 3, disputed
    p.adjudicate(disputed[-1], {"intent": XSS[1]}, users[MANAGER], comment=CORPUS)
    p.aggregate(method="majority")
    p.sign_off(users[MANAGER], comment=CORPUS, override_reason=CORPUS)
    yield Corpus(p, ids)


# -- what a page must not hold ----------------------------------------------------------------
CANARY_INIT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}`));
"""

#: Walks the document, shadow roots included, and lists every element a payload could make.
FIND_INJECTED = r"""
() => {
  const bad = [];
  const url = (v) => (v || "").replace(/[\u0000-\u0020]/g, "").toLowerCase();
  const visit = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) visit(el.shadowRoot);
      const tag = el.localName;
      const where = `<${tag}> ${el.outerHTML.slice(0, 120)}`;
      for (const a of el.getAttributeNames()) {
        if (a.startsWith("on")) bad.push(`event handler ${a}: ${where}`);
      }
      if (tag === "script" && !(el.getAttribute("src") || "").startsWith("/static/")) {
        bad.push(`script: ${where}`);
      }
      if (["iframe", "frame", "object", "embed", "style", "base", "math", "applet",
           "foreignobject"].includes(tag)) bad.push(`element: ${where}`);
      if (tag === "svg" || (el.namespaceURI || "").endsWith("/svg")) bad.push(`svg: ${where}`);
      if (tag === "img") {
        const src = el.getAttribute("src") || "";
        if (!src.startsWith("/api/") && !src.startsWith("/static/")) bad.push(`img: ${where}`);
      }
      if (tag === "meta" && el.getAttribute("http-equiv")) bad.push(`meta: ${where}`);
      if (tag === "link" && !(el.getAttribute("href") || "").startsWith("/static/")) {
        bad.push(`link: ${where}`);
      }
      for (const a of ["href", "src", "action", "formaction", "xlink:href", "srcdoc"]) {
        const v = url(el.getAttribute(a));
        const image = tag === "img" && v.startsWith("data:image/");
        if (/^(javascript|data|vbscript):/.test(v) && !image) {
          bad.push(`${a}=${v.slice(0, 60)}: ${where}`);
        }
      }
    }
  };
  visit(document);
  return bad;
}
"""


def page_exists(path: str) -> bool:
    return any(getattr(r, "path", None) == path for r in page_routes.router.routes)


def assert_clean(page: Page, guard: Guard, where: str, *, shows: list[str] = MUST_SHOW) -> None:
    page.wait_for_load_state("networkidle")
    assert not guard.dialogs, f"{where}: a dialog opened: {guard.dialogs}"
    assert page.evaluate("() => window.__xss") is None, f"{where}: the canary was set"
    csp = page.evaluate("() => window.__csp")
    assert csp == [], f"{where}: CSP violations (injected markup got into the page): {csp}"
    injected = page.evaluate(FIND_INJECTED)
    assert injected == [], f"{where}: elements from the payloads:\n" + "\n".join(injected)
    text = page.evaluate("() => document.body.innerText")
    for s in shows:
        assert s in text, f"{where}: {s!r} is not shown as text"
    assert not guard.errors, f"{where}: console errors: {guard.errors}"


@pytest.fixture
def open_as(new_page: Callable[[], Page], login: Callable[..., None]
            ) -> Callable[[str, str], Page]:
    def make(username: str, path: str) -> Page:
        page = new_page()
        page.add_init_script(CANARY_INIT)
        login(page, username, path)
        return page
    return make


# -- the pages --------------------------------------------------------------------------------
def test_projects_list(corpus: Corpus, open_as: Callable[[str, str], Page], guard: Guard) -> None:
    page = open_as(MANAGER, "/")
    card = page.locator(f"[data-project='{NAME}']")
    expect(card).to_contain_text(XSS[0])
    expect(page.locator(".who")).to_contain_text(XSS[1])  # the display name in the header
    assert_clean(page, guard, "projects list")


def test_data_browser_item_dialog_and_import_errors(
        corpus: Corpus, open_as: Callable[[str, str], Page], guard: Guard) -> None:
    page = open_as(MANAGER, f"/p/{NAME}")
    row = page.locator(f"#items tr[data-item-id='{corpus.ids[EXT_ID]}']")
    expect(row).to_contain_text(EXT_ID)
    expect(row).to_contain_text(XSS[0])
    assert_clean(page, guard, "data browser")
    row.locator("button").click()
    dialog = page.locator("#item-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(DATA_KEY)
    expect(dialog).to_contain_text(ANN2)  # ANN1's annotation was rejected: not current
    assert_clean(page, guard, "item dialog", shows=[*MUST_SHOW, DATA_KEY, ANN2, XSS[7]])
    page.locator("#item-dialog-close").click()

    # a failed import names its file: the name is hostile, the message shows it as text
    bad_name = f"{XSS[1]} {XSS[3]}.jsonl"
    page.locator("#import-panel summary").click()
    page.set_input_files("#import-file", files=[{
        "name": bad_name, "mimeType": "application/x-ndjson",
        "buffer": f'{{"id": "{XSS[0]}", "text": 5}}\nnot json {XSS[0]}\n'.encode()}])
    page.click("#import-submit")
    expect(page.locator("#import-status")).to_contain_text("Import failed", timeout=15000)
    expect(page.locator("#import-status")).to_contain_text(XSS[3])
    assert_clean(page, guard, "import error", shows=[XSS[1], XSS[3]])


def test_label_page_with_review_comment_and_guidelines(
        corpus: Corpus, open_as: Callable[[str, str], Page], guard: Guard) -> None:
    page = open_as(ANN1, f"/p/{NAME}/label")
    expect(page.locator("#task-title")).to_have_text(f"Item {EXT_ID}")
    expect(page.locator("#review-comments")).to_be_visible()
    expect(page.locator("#review-comment-list li")).to_contain_text(XSS[0])
    expect(page.locator("#guidelines")).to_contain_text(MARKDOWN[0])
    expect(page.locator("#guidelines a")).to_have_count(0)
    expect(page.locator("tl-spans .span-text")).to_contain_text(XSS[0])
    assert_clean(page, guard, "label page",
                 shows=[*MUST_SHOW, EXT_ID, XSS[7], *MARKDOWN[:3], MARKDOWN[4], MANAGER])


def _project_page(path: str) -> str:
    if not page_exists(path):
        pytest.skip(f"page {path} does not exist yet")
    return path.replace("{name}", NAME)


def test_review_page(corpus: Corpus, open_as: Callable[[str, str], Page], guard: Guard) -> None:
    page = open_as(MANAGER, _project_page("/p/{name}/review"))
    expect(page.locator("#review-layout")).to_have_attribute("data-annotation-id",
                                                             re.compile(r"\d+"))
    expect(page.locator("#annotator")).to_have_text(re.compile(re.escape(ANN1) + "|"
                                                               + re.escape(ANN2)))
    expect(page.locator("#stage option").first).to_contain_text(SHORT[0])
    assert_clean(page, guard, "review page", shows=[XSS[0], SHORT[0]])
    page.keyboard.press("c")  # the correction form: field components with hostile options
    expect(page.locator("#correct-form")).to_be_visible()
    assert_clean(page, guard, "review correction form", shows=[XSS[0], XSS[1]])


def test_adjudication_page(corpus: Corpus, open_as: Callable[[str, str], Page],
                           guard: Guard) -> None:
    page = open_as(MANAGER, _project_page("/p/{name}/adjudicate"))
    expect(page.locator("#adj-list li").first).to_be_visible()
    expect(page.locator("#adj-head")).to_contain_text(ANN1)
    assert_clean(page, guard, "adjudication page", shows=[XSS[0], ANN1, ANN2])


def test_quality_dashboard(corpus: Corpus, open_as: Callable[[str, str], Page],
                           guard: Guard) -> None:
    page = open_as(MANAGER, _project_page("/p/{name}/quality"))
    expect(page.locator("#signoffs .signoff").first).to_contain_text(XSS[0])
    expect(page.locator("#annotators")).to_contain_text(ANN1)
    for img in page.locator("img").all():  # the charts loaded as images
        if img.is_visible():
            assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
    assert_clean(page, guard, "quality dashboard", shows=[XSS[0], ANN1, ANN2, MANAGER])


@pytest.mark.parametrize("suffix", ["", "/label", "/review", "/adjudicate", "/quality"])
def test_not_found_pages_echo_the_name_as_text(
        corpus: Corpus, open_as: Callable[[str, str], Page], guard: Guard, suffix: str) -> None:
    if not page_exists("/p/{name}" + suffix):
        pytest.skip(f"page /p/{{name}}{suffix} does not exist yet")
    guard.allow(r"status of 404")  # the page itself answers 404
    hostile = XSS[1] + '"><svg onload=alert(1)>'  # no "/": it would split the path
    page = open_as(MANAGER, "/")
    response = page.goto(f"/p/{quote(hostile, safe='')}{suffix}")
    assert response is not None and response.status == 404
    assert_clean(page, guard, f"not found {suffix}", shows=[XSS[1]])


def test_login_next_is_never_a_script(new_page: Callable[[], Page], guard: Guard,
                                      corpus: Corpus) -> None:
    page = new_page()
    page.add_init_script(CANARY_INIT)
    for target in ("javascript:window.__xss=1", "//evil.example/", "data:text/html,<b>x</b>"):
        page.goto(f"/login?next={quote(target, safe='')}")
        page.fill("#username", MANAGER)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"/$"))
        assert_clean(page, guard, f"after login with next={target}", shows=[])
        page.context.clear_cookies()


# -- the server-made charts -------------------------------------------------------------------
def test_svg_charts_escape_hostile_labels(corpus: Corpus, open_as: Callable[[str, str], Page],
                                          guard: Guard) -> None:
    from truelabel import charts

    page = open_as(MANAGER, "/")
    base = f"/api/projects/{NAME}/quality/charts"
    urls = [f"{base}/{c}.svg" for c in charts.CHARTS]
    urls += [f"{base}/{c}.svg?field={f}" for c in ("confusion", "per-label")
             for f in ("intent", "tags")]
    shown = 0
    for url in urls:
        r = page.request.get(url)
        if r.status == 404:  # a chart with nothing to draw for that field
            continue
        assert r.status == 200, (url, r.status, r.text()[:200])
        assert r.headers["content-type"].startswith("image/svg+xml"), url
        assert "default-src 'none'" in r.headers["content-security-policy"], url
        root = SafeXML.fromstring(r.body())
        text = "".join(root.itertext())
        for el in root.iter():
            tag = el.tag.rsplit("}", 1)[-1].lower()
            assert tag not in {"script", "foreignobject", "iframe", "image", "use", "a",
                               "animate", "set", "handler"}, (url, tag)
            for name, value in el.attrib.items():
                local = name.rsplit("}", 1)[-1].lower()
                assert not local.startswith("on"), (url, tag, name)
                assert not re.match(r"\s*(javascript|data):", value, re.I), (url, tag, name)
        if any(marker in text for marker in ("<script>", "<img", "<svg", SHORT[0])):
            shown += 1
        # opened as a page of its own, it runs nothing either
        page.goto(url)
        page.wait_for_load_state("load")
        assert not guard.dialogs, (url, guard.dialogs)
        assert page.evaluate("() => window.__xss") is None, url
    assert shown >= 2, "the hostile labels should appear in the charts as text"


def test_the_checks_catch_an_injection(corpus: Corpus, open_as: Callable[[str, str], Page],
                                       guard: Guard) -> None:
    """The page checks are not vacuous: markup put into the page the way a bug would is seen."""
    page = open_as(MANAGER, "/")
    assert_clean(page, guard, "before")
    page.evaluate("(html) => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
                  XSS[1] + XSS[10] + XSS[9])
    page.wait_for_timeout(200)
    with pytest.raises(AssertionError) as caught:
        assert_clean(page, guard, "after")
    message = str(caught.value)
    assert "CSP violations" in message or "elements from the payloads" in message, message
    injected = page.evaluate(FIND_INJECTED)
    assert any("onerror" in x for x in injected) and any("ontoggle" in x for x in injected)
    assert any("javascript:" in x for x in injected), injected
    assert page.evaluate("() => window.__csp").__len__() >= 1  # CSP blocked the handlers
    guard.errors.clear()  # the CSP reports this test provoked on purpose
