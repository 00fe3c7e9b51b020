"""Text items of any size and script in the labeling page (fields/spans.js, items/*).

A megabyte of text renders as a bounded number of DOM nodes and a span can still be tagged at
its very end; Chinese without spaces is tagged by word and by character, by keyboard and by
mouse; Arabic reads right to left and ArrowLeft moves forward; offsets are code points (as the
server counts them) through emoji, skin-tone modifiers and combining marks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SPANS_ONLY: dict[str, Any] = {"fields": [
    {"name": "entities", "type": "spans", "title": "Entities", "source": "text",
     "labels": [{"value": "ORG", "hotkey": "o"}, {"value": "PRODUCT", "hotkey": "p"}]}]}

COUNT_NODES = """() => {
  const w = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let n = 0;
  while (w.nextNode()) n++;
  return n;
}"""


def long_text(min_chars: int) -> str:
    """Lines of words (an emoji up front, so code points and UTF-16 units differ), ending in
    a word found nowhere else."""
    words = "alpha beta gamma delta label model queue review export token".split()
    lines = ["😀 start of a long item"]
    size = len(lines[0])
    i = 0
    while size < min_chars:
        line = " ".join(words[(i + j) % len(words)] for j in range(14)) + f" line{i}."
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines) + "\nThe end is Zyxcorp."


def open_label(page: Page, login: Callable[..., None], project: Any) -> None:
    login(page, "ann", f"/p/{project.name}/label")
    expect(page.locator("tl-spans .span-text")).to_be_focused(timeout=30000)


def sent_spans(page: Page, press: str) -> list[dict[str, Any]]:
    """Press ``press`` and return the spans of the draft it saved."""
    def is_draft(r: Any) -> bool:
        return bool(r.request.method == "PUT" and r.url.endswith("/draft"))

    with page.expect_response(is_draft) as d:
        page.keyboard.press(press)
    return json.loads(d.value.request.post_data or "{}")["value"]["entities"]


def submit_and_read(page: Page, project: Any) -> list[dict[str, Any]]:
    with page.expect_response(lambda r: r.url.endswith("/submit")) as sub:
        page.keyboard.press("Enter")
    assert sub.value.status == 200, sub.value.text()
    item_id = project.items()[0]["id"]
    value = project.annotations(item_id)[0]["value"]["entities"]
    return [{k: s[k] for k in ("start", "end", "label")} for s in value]


def test_megabyte_text_is_a_bounded_dom_and_its_end_can_be_tagged(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    text = long_text(1_200_000)
    project = make_project([], schema=SPANS_ONLY)
    project.import_records([{"id": "big", "text": text}], max_item_bytes=8 * 2**20)
    open_label(page, login, project)
    # one element per token would be ~400,000 nodes; only the chunks near the view are tokens
    assert page.evaluate(COUNT_NODES) < 30_000
    expect(page.locator("tl-spans .span-text")).to_have_css("overflow-y", "auto")

    # End → the final "."; ← → "Zyxcorp"; o tags it: code point offsets (the emoji is one)
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    start = text.index("Zyxcorp")
    assert sent_spans(page, "o") == [{"start": start, "end": start + 7, "label": "ORG"}]
    expect(page.locator("tl-spans .tok.ent")).to_have_text("Zyxcorp")
    expect(page.locator("tl-spans .span-list li")).to_contain_text("Zyxcorp")
    assert page.evaluate(COUNT_NODES) < 30_000

    # Shift+↑ selects across lines (and chunks) backwards from there; Escape drops it
    page.keyboard.press("Shift+ArrowUp")
    expect(page.locator("tl-spans .span-status")).to_contain_text("Selected")
    page.keyboard.press("Escape")
    assert submit_and_read(page, project) == [{"start": start, "end": start + 7, "label": "ORG"}]


def test_chinese_word_by_keyboard_and_character_mode(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    text = "😀 我的水杯坏了"
    project = make_project([{"id": "zh", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    # words: 😀 | 我的 | 水杯 | 坏 | 了 — two → lands on 水杯
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    start = text.index("水杯")
    assert sent_spans(page, "p") == [{"start": start, "end": start + 2, "label": "PRODUCT"}]
    # ` switches to single characters: the cursor is on 水; → 杯 → 坏; o tags 坏 alone
    page.keyboard.press("`")
    expect(page.locator("tl-spans .span-granularity")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("水")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    bad = text.index("坏")
    assert sent_spans(page, "o") == [
        {"start": start, "end": start + 2, "label": "PRODUCT"},
        {"start": bad, "end": bad + 1, "label": "ORG"}]
    assert submit_and_read(page, project) == [
        {"start": start, "end": start + 2, "label": "PRODUCT"},
        {"start": bad, "end": bad + 1, "label": "ORG"}]


def test_thai_words_by_keyboard(page: Page, make_project: Callable[..., Any],
                                login: Callable[..., None]) -> None:
    text = "ภาษาไทยง่ายนิดเดียว"  # no spaces: ภาษา | ไทย | ง่าย | นิด | เดียว
    project = make_project([{"id": "th", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    page.keyboard.press("ArrowRight")
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("ไทย")
    start = text.index("ไทย")
    assert sent_spans(page, "o") == [{"start": start, "end": start + 3, "label": "ORG"}]


def test_chinese_word_by_mouse(page: Page, make_project: Callable[..., Any],
                               login: Callable[..., None]) -> None:
    text = "😀 我的水杯坏了"
    project = make_project([{"id": "zh", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    box = page.locator("tl-spans .tok", has_text="水杯").bounding_box()
    assert box
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2, steps=3)
    page.mouse.up()
    start = text.index("水杯")
    assert sent_spans(page, "p") == [{"start": start, "end": start + 2, "label": "PRODUCT"}]


def test_arabic_reads_right_to_left_and_arrow_left_moves_forward(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    text = "مرحبا بالعالم الجميل"
    project = make_project([{"id": "ar", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    box = page.locator("tl-spans .span-text")
    expect(box).to_have_attribute("dir", "auto")
    assert box.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # right-aligned: the first word sits at the box's right edge
    first = page.locator("tl-spans .tok").first.bounding_box()
    outer = box.bounding_box()
    assert first and outer and outer["x"] + outer["width"] - (first["x"] + first["width"]) < 40
    page.keyboard.press("ArrowLeft")  # the visual way: the next word in reading order
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("بالعالم")
    start = text.index("بالعالم")
    end = start + len("بالعالم")
    assert sent_spans(page, "o") == [{"start": start, "end": end, "label": "ORG"}]
    page.keyboard.press("ArrowRight")  # and back
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("مرحبا")


def test_rtl_item_view_and_option_titles(page: Page, make_project: Callable[..., Any],
                                         login: Callable[..., None]) -> None:
    schema = {"fields": [{"name": "intent", "type": "choice", "title": "النية",
                          "options": [{"value": "q", "title": "سؤال"},
                                      {"value": "c", "title": "شكوى"}]}]}
    project = make_project([{"id": "ar", "text": "שלום עולם, מה שלומך?"}], schema=schema,
                           guidelines="# הנחיות\n\nבחרו את הכוונה.")
    login(page, "ann", f"/p/{project.name}/label")
    text = page.locator("#task-text-body .text-plain")
    expect(text).to_have_text("שלום עולם, מה שלומך?")
    for loc in (text, page.locator("tl-choice .option-title").first,
                page.locator("tl-choice .field-title"), page.locator("#guidelines p").first):
        assert loc.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_emoji_and_combining_marks_keep_code_point_offsets(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    text = "👍🏽 Cafe\u0301 ok"  # thumbs up + skin tone: 2 code points; é: e + combining acute
    project = make_project([{"id": "em", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    # the emoji with its modifier is one token
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("👍🏽")
    assert sent_spans(page, "o") == [{"start": 0, "end": 2, "label": "ORG"}]
    # → Café; ` characters: C; → a → f → é (two code points, one character)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("`")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("tl-spans .tok.cursor")).to_have_text("e\u0301")
    e = text.index("e\u0301")
    assert sent_spans(page, "p") == [{"start": 0, "end": 2, "label": "ORG"},
                                     {"start": e, "end": e + 2, "label": "PRODUCT"}]
    assert submit_and_read(page, project) == [{"start": 0, "end": 2, "label": "ORG"},
                                              {"start": e, "end": e + 2, "label": "PRODUCT"}]


def test_review_page_shows_a_long_text_and_its_spans_bounded(
        new_page: Callable[[], Page], make_project: Callable[..., Any],
        login: Callable[..., None], browser_ws: Any) -> None:
    text = long_text(1_200_000)
    start = text.index("Zyxcorp")
    project = make_project([])
    project.import_records([{"id": "big", "text": text}], max_item_bytes=8 * 2**20)
    project.add_member("mia", "reviewer")
    project.set_workflow(review_stages=[{"name": "check", "role": "reviewer"}])
    item_id = project.items()[0]["id"]
    value = {"intent": "question", "entities": [{"start": start, "end": start + 7, "label": "ORG"}]}
    project.annotate(item_id, value, browser_ws.get_user("ann"), key="long-review")

    rev = new_page()
    login(rev, "mia", f"/p/{project.name}/review")
    expect(rev.locator("#item-title")).to_have_text("Item big", timeout=30000)
    expect(rev.locator("#item-text .text-plain.text-long")).to_be_visible()
    # the stored span is quoted from the text by code point offsets (the emoji counts one)
    expect(rev.locator("#annotation-value .value-spans li")).to_have_text("ORG Zyxcorp")
    assert rev.evaluate(COUNT_NODES) < 30_000
    # correcting builds the span annotator over the same text: still a bounded page
    rev.keyboard.press("c")
    expect(rev.locator("#correct-fields tl-spans .span-list li")).to_contain_text("Zyxcorp")
    assert rev.evaluate(COUNT_NODES) < 40_000


def test_spans_cross_chunk_boundaries_by_keyboard_and_mouse(
        page: Page, make_project: Callable[..., Any], login: Callable[..., None]) -> None:
    # every token unique (w<line>x<word>), ~40 KB: about ten chunks
    text = "😀\n" + "\n".join(" ".join(f"w{i}x{j}" for j in range(10)) for i in range(600))
    project = make_project([{"id": "cb", "text": text}], schema=SPANS_ONLY)
    open_label(page, login, project)
    chunk0 = page.locator("tl-spans .text-chunk[data-c='0'] .tok")
    chunk1 = page.locator("tl-spans .text-chunk[data-c='1'] .tok")
    expect(page.locator("tl-spans .text-chunk")).not_to_have_count(1)
    last0 = chunk0.last
    last0.scroll_into_view_if_needed()
    # text_content: a chunk off screen is not rendered (content-visibility), so no innerText
    a, b = last0.text_content() or "?", chunk1.first.text_content() or "?"

    # keyboard: click the last token of chunk 0, Shift+→ into chunk 1, o
    last0.click()
    page.keyboard.press("Shift+ArrowRight")
    start, end = text.index(a), text.index(b) + len(b)  # Python counts code points, as stored
    assert sent_spans(page, "o") == [{"start": start, "end": end, "label": "ORG"}]
    expect(last0).to_have_class(re.compile(r"\bent lab-0 ent-start\b"))
    expect(last0).not_to_have_class(re.compile(r"\bent-end\b"))
    expect(chunk1.first).to_have_class(re.compile(r"\bent lab-0 ent-end\b"))

    # mouse: drag from the second-last token of chunk 0 into the second token of chunk 1
    page.keyboard.press("Delete")
    a2, b2 = chunk0.nth(-2).text_content() or "?", chunk1.nth(1).text_content() or "?"
    box_a, box_b = chunk0.nth(-2).bounding_box(), chunk1.nth(1).bounding_box()
    assert box_a and box_b
    page.mouse.move(box_a["x"] + 2, box_a["y"] + box_a["height"] / 2)
    page.mouse.down()
    page.mouse.move(box_b["x"] + box_b["width"] - 2, box_b["y"] + box_b["height"] / 2, steps=4)
    page.mouse.up()
    start2, end2 = text.index(a2), text.index(b2) + len(b2)
    assert sent_spans(page, "p") == [{"start": start2, "end": end2, "label": "PRODUCT"}]
