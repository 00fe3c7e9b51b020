"""A field kind from a plug-in (tests/plugins/tlcolor) labelled in the browser: its element
is loaded from /plugins/tlcolor/color.js, a value typed on the keyboard is refused or stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from plugin_env import installed

pytestmark = pytest.mark.browser

SCHEMA = {"fields": [{"name": "shade", "type": "color", "title": "Shade"}]}


@pytest.fixture
def color() -> Iterator[None]:
    with installed("tlcolor"):
        yield


def test_plugin_field_is_labelled_by_keyboard(
        color: None, new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None], guard: Any) -> None:
    guard.allow(r"status of 422")  # the refused value is part of the test
    project = make_project([{"id": "c1", "text": "The sky at noon."},
                            {"id": "c2", "text": "Grass."}], schema=SCHEMA)
    page = new_page()
    with page.expect_response(lambda r: r.url.endswith("/plugins/tlcolor/color.js")) as js:
        login(page, "ann", f"/p/{project.name}/label")
    assert js.value.status == 200
    expect(page.locator("#task-title")).to_have_text("Item c1")
    widget = page.locator("tl-color")
    expect(widget).to_be_visible()
    expect(widget.locator("legend")).to_contain_text("Shade")
    # the item view shows the item's text
    expect(page.locator("#task-text-body")).to_have_text("The sky at noon.")
    # focus starts on the field: type a value that is not a colour, Enter: refused, clearly
    expect(widget.locator("input")).to_be_focused()
    page.keyboard.type("blue")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text("expected a colour written #rrggbb")
    expect(page.locator("#task-title")).to_have_text("Item c1")
    # fix it with the keyboard and submit
    page.keyboard.press("Control+a")
    page.keyboard.type("#3366FF")
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text("Item c2")
    items = {i["external_id"]: i["id"] for i in project.items()}
    stored = project.annotations(items["c1"])
    assert [a["value"] for a in stored] == [{"shade": "#3366ff"}]


def test_plugin_values_render_on_the_adjudication_page(
        color: None, new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None], browser_ws: Any) -> None:
    project = make_project([{"id": "d1", "text": "A disputed swatch."}], schema=SCHEMA)
    project.set_overlap(2)
    project.set_workflow(adjudication_threshold=0.4)
    for name, shade in (("ann", "#ff0000"), ("ann2", "#0000ff")):
        user = browser_ws.get_user(name)
        task = project.next_task(user)
        project.submit(task.id, {"shade": shade}, user)
    page = new_page()
    login(page, "mia", f"/p/{project.name}/adjudicate")
    expect(page.locator("#adj-title")).to_have_text("Item d1")
    # each annotator's value is drawn by the plug-in's renderer, the decision by its element
    for who, shade in (("ann", "#ff0000"), ("ann2", "#0000ff")):
        cell = page.locator(f"#adj-body tr[data-field=shade] td[data-annotator={who}]")
        expect(cell.locator(".value-color")).to_have_text(f"■ {shade}")
    expect(page.locator("#adj-fields tl-color input")).to_be_visible()
    expect(page.locator("#adj-text")).to_have_text("A disputed swatch.")
