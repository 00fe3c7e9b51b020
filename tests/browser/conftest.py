"""Fixtures for the web UI tests: a live server, headless Chromium, a guarded page, logins.

One uvicorn server and one Chromium serve the whole session; each test makes its own project
(``make_project``) and gets a fresh browser context (cookies, localStorage) per ``page``.
Every page fails its test on a console error, an uncaught exception or a JavaScript dialog.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from helpers import open_workspace
from truelabel import Workspace
from truelabel.core import Project
from truelabel.server.app import create_app

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "browser-pass-1"
USERS = {"ann": "annotator", "ann2": "annotator", "mia": "manager"}

SCHEMA: dict[str, Any] = {
    "title": "Support tickets",
    "fields": [
        {"name": "intent", "type": "choice", "title": "Intent",
         "options": [{"value": "question", "title": "Question"},
                     {"value": "complaint", "title": "Complaint"},
                     {"value": "praise", "title": "Praise"}]},
        {"name": "entities", "type": "spans", "title": "Entities", "source": "text",
         "required": False,
         "labels": [{"value": "ORG", "hotkey": "o"}, {"value": "PRODUCT", "hotkey": "p"}]},
    ],
}

GUIDELINES = """# Labeling intent

Pick the **main** intent of the message. When in doubt, choose *question*.

- `ORG`: companies and organisations
- `PRODUCT`: named products
"""


# -- the server ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with open_workspace(tmp_path_factory.mktemp("browser")) as ws:  # backend under test
        for name, role in USERS.items():
            ws.add_user(name, PASSWORD, role=role, display_name=name.capitalize())
        yield ws


@pytest.fixture(scope="session")
def live_url(browser_ws: Workspace) -> Iterator[str]:
    """Base URL of the real app under uvicorn (background thread, pre-bound loopback socket)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(browser_ws), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def make_project(browser_ws: Workspace, request: pytest.FixtureRequest
                 ) -> Callable[..., Project]:
    """make_project(records, guidelines=…, schema=…) → a new project; ann, ann2 annotate, mia
    manages. Named after the test so tests never share a queue."""
    counter = iter(range(1000))

    def make(records: list[dict[str, Any]], *, guidelines: str = GUIDELINES,
             schema: dict[str, Any] | None = None) -> Project:
        base = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:80]
        p = browser_ws.create_project(f"{base}-{next(counter)}", schema or SCHEMA,
                                      title=f"Tickets {base}", guidelines=guidelines)
        for name, role in USERS.items():
            p.add_member(name, role)
        if records:
            p.import_records(records)
        return p

    return make


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Guard:
    """What a page did that a test should fail on; ``allow`` expected console errors."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, msg: Any) -> None:
        if msg.type == "error" and not any(p.search(msg.text) for p in self.allowed):
            self.errors.append(f"console: {msg.text} @ {msg.location.get('url', '')}")

    def check(self) -> None:
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
def new_page(browser: Browser, live_url: str, guard: Guard) -> Iterator[Callable[[], Page]]:
    """new_page() → a page in a fresh context (its own cookies and storage), guarded."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        ctx = browser.new_context(base_url=live_url, viewport={"width": 1440, "height": 900})
        ctx.set_default_timeout(5000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("console", guard.on_console)
        page.on("pageerror", lambda exc: guard.errors.append(f"pageerror: {exc}"))

        def on_dialog(dialog: Any) -> None:
            guard.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    guard.check()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


def _login(page: Page, username: str, next_path: str = "/") -> None:
    page.goto(next_path)
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


@pytest.fixture
def login() -> Callable[..., None]:
    """login(page, username, next_path="/"): open next_path, get sent to /login, log in there,
    and land back on next_path."""
    return _login
