"""Issue 12: schema-level hotkeys (collisions refused, every option a reachable key computed
on the server) and the empty-submission policy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from helpers import error_body
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import EmptyAnnotation, HotkeyCollision, SchemaError
from truelabel.domain.hotkeys import PAGE_KEYS
from truelabel.domain.models import User
from truelabel.domain.schema import LabelSchema, label_studio_to_dict, schema_json_schema


def _choice(name: str, options: list[Any], **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "choice", "options": options, **kw}


def _spans(name: str, labels: list[Any]) -> dict[str, Any]:
    return {"name": name, "type": "spans", "labels": labels, "required": False}


# -- collisions -------------------------------------------------------------------------------
@pytest.mark.parametrize("fields", [
    [_spans("ner", [{"value": "PER", "hotkey": "p"}, {"value": "PLACE", "hotkey": "p"}])],
    [_spans("ner", [{"value": "PER", "hotkey": "p"}]),
     _choice("kind", [{"value": "product", "hotkey": "P"}])],  # case does not matter
])
def test_two_labels_on_one_key_are_refused_naming_both(fields: list[Any]) -> None:
    with pytest.raises(HotkeyCollision) as exc:
        LabelSchema.from_dict({"fields": fields})
    err = exc.value
    assert err.detail["key"] == "p" and len(err.detail["names"]) == 2
    for name in err.detail["names"]:
        assert name in err.message
    assert "own key" in err.message  # and what to do
    assert isinstance(err, SchemaError) and err.code == "hotkey_collision"


@pytest.mark.parametrize("key", sorted(PAGE_KEYS))
def test_a_page_key_is_refused(key: str) -> None:
    for fields in ([_spans("ner", [{"value": "ORG", "hotkey": key}])],
                   [_choice("c", [{"value": "x", "hotkey": key}])]):
        with pytest.raises(HotkeyCollision) as exc:
            LabelSchema.from_dict({"fields": fields})
        assert exc.value.detail["key"] == key
        assert PAGE_KEYS[key] in exc.value.message


def test_a_span_label_on_a_digit_is_refused() -> None:
    with pytest.raises(HotkeyCollision, match="digits pick choice options"):
        LabelSchema.from_dict({"fields": [_spans("ner", [{"value": "ORG", "hotkey": "1"}])]})
    # a Label Studio config is checked the same way
    xml = ('<View><Text name="text" value="$text"/><Labels name="ner" toName="text">'
           '<Label value="ORG" hotkey="s"/></Labels></View>')
    with pytest.raises(HotkeyCollision):
        LabelSchema.parse(xml)
    assert label_studio_to_dict(xml)["fields"][0]["labels"][0]["hotkey"] == "s"


def test_a_stored_schema_made_before_the_rule_still_loads() -> None:
    labels = [{"value": "A", "hotkey": "p"}, {"value": "B", "hotkey": "p"}]
    old = {"fields": [_spans("ner", labels)]}
    sch = LabelSchema.from_dict(old, check_limits=False)
    assert sch.ui_dict()["fields"][0]["keys"] == ["p", "p"]


# -- every option a key -----------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 10, 14, 34, 36, 200, 2000])
def test_every_option_gets_a_distinct_reachable_key(n: int) -> None:
    hot = [{"value": "hot", "hotkey": "h"}]
    sch = LabelSchema.from_dict({"fields": [
        _choice("c", hot + [f"o{i}" for i in range(n)]),
        {"name": "m", "type": "multi_choice", "options": ["x", {"value": "y", "hotkey": "z"}]},
    ]})
    keys = sch.ui_dict()["fields"][0]["keys"]
    assert len(keys) == n + 1 and len(set(keys)) == n + 1
    assert keys[0] == "h"
    assert all(k and not any(c in PAGE_KEYS for c in k) for k in keys)
    # neither another field's hotkey nor a prefix clash: no key starts with another key
    assert not any(a != b and b.startswith(a) for a in keys for b in keys)
    assert all("z" not in k and "h" not in k for k in keys[1:])
    if n <= 9:
        assert keys[1:] == [str(i) for i in range(1, n + 1)]
    if n == 14:  # 1-9, 0, then letters: the twelfth option (11th without a hotkey) is "b"
        assert keys[1:11] == [*"1234567890"] and keys[11:] == ["a", "b", "c", "d"]


def test_many_options_get_sequences_no_single_key_clashes() -> None:
    sch = LabelSchema.from_dict({"fields": [_choice("c", [f"o{i}" for i in range(2000)])]})
    keys = sch.ui_dict()["fields"][0]["keys"]
    assert {len(k) for k in keys} == {3}  # 34 single keys, 34² < 2000 ≤ 34³
    assert len(set(keys)) == 2000


def test_span_labels_prefer_a_letter_of_their_name_and_ratings_use_digits() -> None:
    sch = LabelSchema.from_dict({"fields": [
        _spans("ner", ["PER", "PLACE", "SKU", {"value": "ORG", "hotkey": "x"}]),
        {"name": "r", "type": "rating", "scale": 10},
    ]})
    ner, rating = sch.ui_dict()["fields"]
    assert ner["keys"] == ["p", "l", "k", "x"]  # "s" is skip; "p" is taken by PER
    assert rating["keys"] == [*"1234567890"]


def test_ui_dict_round_trips_and_keeps_the_digest() -> None:
    raw = {"title": "t", "fields": [_choice("c", ["a", "b"]), _spans("n", ["ORG"])]}
    sch = LabelSchema.from_dict(raw)
    again = LabelSchema.from_dict(sch.ui_dict())
    assert again.digest() == sch.digest() and again.to_dict() == sch.to_dict()
    assert "keys" not in str(sch.to_dict())


def test_project_api_ships_keys_and_policy(project: Project, client_for: Any) -> None:
    info = client_for("ann1").get("/api/projects/support").json()
    fields = {f["name"]: f for f in info["schema"]["fields"]}
    assert fields["intent"]["keys"] == ["1", "2", "3"]
    assert fields["entities"]["keys"] == ["o", "p"]
    assert "keys" not in fields["note"]
    assert info["schema"]["empty_submissions"] == "confirm"


# -- empty submissions ------------------------------------------------------------------------
OPTIONAL = [_choice("c", ["a", "b"], required=False), _spans("n", ["ORG"]),
            {"name": "t", "type": "text", "required": False}]


def test_empty_submissions_setting() -> None:
    refuse = LabelSchema.from_dict({"fields": OPTIONAL, "empty_submissions": "refuse"})
    for empty in ({}, {"n": []}, {"t": "", "n": [], "c": None}):
        with pytest.raises(EmptyAnnotation, match="Fill in at least one field"):
            refuse.validate_annotation(empty, {"text": "hi"})
    assert refuse.validate_annotation({"c": "a"}) == {"c": "a"}
    for policy in ("confirm", "allow"):
        sch = LabelSchema.from_dict({"fields": OPTIONAL, "empty_submissions": policy})
        assert sch.validate_annotation({}) == {}
    with pytest.raises(SchemaError, match="empty_submissions"):
        LabelSchema.from_dict({"fields": OPTIONAL, "empty_submissions": "maybe"})
    # the default is not written out: schemas stored before the setting keep their digest
    plain = LabelSchema.from_dict({"fields": OPTIONAL})
    assert "empty_submissions" not in plain.to_dict()
    assert refuse.to_dict()["empty_submissions"] == "refuse"
    assert refuse.digest() != plain.digest()
    prop = schema_json_schema()["properties"]["empty_submissions"]
    assert prop["enum"] == ["confirm", "refuse", "allow"] and prop["default"] == "confirm"


def test_server_refuses_an_empty_submit(ws: Workspace, users: dict[str, User],
                                        client_for: Any) -> None:
    p = ws.create_project("strict", {"fields": OPTIONAL, "empty_submissions": "refuse"})
    p.add_member(users["ann1"], "annotator")
    p.import_records([{"text": "one"}])
    c = client_for("ann1")
    task = c.post("/api/projects/strict/tasks/next").json()
    r = c.post(f"/api/projects/strict/tasks/{task['id']}/submit",
               json={"value": {"n": []}, "idempotency_key": "k-1"})
    assert "empty answers" in error_body(r, 422, "empty_annotation")["message"]
    assert p.annotations(task["item_id"]) == []
    ok = c.post(f"/api/projects/strict/tasks/{task['id']}/submit",
                json={"value": {"c": "b"}, "idempotency_key": "k-2"})
    assert ok.status_code == 200, ok.text


def test_the_labeling_pages_own_keys_are_the_declared_page_keys() -> None:
    """Every single-character key a page script handles itself is in ``PAGE_KEYS``, the one
    list schemas are checked against (so a new page key cannot silently clash)."""
    from pathlib import Path

    import truelabel.server

    pages = Path(truelabel.server.__file__).parent / "static" / "js" / "pages"
    used = set()
    for name in ("label.js", "review.js", "adjudicate.js"):
        src = (pages / name).read_text("utf-8")
        used |= {k.lower() for k in re.findall(r'e\.key === "(.)"', src)}
    assert used and used <= set(PAGE_KEYS), used - set(PAGE_KEYS)
