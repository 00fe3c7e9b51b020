"""Management in the browser (issue 12): from an empty server, an admin creates users and a
project, a manager sets it up (members, schema with preview and diff, guidelines, gold,
assignment, workflow) and an annotator labels in it; archive; disabled users; password reset.

Its own server on its own empty workspace (only the first admin, as ``truelabel init`` makes).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from helpers import open_workspace
from truelabel import Workspace
from truelabel.server.app import create_app

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

ADMIN_PASSWORD = "root-password-1"
SCHEMA_YAML = """title: Tickets
fields:
  - name: intent
    type: choice
    options: [refund, shipping, other]
"""
ITEMS = [{"id": f"t{i}", "text": f"My order {i} from ACME arrived broken"} for i in range(1, 6)]


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    with open_workspace(tmp_path_factory.mktemp("manage")) as ws:
        ws.add_user("root", ADMIN_PASSWORD, role="admin")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(create_app(ws), host="127.0.0.1", log_level="warning",
                                access_log=False, lifespan="off", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        yield ws, f"http://127.0.0.1:{sock.getsockname()[1]}"
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def open_as(browser: Browser, empty_server: tuple[Workspace, str], guard: Any
            ) -> Iterator[Callable[[str, str], Page]]:
    """open_as(username, password) → a guarded page in a fresh context, logged in."""
    contexts: list[BrowserContext] = []

    def make(username: str, password: str) -> Page:
        ctx = browser.new_context(base_url=empty_server[1],
                                  viewport={"width": 1440, "height": 900})
        ctx.set_default_timeout(5000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("console", guard.on_console)
        page.on("pageerror", lambda exc: guard.errors.append(f"pageerror: {exc}"))
        page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
        login(page, username, password)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    guard.check()


def login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/$"))


def add_user(page: Page, username: str, role: str, password: str) -> None:
    page.fill("#new-username", username)
    page.fill("#new-display", username.capitalize())
    page.select_option("#new-role", role)
    page.fill("#new-password", password)
    page.click("#add-user-submit")
    expect(page.locator("#add-user-status")).to_contain_text(f"{username} added as {role}")
    expect(page.locator(f'#users-body tr[data-username="{username}"]')).to_be_visible()


def create_project(page: Page, name: str) -> None:
    page.goto("/")
    page.click("#create-panel summary")
    page.fill("#create-name", name)
    page.fill("#create-title", f"Support {name}")
    page.fill("#create-schema", SCHEMA_YAML)
    page.fill("#create-guidelines", "# Intent\nPick the main intent.")
    page.click("#create-submit")
    page.wait_for_url(re.compile(rf"/p/{name}/manage"))


def test_a_project_set_up_in_the_browser_only_then_labelled(
        open_as: Callable[[str, str], Page], empty_server: tuple[Workspace, str],
        tmp_path: Path) -> None:
    ws, _ = empty_server
    # -- the admin: users, then the project, then its manager ------------------------------
    admin = open_as("root", ADMIN_PASSWORD)
    expect(admin.locator("#projects-status")).to_contain_text("No active projects yet")
    admin.click("#nav-users")
    add_user(admin, "mia", "manager", "mia-password-1")
    add_user(admin, "ann", "annotator", "ann-password-1")
    create_project(admin, "tickets")
    admin.click("#tab-members")
    admin.fill("#member-username", "mia")
    admin.select_option("#member-role", "manager")
    admin.click("#member-add")
    expect(admin.locator('#members-body tr[data-username="mia"]')).to_be_visible()

    # -- the manager: items, members, schema, guidelines, gold, assignment, workflow -------
    mia = open_as("mia", "mia-password-1")
    mia.click('[data-project="tickets"] a:has-text("Manage")')
    mia.wait_for_url(re.compile(r"/p/tickets/manage"))
    mia.click("#nav-items")
    mia.wait_for_url(re.compile(r"/p/tickets/?(\?.*)?$"))  # the items page first
    mia.click("#import-panel summary")
    expect(mia.locator("#import-submit")).to_be_visible()
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(r) + "\n" for r in ITEMS), encoding="utf-8")
    mia.set_input_files("#import-file", str(items))
    mia.click("#import-submit")
    expect(mia.locator("#import-status")).to_contain_text("5 items added")
    mia.click("#nav-manage")

    mia.click("#tab-members")
    mia.fill("#member-username", "ann")
    mia.click("#member-add")
    expect(mia.locator('#members-body tr[data-username="ann"]')).to_be_visible()

    # schema: a bad one is explained inline; a good one previews and diffs before saving
    mia.click("#tab-schema")
    editor = mia.locator("#schema-text")
    expect(mia.locator("#schema-diff")).to_contain_text("No changes")
    expect(mia.locator("#schema-save")).to_be_disabled()
    editor.fill(SCHEMA_YAML.replace("type: choice", "type: chioce"))
    expect(mia.locator("#schema-error")).to_contain_text("chioce")
    expect(editor).to_have_attribute("aria-invalid", "true")
    editor.fill(SCHEMA_YAML + "  - name: urgent\n    type: choice\n    title: Urgent?\n"
                "    options: [high, low]\n")
    expect(mia.locator("#schema-error")).to_have_text("")
    expect(mia.locator("#schema-preview tl-choice")).to_have_count(2)
    expect(mia.locator("#schema-preview")).to_contain_text("Urgent?")
    expect(mia.locator("#schema-diff .add").filter(has_text='"name": "urgent"')).to_have_count(1)
    expect(mia.locator("#schema-diff .del")).to_have_count(0)  # only additions
    expect(mia.locator("#schema-save")).to_be_enabled()
    mia.click("#schema-save")
    expect(mia.locator("#schema-status")).to_contain_text("schema version 2")

    # guidelines: a new version with its changelog note
    mia.click("#tab-guidelines")
    mia.fill("#guidelines-text", "# Intent\nPick the main intent. **Refund** wins ties.")
    expect(mia.locator("#guidelines-preview strong")).to_have_text("Refund")
    mia.fill("#guidelines-note", "Refund wins ties")
    mia.click("#guidelines-save")
    expect(mia.locator("#guidelines-status")).to_contain_text("guidelines version 2")
    expect(mia.locator("#guidelines-history li").first).to_contain_text("Refund wins ties")

    # gold: upload a file, then edit one known answer
    mia.click("#tab-gold")
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "t5", "intent": "refund", "urgent": "low"}) + "\n",
                    encoding="utf-8")
    mia.set_input_files("#gold-file", str(gold))
    mia.click("#gold-upload-submit")
    expect(mia.locator("#gold-status")).to_contain_text("1 known answers imported")
    expect(mia.locator("#gold-body tr")).to_have_count(1)
    mia.fill("#gold-value-5", '{"intent": "shipping", "urgent": "low"}')
    mia.click("#gold-save-5")
    expect(mia.locator("#gold-status")).to_contain_text("Item 5: known answer saved")

    # assign item 2 to ann by id
    mia.click("#tab-assign")
    mia.select_option("#assign-user", "ann")
    mia.fill("#assign-ids", "2")
    mia.click("#assign-submit")
    expect(mia.locator("#assign-status")).to_contain_text("1 item reserved for ann")
    mia.fill("#priority-ids", "4")
    mia.fill("#priority-value", "10")
    mia.click("#priority-submit")
    expect(mia.locator("#priority-status")).to_contain_text("Priority 10 set on 1 item")

    # workflow: each setting with its description; turn on adjudication at 0.4
    mia.click("#tab-workflow")
    expect(mia.locator('[data-setting="gold_rate"] .help')).to_contain_text("gold items")
    mia.fill("#wf-adjudication_threshold", "0.4")
    mia.click("#wf-review_stages-add")
    mia.click("#workflow-save")
    expect(mia.locator("#workflow-status")).to_have_text("Workflow saved.")

    project = ws.project("tickets")
    assert project.info()["schema_version"] == 2
    assert project.gold() == {5: {"intent": "shipping", "urgent": "low"}}
    wf = project.workflow()
    assert wf.adjudication_threshold == 0.4 and [s.name for s in wf.review_stages] == ["stage 1"]
    actions = {e["action"] for e in ws.audit_log(limit=1000)}
    assert {"user.add", "project.create", "member.set", "schema.version",
            "guidelines.version"} <= actions

    # -- the annotator labels the item reserved for them -----------------------------------
    ann = open_as("ann", "ann-password-1")
    ann.goto("/p/tickets/label")
    expect(ann.locator("#task-title")).to_have_text("Item t2")
    expect(ann.locator("#guidelines")).to_contain_text("wins ties")
    expect(ann.locator("#guidelines-notice")).to_have_count(0)  # first visit: nothing old
    ann.locator("tl-choice[data-field=intent] input[value=refund]").check()
    ann.locator("tl-choice[data-field=urgent] input[value=high]").check()
    with ann.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        ann.click("#submit")
    assert sub.value.status == 200
    expect(ann.locator("#task-title")).to_have_text("Item t4")  # the prioritised one next
    anns = project.annotations(2)
    assert [(a["username"] if "username" in a else a["user_id"], a["value"]) for a in anns][0][1] \
        == {"intent": "refund", "urgent": "high"}

    # the manager changes the guidelines again: the annotator is told once, with the note
    mia.click("#tab-guidelines")
    mia.fill("#guidelines-text", "# Intent\nRefund wins ties. Shipping questions are shipping.")
    mia.fill("#guidelines-note", "Shipping questions are shipping")
    mia.click("#guidelines-save")
    expect(mia.locator("#guidelines-status")).to_contain_text("guidelines version 3")
    ann.reload()
    notice = ann.locator("#guidelines-notice")
    expect(notice).to_contain_text("now version 3")
    expect(notice).to_contain_text("Shipping questions are shipping")
    ann.click("#guidelines-notice-ok")
    expect(notice).to_have_count(0)
    ann.reload()
    expect(ann.locator("#task-title")).to_contain_text("Item")
    expect(ann.locator("#guidelines-notice")).to_have_count(0)


def test_archive_hides_a_project_from_annotators(
        open_as: Callable[[str, str], Page], empty_server: tuple[Workspace, str],
        guard: Any) -> None:
    ws, _ = empty_server
    admin = open_as("root", ADMIN_PASSWORD)
    create_project(admin, "old")
    ws.add_user("ann9", "ann9-password", role="annotator")
    ws.project("old").add_member("ann9", "annotator")
    admin.click("#archive")
    expect(admin.locator("#archive-status")).to_have_text("Archived.")
    admin.goto("/")
    expect(admin.locator('#archived-projects [data-project="old"]')).to_be_visible()
    expect(admin.locator('#projects [data-project="old"]')).to_have_count(0)
    ann = open_as("ann9", "ann9-password")
    expect(ann.locator("#projects-status")).to_contain_text("not in any project")
    guard.allow(r"409")  # the refused "next task" below
    ann.goto("/p/old/label")
    expect(ann.locator("#message")).to_contain_text("is archived and gives no new tasks")
    ann.goto("/")
    assert ws.project("old").info()["archived"] is True
    admin.click("#unarchive-old")
    expect(admin.locator('#projects [data-project="old"]')).to_be_visible()
    ann.reload()
    expect(ann.locator('#projects [data-project="old"]')).to_be_visible()


def test_disabled_users_cannot_log_in_and_a_reset_password_works(
        open_as: Callable[[str, str], Page], empty_server: tuple[Workspace, str],
        browser: Browser, guard: Any) -> None:
    ws, base = empty_server
    guard.allow(r"401")  # the refused logins
    ws.add_user("bob", "bob-password-1", role="annotator")
    admin = open_as("root", ADMIN_PASSWORD)
    admin.click("#nav-users")
    admin.click("#disable-bob")
    admin.click("#disable-bob-confirm")
    expect(admin.locator('#users-body tr[data-username="bob"]')).to_contain_text("disabled")

    def try_login(password: str) -> Page:
        ctx = browser.new_context(base_url=base)
        page = ctx.new_page()
        page.on("console", guard.on_console)
        page.goto("/login")
        page.fill("#username", "bob")
        page.fill("#password", password)
        page.click("#login-submit")
        return page

    refused = try_login("bob-password-1")
    expect(refused.locator("#login-error")).to_be_visible()
    assert refused.url.endswith("/login")
    refused.context.close()

    # bob's API tokens: listed without secrets, revocable
    ws.create_token(ws.get_user("bob"), name="bob-ci")
    admin.click("#tokens-bob")
    expect(admin.locator("#token-list-bob li")).to_contain_text("bob-ci")
    admin.locator("#token-list-bob button", has_text="Revoke").click()
    admin.locator("#token-list-bob button", has_text="Revoke token").click()
    expect(admin.locator("#token-list-bob li")).to_have_text("No tokens.")
    admin.click("#enable-bob")
    expect(admin.locator('#users-body tr[data-username="bob"]')).to_contain_text("active")
    admin.click("#reset-bob")
    admin.fill("#password-bob", "bob-new-password")
    admin.click("#password-save-bob")
    expect(admin.locator("#users-status")).to_contain_text("bob has a new password")
    old = try_login("bob-password-1")
    expect(old.locator("#login-error")).to_be_visible()
    old.context.close()
    new = try_login("bob-new-password")
    new.wait_for_url(re.compile(r"/$"))
    new.context.close()
    entries = [e["action"] for e in ws.audit_log(limit=1000)]
    assert {"user.disable", "user.enable", "user.password"} <= set(entries)


def test_id_lists_and_the_line_diff(
        open_as: Callable[[str, str], Page]) -> None:
    page = open_as("root", ADMIN_PASSWORD)
    out = page.evaluate("""async () => {
      const { parseIds } = await import("/static/js/pages/manage/assign.js");
      const { lineDiff } = await import("/static/js/diff.js");
      const err = (v) => (v instanceof Error ? v.message : v);
      return {
        ids: parseIds("3, 5-7;9"), bad: err(parseIds("3, x")), back: err(parseIds("9-2")),
        empty: err(parseIds("  ")),
        diff: lineDiff("a\\nb\\nc", "a\\nc\\nd").map((r) => r.op + r.line),
      };
    }""")
    assert out["ids"] == [3, 5, 6, 7, 9]
    assert '"x" is not an item id' in out["bad"]
    assert "backwards" in out["back"] and "at least one" in out["empty"]
    assert out["diff"] == [" a", "-b", " c", "+d"]
