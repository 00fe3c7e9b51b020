"""The item lifecycle in the browser: the state on the review and adjudication pages, a
rejected item's rework opening with the annotator's previous answer on the label page, and
the sign-off warnings with a recorded override on the quality page."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import NotFound

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"  # the browser fixtures' password (tests/browser/conftest.py)


def _member(ws: Workspace, project: Project, name: str, role: str) -> None:
    try:
        ws.get_user(name)
    except NotFound:
        ws.add_user(name, PASSWORD, role=role)
    project.add_member(name, role)


@pytest.fixture
def api(browser_ws: Workspace, live_url: str) -> Iterator[Callable[[str], httpx.Client]]:
    """api(name): an API client with a token of that user (closed after the test)."""
    made: list[httpx.Client] = []

    def make(name: str) -> httpx.Client:
        token = browser_ws.create_token(browser_ws.get_user(name))
        made.append(httpx.Client(base_url=live_url, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _answer(c: httpx.Client, url: str, intent: str) -> dict:
    task = c.post(f"{url}/tasks/next").json()
    r = c.post(f"{url}/tasks/{task['id']}/submit", json={
        "value": {"intent": intent, "entities": []}, "idempotency_key": f"k-{task['id']}"})
    assert r.status_code == 200, r.text
    return task


def test_rework_opens_with_previous_answer_and_state_shows(
    browser_ws: Workspace, api: Callable[[str], httpx.Client],
    make_project: Callable[..., Project], new_page: Callable[[], Page],
    login: Callable[..., None],
) -> None:
    project = make_project([{"id": "r1", "text": "The kettle broke after a day."}])
    _member(browser_ws, project, "rev", "reviewer")
    project.set_workflow(review_stages=[{"name": "check"}])
    url = f"/api/projects/{project.name}"
    ann_api = api("ann")
    _answer(ann_api, url, "praise")

    rev = new_page()
    login(rev, "rev", f"/p/{project.name}/review")
    expect(rev.locator("#item-state")).to_have_text("State: In review")
    expect(rev.locator("#item-state")).to_have_attribute("data-state", "in_review")
    rev.click("#reject")
    rev.fill("#reject-comment", "It is a complaint: the kettle broke.")
    with rev.expect_response(lambda r: r.url.endswith("/reviews")) as rejected:
        rev.click("#reject-send")
    assert rejected.value.status == 201
    item_id = project.items(limit=5)[0]["id"]
    mia = api("mia")
    assert mia.get(f"{url}/items/{item_id}").json()["state"] == "rejected"

    ann = new_page()
    login(ann, "ann", f"/p/{project.name}/label")
    expect(ann.locator("#task-title")).to_have_text("Item r1")
    expect(ann.locator("#review-comment-list li")).to_contain_text("the kettle broke")
    # the rework opens with ann's previous answer filled in
    expect(ann.locator("tl-choice input[value=praise]")).to_be_checked()
    assert mia.get(f"{url}/items/{item_id}").json()["state"] == "in_progress"


def test_signoff_warnings_and_recorded_override(
    browser_ws: Workspace, api: Callable[[str], httpx.Client],
    make_project: Callable[..., Project], new_page: Callable[[], Page],
    login: Callable[..., None],
) -> None:
    project = make_project([{"id": f"s{i}", "text": f"Ticket {i}"} for i in range(2)])
    project.set_overlap(2)
    project.set_workflow(adjudication_threshold=0.2)
    url = f"/api/projects/{project.name}"
    ann, ann2 = api("ann"), api("ann2")
    first = _answer(ann, url, "praise")
    _answer(ann2, url, "complaint")  # the same item: they disagree -> adjudication

    adj = new_page()
    login(adj, "mia", f"/p/{project.name}/adjudicate")
    expect(adj.locator("#item-state")).to_have_text("State: In adjudication")

    lead = new_page()
    login(lead, "mia", f"/p/{project.name}/quality")
    warnings = lead.locator("#signoff-warnings")
    expect(warnings).to_be_visible()
    expect(warnings.locator("[data-warning=open_adjudications]")).to_contain_text(
        "1 item(s) still wait for adjudication")
    lead.fill("#signoff-comment", "Week one.")
    lead.click("#signoff")  # refused on the page: the warnings need a reason
    expect(lead.locator("#message")).to_contain_text("override reason")
    expect(lead.locator("#signoff-override")).to_be_focused()
    expect(lead.locator("#no-signoff")).to_be_visible()
    lead.fill("#signoff-override", "The disputed ticket is out of scope.")
    with lead.expect_response(lambda r: r.url.endswith("/signoffs")
                              and r.request.method == "POST") as signed:
        lead.click("#signoff")
    assert signed.value.status == 201
    card = lead.locator("#signoffs .signoff").first
    expect(card).to_contain_text("Reason: The disputed ticket is out of scope.")
    expect(card).to_contain_text("wait for adjudication")
    # recorded: with the sign-off and in the audit log
    row = project.signoffs()[0]
    assert row["evidence"]["override_reason"] == "The disputed ticket is out of scope."
    admin = browser_ws.add_user(f"root-{project.id}", PASSWORD, role="admin")
    entries = browser_ws.audit_log(actor=admin, action="signoff", limit=10_000)
    entry = next(e for e in entries if str(e["object_id"]) == str(project.id))
    assert "out of scope" in str(entry["detail"])
    assert project.item(first["item_id"])["state"] == "in_adjudication"
