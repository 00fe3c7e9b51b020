from __future__ import annotations

import pytest

from helpers import SCHEMA
from truelabel.domain import LabelSchema, field_types, schema_json_schema
from truelabel.domain.errors import AnnotationInvalid, SchemaError, UnknownComponent


def test_unknown_field_type_lists_known_ones() -> None:
    with pytest.raises(UnknownComponent) as exc:
        LabelSchema.from_dict({"fields": [{"name": "x", "type": "bbox3d"}]})
    for name in ("choice", "multi_choice", "spans", "text", "rating"):
        assert name in exc.value.message
    assert "bbox3d" in exc.value.message


@pytest.mark.parametrize(
    "value,field",
    [
        ({"intent": "nope"}, "intent"),
        ({"intent": 3}, "intent"),
        ({}, "intent"),
        ({"intent": "refund", "tags": ["urgent", "urgent"]}, "tags"),
        ({"intent": "refund", "quality": 6}, "quality"),
        ({"intent": "refund", "quality": True}, "quality"),
        ({"intent": "refund", "note": 5}, "note"),
        ({"intent": "refund", "entities": [{"start": 5, "end": 2, "label": "ORG"}]}, "entities"),
        ({"intent": "refund", "entities": [{"start": 0, "end": 99, "label": "ORG"}]}, "entities"),
        ({"intent": "refund", "entities": [{"start": 0, "end": 2, "label": "PER"}]}, "entities"),
        ({"intent": "refund", "bogus": 1}, "bogus"),
    ],
)
def test_annotation_values_are_checked(value: dict, field: str) -> None:
    schema = LabelSchema.from_dict(SCHEMA)
    with pytest.raises(AnnotationInvalid) as exc:
        schema.validate_annotation(value, {"text": "hello world"})
    assert exc.value.detail["field"] == field
    assert field in exc.value.message


def test_valid_annotation_is_normalised() -> None:
    schema = LabelSchema.from_dict(SCHEMA)
    out = schema.validate_annotation(
        {
            "intent": "refund",
            "tags": ["vip", "urgent"],
            "quality": 4,
            "entities": [{"start": 6, "end": 11, "label": "ORG"}],
        },
        {"text": "hello world"},
    )
    assert out["tags"] == ["urgent", "vip"]  # option order
    assert out["entities"] == [{"start": 6, "end": 11, "label": "ORG", "text": "world"}]


def test_overlapping_spans_rejected_unless_allowed() -> None:
    schema = LabelSchema.from_dict(SCHEMA)
    spans = [{"start": 0, "end": 5, "label": "ORG"}, {"start": 3, "end": 8, "label": "PRODUCT"}]
    with pytest.raises(AnnotationInvalid, match="overlap"):
        schema.validate_annotation({"intent": "other", "entities": spans}, {"text": "hello world"})
    allowed = LabelSchema.from_dict(
        {
            "fields": [
                {"name": "e", "type": "spans", "labels": ["ORG", "PRODUCT"], "allow_overlap": True}
            ]
        }
    )
    assert len(allowed.validate_annotation({"e": spans}, {"text": "hello world"})["e"]) == 2


@pytest.mark.parametrize(
    "bad,needle",
    [
        ({"fields": []}, "non-empty"),
        ({"fields": [{"name": "a", "type": "choice", "options": []}]}, "options"),
        ({"fields": [{"name": "a", "type": "choice", "options": ["x", "x"]}]}, "duplicate"),
        ({"fields": [{"name": "a", "type": "rating", "scale": 1}]}, "scale"),
        ({"fields": [{"name": "a", "type": "text"}, {"name": "a", "type": "text"}]}, "unique"),
        ({"fields": [{"name": "a b", "type": "text"}]}, "name"),
        ("not a mapping", "mapping"),
    ],
)
def test_bad_schemas_say_what_is_wrong(bad: object, needle: str) -> None:
    with pytest.raises(SchemaError) as exc:
        LabelSchema.from_dict(bad)
    assert needle in exc.value.message


def test_yaml_and_json_parse_the_same() -> None:
    import json

    import yaml

    a = LabelSchema.parse(yaml.safe_dump(SCHEMA))
    b = LabelSchema.parse(json.dumps(SCHEMA))
    assert a.digest() == b.digest()
    assert LabelSchema.from_dict(a.to_dict()).digest() == a.digest()


LS_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInLine="true">
    <Choice value="Positive" hotkey="1"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="Billing"/><Choice value="Shipping"/>
  </Choices>
  <Labels name="ner" toName="text"><Label value="PER" hotkey="p"/><Label value="ORG"/></Labels>
  <TextArea name="comment" toName="text"/>
  <Rating name="stars" toName="text" maxRating="10"/>
</View>"""


def test_label_studio_config_is_translated() -> None:
    s = LabelSchema.parse(LS_CONFIG)
    kinds = {f.name: f.type for f in s.fields}
    assert kinds == {
        "sentiment": "choice",
        "topics": "multi_choice",
        "ner": "spans",
        "comment": "text",
        "stars": "rating",
    }
    ner = s.field("ner")
    assert ner.source == "text" and [o.value for o in ner.labels] == ["PER", "ORG"]
    assert s.field("stars").scale == 10
    assert s.field("sentiment").options[0].hotkey == "1"


def test_label_studio_unknown_tag_and_entities_refused() -> None:
    with pytest.raises(UnknownComponent, match="RectangleLabels"):
        LabelSchema.parse(
            '<View><Image name="i" value="$img"/>'
            '<RectangleLabels name="b" toName="i"><Label value="car"/>'
            "</RectangleLabels></View>"
        )
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        '<View><Choices name="c" toName="t"><Choice value="&lol;"/></Choices></View>'
    )
    with pytest.raises(SchemaError):
        LabelSchema.parse(bomb)


def test_json_schema_export_covers_every_field_type() -> None:
    js = schema_json_schema()
    variants = js["properties"]["fields"]["items"]["anyOf"]
    assert len(variants) == len(field_types())
    titles = {v["title"] for v in variants}
    assert {"ChoiceField", "SpansField", "RatingField"} <= titles
