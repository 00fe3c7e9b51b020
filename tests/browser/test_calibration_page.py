"""The quality page shows each field's reliability diagram (server-made SVG) with the ECE on
gold, raw and calibrated; one who may not read gold sees no figures measured on it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from truelabel import Workspace
from truelabel.domain.errors import NotFound

PASSWORD = "browser-pass-1"  # as in conftest
SCHEMA = {"title": "Tickets", "fields": [
    {"name": "intent", "type": "choice", "title": "Intent",
     "options": [{"value": v} for v in ("question", "complaint", "praise")]}]}

LABELS = ["question", "complaint", "praise"]
CREW = ("cal1", "cal2", "cal3")
N_ITEMS, N_GOLD = 60, 40


def _demo_like(ws: Workspace, tmp_path: Path, name: str) -> str:
    """A project with 60 tickets, 40 of them gold, three annotators right ~75 % of the time."""
    for user in CREW:
        try:
            ws.get_user(user)
        except NotFound:  # the first test to need them adds them
            ws.add_user(user, PASSWORD, role="annotator")
    p = ws.create_project(name, SCHEMA, title="Calibration", overlap=3)
    for user in CREW:
        p.add_member(user, "annotator")
    p.add_member("mia", "manager")
    p.add_member("ann", "reviewer")
    rng = np.random.default_rng(5)
    truth = {f"t{k:02d}": LABELS[int(rng.integers(3))] for k in range(N_ITEMS)}
    p.import_records([{"id": e, "text": f"ticket {e}"} for e in truth])
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": e, "intent": t}) + "\n"
                            for e, t in list(truth.items())[:N_GOLD]))
    p.import_gold(gold)
    ids = {r["external_id"]: r["id"] for r in p.items(limit=500)}
    for user in CREW:
        who = ws.get_user(user)
        for e, t in truth.items():
            label = t if rng.random() < 0.75 else LABELS[int(rng.integers(3))]
            p.annotate(ids[e], {"intent": label}, who)
    return name


def test_quality_page_shows_the_reliability_diagram(
    browser_ws: Workspace, tmp_path: Path, page: Page, login: Callable[..., None]
) -> None:
    name = _demo_like(browser_ws, tmp_path, "calibration-page")
    login(page, "mia", f"/p/{name}/quality")
    figure = page.locator("#calibration figure[data-field=intent]")
    expect(figure.locator("figcaption")).to_contain_text(re.compile(r"ECE \d\.\d{3} → \d\.\d{3}"))
    expect(figure.locator("figcaption")).to_contain_text(f"on {N_GOLD} gold items")
    img = figure.locator("img")
    expect(img).to_have_attribute(
        "src", re.compile(r"/quality/charts/reliability\.svg\?field=intent"))
    page.wait_for_function(
        "() => { const i = document.querySelector('#calibration img'); "
        "return i && i.complete && i.naturalWidth > 0; }")
    svg = page.request.get(img.get_attribute("src") or "").text()
    assert "Reliability" in svg or "Calibration: intent" in svg
    assert svg.count("<circle") >= 4  # bins raw and calibrated, plus the legend
    # the JSON API carries the bins
    report = page.request.get(f"/api/projects/{name}/quality").json()
    cal = report["calibration"]["intent"]
    assert cal["gold_items"] == N_GOLD and len(cal["bins_calibrated"]) == 10
    assert sum(b["count"] for b in cal["bins_raw"]) == N_GOLD


def test_annotator_sees_no_calibration_figures_on_gold(
    browser_ws: Workspace, tmp_path: Path
) -> None:
    name = _demo_like(browser_ws, tmp_path, "calibration-hidden")
    p = browser_ws.project(name)
    assert "bins_raw" in p.quality_report(n_resamples=50)["calibration"]["intent"]
    report = p.quality_report(actor=browser_ws.get_user("ann"), n_resamples=50)  # a reviewer
    assert report["calibration"]["intent"]["method"]
    assert "bins_raw" not in report["calibration"]["intent"]
    assert "ece_raw" not in report["calibration"]["intent"]
