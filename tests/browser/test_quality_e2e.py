"""The quality loop end to end, in a real browser on the backend under test.

Three annotators label with overlap 3 and 20 % gold (set in the dashboard's workflow form);
one of them answers at random (seeded). The dashboard flags that one; Dawid-Skene with gold
outvotes them; the one three-way disagreement goes to adjudication and is decided there; a
reviewer rejects an annotation, which returns to its annotator with the comment; the QA lead
signs off; and the JSONL export carries ground truth with confidence next to the raw labels.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import NotFound

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-1"  # the browser fixtures' password (tests/browser/conftest.py)
LABELS = ["question", "complaint", "praise"]  # keys 1, 2, 3 on the label page
N_ITEMS = 30
SEED = 20240611
SHOTS = os.environ.get("TRUELABEL_SCREENSHOTS")  # a folder: save screenshots of the pages


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"qa-{name}.png"), full_page=True)


def ensure_member(ws: Workspace, project: Project, name: str, role: str) -> None:
    try:
        ws.get_user(name)
    except NotFound:
        ws.add_user(name, PASSWORD, role=role, display_name=name.capitalize())
    project.add_member(name, role)


def api_for(ws: Workspace, base_url: str, name: str) -> httpx.Client:
    token = ws.create_token(ws.get_user(name))
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def truth(ext: str) -> str:
    return LABELS[int(ext[1:]) % 3]


def random_answer(ext: str) -> str:
    """The random annotator's answer: seeded per item, so it does not depend on task order."""
    return random.Random(f"{SEED}:{ext}").choice(LABELS)


def label_via_api(c: httpx.Client, url: str, answer: Callable[[str], str]) -> int:
    n = 0
    while True:
        r = c.post(f"{url}/tasks/next")
        if r.status_code == 204:
            return n
        assert r.status_code == 200, r.text
        task = r.json()
        s = c.post(f"{url}/tasks/{task['id']}/submit", json={
            "value": {"intent": answer(task["external_id"]), "entities": []},
            "idempotency_key": f"bulk-{task['id']}-{n}", "time_spent_ms": 1500})
        assert s.status_code == 200, s.text
        n += 1


def label_via_keyboard(page: Page, answer: Callable[[str], str]) -> str:
    """Label the task on screen with the keyboard: its digit, then Enter. Returns its id."""
    title = page.locator("#task-title")
    expect(title).to_have_text(re.compile(r"^Item t\d+$"))
    ext = title.inner_text().removeprefix("Item ")
    page.keyboard.press(str(LABELS.index(answer(ext)) + 1))
    expect(page.locator(f"tl-choice input[value={answer(ext)}]")).to_be_checked()
    with page.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        page.keyboard.press("Enter")
    assert sub.value.status == 200
    expect(page.locator("#message")).to_contain_text(f"Submitted item {ext}")
    expect(title).not_to_have_text(f"Item {ext}")  # the next task (or "No tasks left") is up
    return ext


def test_quality_loop_end_to_end(
        new_page: Callable[[], Page], make_project: Callable[..., Project],
        login: Callable[..., None], browser_ws: Workspace, live_url: str,
        tmp_path: Path) -> None:
    records = [{"id": f"t{k:02d}", "text": f"Ticket {k}: " + [
        "where is my parcel?", "the box arrived broken, again.", "thanks, great support!"][k % 3]}
        for k in range(N_ITEMS)]
    project = make_project(records)
    ensure_member(browser_ws, project, "randy", "annotator")
    ensure_member(browser_ws, project, "rev", "reviewer")
    url = f"/api/projects/{project.name}"
    ids = {r["external_id"]: r["id"] for r in project.items(limit=500)}
    gold = [f"t{k:02d}" for k in range(0, N_ITEMS, 5)]  # 6 of 30: 20 %
    plain = [e for e in ids if e not in gold]
    # The disputed item: randy is wrong there, and ann2 picks the third label: a 3-way split.
    disputed = next(e for e in plain if random_answer(e) != truth(e))
    third = next(x for x in LABELS if x not in (truth(disputed), random_answer(disputed)))

    def ann2_answer(ext: str) -> str:
        return third if ext == disputed else truth(ext)

    # -- the QA lead sets the workflow in the dashboard -----------------------------------
    lead = new_page()
    login(lead, "mia", f"/p/{project.name}/quality")
    expect(lead.locator("#wf-overlap")).to_have_value("1")
    lead.fill("#wf-overlap", "3")
    lead.fill("#wf-gold-rate", "20")
    lead.fill("#wf-threshold", "0.5")
    lead.click("#add-stage")
    lead.locator("#stages .stage-name").fill("check")
    lead.click("#workflow-save")
    expect(lead.locator("#workflow-status")).to_have_text("Saved.")
    mia = api_for(browser_ws, live_url, "mia")
    wf = mia.get(f"{url}/workflow").json()
    assert wf["gold_rate"] == 0.2 and wf["adjudication_threshold"] == 0.5
    assert wf["review_stages"] == [{"name": "check", "role": "reviewer", "sample_rate": 1.0}]
    assert mia.get(url).json()["overlap"] == 3

    # ... and uploads the known answers of the gold items
    gold_file = "".join(json.dumps({"id": e, "intent": truth(e)}) + "\n" for e in gold)
    r = mia.post(f"{url}/gold", files={"file": ("gold.jsonl", gold_file.encode())})
    assert r.json()["imported"] == len(gold), r.text

    # -- labelling: ann starts on the label page with the keyboard, the rest in bulk ------
    ann = new_page()
    login(ann, "ann", f"/p/{project.name}/label")
    for _ in range(4):
        label_via_keyboard(ann, truth)
    ann_api, ann2_api, randy_api = (api_for(browser_ws, live_url, n)
                                    for n in ("ann", "ann2", "randy"))
    label_via_api(ann_api, url, truth)
    label_via_api(ann2_api, url, ann2_answer)
    label_via_api(randy_api, url, random_answer)
    # annotators are served gold items and never see the answers
    served = {e for e in gold if any(a["username"] == "randy"
                                     for a in project.annotations(ids[e]))}
    assert served, "no gold item was served"
    for who in (ann_api, randy_api):
        _error = who.get(f"{url}/gold")
        assert _error.status_code == 403 and "question" not in _error.text

    # -- the dashboard flags the random annotator ---------------------------------------------
    lead.reload()
    rows = lead.locator("#annotators tr")
    expect(rows).to_have_count(3)
    expect(lead.locator("#annotators tr[data-annotator=randy]")).to_have_class("flagged")
    expect(lead.locator("#annotators tr[data-annotator=randy]")).to_contain_text("Flagged")
    for good in ("ann", "ann2"):
        expect(lead.locator(f"#annotators tr[data-annotator={good}]")).not_to_have_class(
            "flagged")
    expect(lead.locator("#progress [data-stat=gold_items] dd")).to_have_text(str(len(gold)))
    expect(lead.locator("#report-status")).to_contain_text("flagged: randy")

    # -- review: accept one (after a look at the correction form), reject the next ---------
    rev = new_page()
    login(rev, "rev", f"/p/{project.name}/review")
    layout = rev.locator("#review-layout")
    expect(layout).to_have_attribute("data-annotation-id", re.compile(r"\d+"))
    first_id = layout.get_attribute("data-annotation-id")
    first_item = rev.locator("#item-title").inner_text().removeprefix("Item ")
    expect(rev.locator("#annotator")).to_have_text("ann")
    expect(rev.locator("#others .other-annotation")).to_have_count(2)
    rev.keyboard.press("c")  # the field components come prefilled with the annotation
    expect(rev.locator("#correct-form")).to_be_visible()
    expect(rev.locator(f"#correct-fields tl-choice input[value={truth(first_item)}]")
           ).to_be_checked()
    rev.keyboard.press("Escape")
    expect(rev.locator("#correct-form")).to_be_hidden()
    with rev.expect_response(lambda r: r.url.endswith("/reviews")) as accepted:
        rev.keyboard.press("a")
    assert accepted.value.status == 201
    expect(rev.locator("#message")).to_contain_text(f"Accepted annotation #{first_id}")
    expect(layout).not_to_have_attribute("data-annotation-id", first_id)
    rejected_id = layout.get_attribute("data-annotation-id")
    rejected_item = rev.locator("#item-title").inner_text().removeprefix("Item ")
    rejected_by = rev.locator("#annotator").inner_text()
    rev.keyboard.press("r")
    expect(rev.locator("#reject-comment")).to_be_focused()
    rev.keyboard.press("Enter")  # a rejection needs a reason
    expect(rev.locator("#message")).to_contain_text("Say why")
    comment = "Check the guidelines: <b>main</b> intent only."
    rev.locator("#reject-comment").fill(comment)
    shot(rev, "review")
    with rev.expect_response(lambda r: r.url.endswith("/reviews")) as rejected:
        rev.keyboard.press("Enter")
    assert rejected.value.status == 201
    expect(rev.locator("#message")).to_contain_text(f"Rejected annotation #{rejected_id}")
    assert rejected_by == "ann"

    # the item returns to the queue: ann gets it again, with the reviewer's comment as text
    ann.goto(f"/p/{project.name}/label")
    for _ in range(len(gold) + 1):  # gold tasks ann still had may come first
        expect(ann.locator("#task-title")).to_have_text(re.compile(r"^Item t\d+$"))
        if ann.locator("#task-title").inner_text() == f"Item {rejected_item}":
            break
        label_via_keyboard(ann, truth)
    expect(ann.locator("#task-title")).to_have_text(f"Item {rejected_item}")
    expect(ann.locator("#review-comments")).to_be_visible()
    expect(ann.locator("#review-comment-list li")).to_contain_text(comment)
    expect(ann.locator("#review-comment-list li")).to_contain_text("rev")
    expect(ann.locator("#review-comments b")).to_have_count(0)
    shot(ann, "label-comment")
    label_via_keyboard(ann, truth)
    expect(ann.locator("#review-comments")).to_be_hidden()

    # -- adjudication: the three-way split, every label side by side, decided there ---------
    adj = new_page()
    login(adj, "rev", f"/p/{project.name}/adjudicate")
    expect(adj.locator("#adj-list li")).to_have_count(1)
    expect(adj.locator("#adj-title")).to_have_text(f"Item {disputed}")
    expect(adj.locator("#adj-head th")).to_have_count(4)  # field + three annotators
    for who, said in (("ann", truth(disputed)), ("ann2", third),
                      ("randy", random_answer(disputed))):  # option titles are shown
        expect(adj.locator(f"#adj-body tr[data-field=intent] td[data-annotator={who}]")
               ).to_have_text(said.capitalize())
    expect(adj.locator("#adj-body tr[data-field=intent]")).to_have_class("disagree")
    shot(adj, "adjudication")
    adj.locator("#adj-head button[data-annotator=ann]").click()
    expect(adj.locator(f"#adj-fields tl-choice input[value={truth(disputed)}]")).to_be_checked()
    adj.fill("#adj-comment", "ann read the whole ticket")
    adj.locator(f"#adj-fields tl-choice input[value={truth(disputed)}]").focus()
    with adj.expect_response(lambda r: "/adjudications/" in r.url) as decided:
        adj.keyboard.press("Enter")
    assert decided.value.status == 200
    expect(adj.locator("#adj-done")).to_be_visible()
    expect(adj.locator("#message")).to_contain_text(f"Decided item {disputed}")

    # -- aggregation outvotes the random annotator -----------------------------------------
    lead.reload()
    # the methods are the registered ones, the default (auto) selected
    expect(lead.locator("#method")).to_have_value("auto")
    options = lead.locator("#method option").all_inner_texts()
    assert {"auto", "majority", "one_coin", "bayesian_dawid_skene"} <= set(options)
    lead.select_option("#method", "gold_dawid_skene")
    with lead.expect_response(lambda r: r.url.endswith("/aggregate")) as agg:
        lead.click("#aggregate")
    assert agg.value.status == 200
    expect(lead.locator("#message")).to_contain_text("Ground truth updated (gold_dawid_skene)")
    expect(lead.locator("#progress [data-stat=ground_truth_items] dd")).to_have_text(
        str(N_ITEMS))
    gt = {g["item_id"]: g["fields"]["intent"] for g in mia.get(f"{url}/ground-truth").json()}
    outvoted = [e for e in plain if random_answer(e) != truth(e) and e != disputed]
    assert len(outvoted) >= 5
    for e in plain:
        assert gt[ids[e]]["value"] == truth(e), (e, gt[ids[e]])
        assert 0.5 < gt[ids[e]]["confidence"] <= 1.0
    assert gt[ids[disputed]]["method"] == "adjudication"
    assert {gt[ids[e]]["method"] for e in outvoted} == {"gold_dawid_skene"}
    # the charts are server-made SVG images that loaded
    for img in lead.locator("#confusion img, #agreement-chart, #annotators-chart").all():
        expect(img).to_be_visible()
        expect(img).to_have_js_property("complete", True)  # (re)loaded after aggregation
        assert img.evaluate("i => i.naturalWidth") > 0
    expect(lead.locator("#hot-spots tr").first).to_be_visible()
    spot = lead.locator("#hot-spots tr[data-item-id]").first
    spot_id = spot.get_attribute("data-item-id")
    expect(spot.locator("a")).to_have_attribute("href", f"/p/{project.name}?item={spot_id}")
    # the decided item's disagreement is settled: no longer a hot spot
    expect(lead.locator(f"#hot-spots tr[data-item-id='{ids[disputed]}']")).to_have_count(0)

    # -- the QA lead signs off; the evidence is frozen with the sign-off --------------------
    lead.fill("#signoff-comment", "Randy retrained; Dawid-Skene with gold used.")
    if mia.get(f"{url}/signoffs/warnings").json()["warnings"]:  # randy's low agreement
        expect(lead.locator("#signoff-warnings")).to_be_visible()
        lead.fill("#signoff-override", "Randy's answers are outvoted by Dawid-Skene.")
    with lead.expect_response(lambda r: r.url.endswith("/signoffs")
                              and r.request.method == "POST") as signed:
        lead.click("#signoff")
    assert signed.value.status == 201
    card = lead.locator("#signoffs .signoff").first
    expect(card).to_contain_text("Signed off by mia")
    expect(card).to_contain_text("Randy retrained")
    expect(card).to_contain_text("Flagged annotators: randy")
    expect(card).to_contain_text("intent: alpha")
    expect(card).to_contain_text("1 decided")
    shot(lead, "dashboard")
    signoffs = mia.get(f"{url}/signoffs").json()
    assert len(signoffs) == 1 and signoffs[0]["username"] == "mia"
    assert signoffs[0]["evidence"]["annotators"][2]["flagged"] is True

    # -- the manager's JSONL export: ground truth with confidence, and the raw labels -------
    lead.goto(f"/p/{project.name}")
    with lead.expect_download() as dl:
        lead.click("#export-jsonl")
    path = tmp_path / "export.jsonl"
    dl.value.save_as(path)
    rows_out = {r["external_id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert len(rows_out) == N_ITEMS
    for e in plain:
        row = rows_out[e]
        assert row["ground_truth"]["intent"]["value"] == truth(e)
        assert isinstance(row["ground_truth"]["intent"]["confidence"], float)
        raw = {a["annotator"]: a["value"]["intent"] for a in row["annotations"]}
        assert raw == {"ann": truth(e), "ann2": ann2_answer(e), "randy": random_answer(e)}, e
        assert row["gold"] is None
    assert rows_out[disputed]["ground_truth"]["intent"] == {
        "value": truth(disputed), "confidence": 1.0, "method": "adjudication"}
    assert rows_out[gold[0]]["gold"] == {"intent": truth(gold[0])}
    for c in (mia, ann_api, ann2_api, randy_api):
        c.close()


HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_gold_feedback_toast_roles_and_hostile_text(
        new_page: Callable[[], Page], make_project: Callable[..., Project],
        login: Callable[..., None], browser_ws: Workspace) -> None:
    project = make_project([{"id": "g1", "text": f"Gold one {HOSTILE}"},
                            {"id": "g2", "text": "Gold two"},
                            {"id": "p1", "text": f"Plain {HOSTILE}"}])
    ensure_member(browser_ws, project, "rev", "reviewer")
    ids = {r["external_id"]: r["id"] for r in project.items()}
    for ext in ("g1", "g2"):
        project.set_gold(ids[ext], {"intent": "question"})
    project.set_workflow(gold_rate=1.0, gold_feedback=True,
                         review_stages=[{"name": "check"}])

    # gold feedback after submit, as a brief toast: wrong, then right
    ann = new_page()
    login(ann, "ann", f"/p/{project.name}/label")
    expect(ann.locator("#task-title")).to_have_text("Item g1")
    ann.keyboard.press("3")
    ann.keyboard.press("Enter")
    toast = ann.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_have_class("toast toast-wrong")
    expect(toast).to_contain_text("not quite")
    expect(toast.locator("li")).to_have_text("Intent: Question")
    expect(ann.locator("#task-title")).to_have_text("Item g2")
    ann.keyboard.press("1")
    ann.keyboard.press("Enter")
    expect(toast).to_have_class("toast toast-ok")
    expect(toast).to_contain_text("matches the known answer")
    expect(ann.locator("#task-title")).to_have_text("Item p1")
    ann.keyboard.press("2")
    ann.keyboard.press("Enter")
    expect(ann.locator("#task-title")).to_have_text("No tasks left")

    # an annotator gets no quality links and a 403 page, with no inline code anywhere
    ann.goto(f"/p/{project.name}")
    expect(ann.locator("#nav-items")).to_be_visible()
    for link in ("#nav-review", "#nav-adjudicate", "#nav-quality"):
        expect(ann.locator(link)).to_have_count(0)
    for path in ("review", "adjudicate", "quality"):
        res = ann.request.get(f"/p/{project.name}/{path}")
        assert res.status == 403 and "may not open this page" in res.text()
    manager = new_page()
    login(manager, "mia", f"/p/{project.name}")
    for link, path in (("#nav-review", "review"), ("#nav-adjudicate", "adjudicate"),
                       ("#nav-quality", "quality")):
        expect(manager.locator(link)).to_have_attribute("href", f"/p/{project.name}/{path}")
        html = manager.request.get(f"/p/{project.name}/{path}").text()
        assert "script-src 'self'" in manager.request.get(
            f"/p/{project.name}/{path}").headers["content-security-policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html), path
        assert not re.search(r"\s(on[a-z]+|style)=", html), path

    # the reviewer sees hostile item text as text
    rev = new_page()
    login(rev, "rev", f"/p/{project.name}/review")
    expect(rev.locator("#item-title")).to_have_text("Item p1")
    expect(rev.locator("#item-text")).to_have_text(f"Plain {HOSTILE}")
    for sel in ("main img", "main script", "[onerror]"):
        expect(rev.locator(sel)).to_have_count(0)
    # c: correct with the field components (prefilled), a key changes it, Enter saves
    rev.keyboard.press("c")
    expect(rev.locator("#correct-fields tl-choice input[value=complaint]")).to_be_checked()
    rev.keyboard.press("1")
    expect(rev.locator("#correct-fields tl-choice input[value=question]")).to_be_checked()
    with rev.expect_response(lambda r: r.url.endswith("/reviews")) as corrected:
        rev.keyboard.press("Enter")
    assert corrected.value.status == 201
    expect(rev.locator("#message")).to_contain_text("Corrected annotation")
    expect(rev.locator("#review-done")).to_be_visible()
    [current] = project.annotations(ids["p1"])
    assert current["value"]["intent"] == "question" and current["origin"] == "review:check"
    # the dashboard's hot-spot link opens the item on the project page
    manager.goto(f"/p/{project.name}?item={ids['p1']}")
    expect(manager.locator("#item-dialog")).to_be_visible()
    expect(manager.locator("#item-dialog pre").first).to_contain_text("<script>alert(2)</script>")
