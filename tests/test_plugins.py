"""Field kinds as plug-ins: the registry, versioned names, and a kind that lives only in the
tests (tests/plugins/tlcolor) validated, measured for agreement, aggregated and exported typed
with no change outside its package."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from plugin_env import installed
from truelabel import LabelSchema, Project, Workspace
from truelabel.core.report import quality_report
from truelabel.domain.errors import AnnotationInvalid, InvalidInput, UnknownComponent
from truelabel.domain.fields import ChoiceField, field_class, field_kinds, field_types
from truelabel.domain.models import User
from truelabel.plugins import registry, resolve
from truelabel.server.app import create_app

COLORS = ["#ff0000", "#00ff00", "#0000ff"]
SCHEMA = {"fields": [{"name": "shade", "type": "color", "palette": COLORS},
                     {"name": "note", "type": "text", "required": False}]}


@pytest.fixture
def color() -> Iterator[None]:
    with installed("tlcolor"):
        yield


@pytest.fixture
def cp(ws: Workspace, color: None) -> Project:
    p = ws.create_project("colors", SCHEMA, overlap=3)
    p.import_records([{"id": f"c{i}", "text": f"swatch {i}"} for i in range(12)])
    return p


@pytest.fixture
def trio(ws: Workspace, cp: Project) -> dict[str, User]:
    out = {}
    for name, role in [("u1", "annotator"), ("u2", "annotator"), ("u3", "annotator"),
                       ("lead", "manager")]:
        out[name] = ws.add_user(name, "password-123", role=role)
        cp.add_member(out[name], role)
    return out


def truth(ext: str) -> str:
    return COLORS[int(ext[1:]) % 3]


def label(p: Project, team: dict[str, User]) -> None:
    """u1 and u2 give the truth; u3 is right half the time (upper case: normalised)."""
    rng = random.Random(3)
    for name in ("u1", "u2", "u3"):
        while (t := p.next_task(team[name])) is not None:
            v = truth(t.external_id)
            if name == "u3" and rng.random() < 0.5:
                v = rng.choice(COLORS)
            p.submit(t.id, {"shade": v.upper()}, team[name])


# -- the registry --------------------------------------------------------------------------
def test_every_builtin_reference_resolves() -> None:
    for slot in registry.slots():
        for name in registry.slot(slot).names():
            assert registry.slot(slot).get(name) is not None, (slot, name)


def test_slots_later_features_fill_exist_and_are_empty() -> None:
    for slot in ("prep_steps", "model_backends", "export_formats"):
        assert registry.slot(slot).names() == []
    # the claim orders of the loop (core/claim_order.py) are the first sampling strategies
    assert sorted(registry.slot("sampling_strategies").names()) == [
        "truelabel.id_order.v1", "truelabel.random_order.v1"]
    with pytest.raises(UnknownComponent, match="Known slots: .*field_kinds"):
        registry.slot("nope")


def test_versioned_names_and_short_aliases_load_the_same_kind() -> None:
    assert field_class("choice") is field_class("truelabel.choice.v1") is ChoiceField
    assert {"truelabel.choice.v1", "truelabel.multi_choice.v1", "truelabel.spans.v1",
            "truelabel.text.v1", "truelabel.rating.v1"} <= set(field_kinds())
    assert set(field_types()) >= {"choice", "multi_choice", "spans", "text", "rating"}
    long = LabelSchema.from_dict({"fields": [
        {"name": "x", "type": "truelabel.choice.v1", "options": ["a", "b"]}]})
    short = LabelSchema.from_dict({"fields": [{"name": "x", "type": "choice",
                                               "options": ["a", "b"]}]})
    # stored by the short name: every existing schema keeps its digest (and version)
    assert long.to_dict() == short.to_dict() and long.digest() == short.digest()


def test_unknown_kind_is_invalid_input_listing_the_known() -> None:
    with pytest.raises(InvalidInput) as exc:
        LabelSchema.from_dict({"fields": [{"name": "x", "type": "colour"}]})
    assert isinstance(exc.value, UnknownComponent)
    assert "'colour'" in exc.value.message
    for known in ("choice", "truelabel.choice.v1", "spans", "rating"):
        assert known in exc.value.detail["known"]


def test_unknown_writer_lists_the_known(tmp_path: Path, project: Project) -> None:
    with pytest.raises(UnknownComponent, match="Known export formats: .*jsonl.*parquet"):
        project.export(tmp_path / "x.out", fmt="xlsx")


def test_alias_taken_by_another_kind_is_refused() -> None:
    class Other(ChoiceField):
        kind = "acme.choice.v1"

    with pytest.raises(ValueError, match="'choice'"):
        registry.field_kinds.register(Other.kind, Other, origin="acme")
    registry.field_kinds.forget(origin="acme")


# -- the test-only plug-in -----------------------------------------------------------------
def test_plugin_kind_is_found_through_its_entry_point(color: None) -> None:
    assert field_class("color") is field_class("tlcolor.color.v1")
    assert registry.field_kinds.origin("color") == "tlcolor"
    assert registry.static.names() == ["tlcolor"]


def test_plugin_kind_validates_and_refuses_a_bad_value(color: None) -> None:
    schema = LabelSchema.from_dict(SCHEMA)
    assert schema.validate_annotation({"shade": "#FF0000"}) == {"shade": "#ff0000"}
    with pytest.raises(AnnotationInvalid, match=r"'shade': expected a colour written #rrggbb"):
        schema.validate_annotation({"shade": "red"})
    with pytest.raises(AnnotationInvalid, match="not in the palette"):
        schema.validate_annotation({"shade": "#123456"})


def test_plugin_kind_gone_is_unknown_again() -> None:
    with installed("tlcolor"):
        assert field_class("color")
    with pytest.raises(UnknownComponent, match="'color'"):
        field_class("color")


def test_plugin_kind_is_measured_and_aggregated(cp: Project, trio: dict[str, User]) -> None:
    label(cp, trio)
    report = quality_report(cp, n_resamples=50)
    shade = report["fields"]["shade"]
    assert shade["metric"] == "Krippendorff's alpha (nominal)"
    assert 0 < shade["alpha"] < 1 and shade["labels"] == 36
    assert set(report["confusion"]["shade"]["labels"]) <= set(COLORS)
    assert "skipped" in str(report["fields"]["note"]) or report["fields"]["note"].get("error")
    summary = cp.aggregate(method="majority")
    assert summary["fields"]["shade"]["items"] == 12
    gt = cp.ground_truth()
    assert all(gt[i]["shade"]["value"] in COLORS for i in gt)


def test_plugin_kind_is_exported_typed(cp: Project, trio: dict[str, User],
                                       tmp_path: Path) -> None:
    label(cp, trio)
    cp.aggregate(method="majority")
    out = tmp_path / "colors.parquet"
    cp.export(out)
    table = pq.read_table(out)
    rgb = pa.struct([("r", pa.uint8()), ("g", pa.uint8()), ("b", pa.uint8())])
    value_t = table.schema.field("annotations").type.value_type.field("value").type
    assert value_t.field("shade").type == rgb
    assert value_t.field("note").type == pa.string()
    assert table.schema.field("ground_truth").type.field("shade").type.field("value").type == rgb
    assert table.schema.field("gold").type.field("shade").type == rgb
    rows = table.to_pylist()
    first = rows[0]["annotations"][0]["value"]["shade"]
    assert first in ({"r": 255, "g": 0, "b": 0}, {"r": 0, "g": 255, "b": 0},
                     {"r": 0, "g": 0, "b": 255})
    assert b"tlcolor.color.v1" in table.schema.metadata[b"truelabel.field_kinds"]


def test_builtin_kinds_export_typed(qp_typed: Project, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    qp_typed.export(out)
    t = pq.read_table(out)
    v = t.schema.field("annotations").type.value_type.field("value").type
    assert v.field("intent").type == pa.string()
    assert v.field("tags").type == pa.list_(pa.string())
    assert v.field("stars").type == pa.int8()
    assert v.field("ents").type.value_type.field("start").type == pa.int64()
    got = [a["value"] for r in t.to_pylist() for a in r["annotations"]]
    assert got == [{"intent": "a", "tags": ["x", "y"], "stars": 4,
                    "ents": [{"start": 0, "end": 5, "label": "ORG", "text": "hello"}]}]


@pytest.fixture
def qp_typed(ws: Workspace) -> Project:
    p = ws.create_project("typed", {"fields": [
        {"name": "intent", "type": "choice", "options": ["a", "b"]},
        {"name": "tags", "type": "multi_choice", "options": ["x", "y"]},
        {"name": "stars", "type": "rating"},
        {"name": "ents", "type": "spans", "labels": ["ORG"]},
    ]}, overlap=1)
    p.import_records([{"id": "i0", "text": "hello world"}])
    u = ws.add_user("ann", "password-123", role="annotator")
    p.add_member(u, "annotator")
    t = p.next_task(u)
    assert t is not None
    p.submit(t.id, {"intent": "a", "tags": ["y", "x"], "stars": 4,
                    "ents": [{"start": 0, "end": 5, "label": "ORG"}]}, u)
    return p


def test_spans_kind_names_the_item_key_it_needs(ws: Workspace) -> None:
    p = ws.create_project("ner", {"fields": [
        {"name": "ents", "type": "spans", "source": "body", "labels": ["ORG"]}]})
    with pytest.raises(InvalidInput, match="body"):
        p.import_records([{"id": "a", "text": "no body here"}])


# -- the server: kinds listed, plug-in assets served ---------------------------------------
def test_field_kinds_route_and_plugin_assets(ws: Workspace, color: None) -> None:
    c = TestClient(create_app(ws))
    kinds = {k["type"]: k for k in c.get("/api/field-kinds").json()}
    assert kinds["choice"]["kind"] == "truelabel.choice.v1"
    assert kinds["color"]["module"] == "/plugins/tlcolor/color.js"
    r = c.get("/plugins/tlcolor/color.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "registerField" in r.text
    for bad in ("/plugins/tlcolor/../__init__.py", "/plugins/tlcolor/%2e%2e/__init__.py",
                "/plugins/tlcolor/..%2f__init__.py", "/plugins/tlcolor/missing.js",
                "/plugins/nope/color.js", "/plugins/tlcolor/", "/plugins/tlcolor/.hidden.js"):
        r = c.get(bad)
        assert r.status_code == 404, bad
        assert r.json()["error"] == "not_found", bad


def test_resolve_names_module_attributes() -> None:
    assert resolve("truelabel.domain.fields:ChoiceField") is ChoiceField


def test_nothing_dispatches_on_a_field_kind() -> None:
    """New kinds are registered, never branched on: no isinstance on a field class in the
    Python, no switch on a field's type in the pages' JavaScript."""
    src = Path(__file__).parent.parent / "src" / "truelabel"
    kinds = ("ChoiceField", "MultiChoiceField", "SpansField", "TextField", "RatingField")
    for path in src.rglob("*.py"):
        if path.name in ("fields.py", "plugins.py"):  # the kinds and their registration
            continue
        text = path.read_text("utf-8")
        assert not [k for k in kinds if k in text], path
    for path in (src / "server" / "static" / "js").rglob("*.js"):
        text = path.read_text("utf-8")
        assert "switch (spec.type)" not in text and 'spec.type === "' not in text, path
