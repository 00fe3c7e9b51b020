"""Bounded input: label schemas, guidelines and workflow settings (issue 10).

Each refusal is checked for its message (what happened, the limit, what to do) and, where the
HTTP API carries it, for the 422 error shape. Numbers come from ``truelabel.domain.limits``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from helpers import SCHEMA, error_body
from truelabel.core import Project
from truelabel.domain import LabelSchema
from truelabel.domain.errors import InvalidInput, SchemaError
from truelabel.domain.limits import (
    MAX_FIELDS,
    MAX_GUIDELINES_BYTES,
    MAX_HELP_CHARS,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_SCHEMA_BYTES,
    MAX_TITLE_CHARS,
    MAX_TOTAL_OPTIONS,
)

P = "/api/projects/support"



def _choice(n: int, name: str = "c") -> dict[str, Any]:
    return {"name": name, "type": "choice", "options": [f"option {i}" for i in range(n)]}


# -- YAML alias bombs ------------------------------------------------------------------------
ALIAS_BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
title: *g
fields: [{name: x, type: text}]
"""


def test_yaml_alias_bomb_in_the_title_is_refused() -> None:
    assert len(ALIAS_BOMB) < 600  # expands to 9**7 strings, about 48 MB as the title
    with pytest.raises(SchemaError) as exc:
        LabelSchema.parse(ALIAS_BOMB)
    assert "anchor or alias" in exc.value.message and "line 1" in exc.value.message
    assert "Write the values out in full" in exc.value.message


def test_a_harmless_alias_is_refused_too_and_plain_yaml_still_parses() -> None:
    shared = "opts: &o [a, b]\nfields: [{name: x, type: choice, options: *o}]\n"
    with pytest.raises(SchemaError, match="anchor or alias"):
        LabelSchema.parse(shared)
    assert LabelSchema.parse(yaml.safe_dump(SCHEMA)).to_dict()["title"] == "support"


def test_alias_bomb_over_http_answers_422(client_for: Any) -> None:
    admin = client_for("admin")
    body = error_body(admin.post("/api/projects", json={"name": "bomb", "schema": ALIAS_BOMB}),
                       422, "schema_error")
    assert "anchor or alias" in body["message"]
    body = error_body(admin.patch(P, json={"schema": ALIAS_BOMB}), 422, "schema_error")
    assert admin.get(P).json()["schema"]["title"] == "support"  # unchanged


def test_a_title_that_is_a_list_or_mapping_is_refused() -> None:
    for title in (["a"] * 3, {"a": 1}):
        with pytest.raises(SchemaError, match="'title' must be text"):
            LabelSchema.from_dict({"title": title, "fields": [{"name": "x", "type": "text"}]})


# -- counts and lengths ------------------------------------------------------------------------
def test_forty_thousand_options_are_refused_naming_the_field_and_limit() -> None:
    with pytest.raises(SchemaError) as exc:
        LabelSchema.from_dict({"fields": [_choice(40_000, "topic")]})
    assert "'topic'" in exc.value.message and "40,000 options" in exc.value.message
    assert f"{MAX_OPTIONS:,}" in exc.value.message
    assert exc.value.detail == {"field": "topic", "limit": MAX_OPTIONS}


def test_ten_thousand_options_still_validate() -> None:
    labels = [f"L{i}" for i in range(MAX_OPTIONS)]
    schema = LabelSchema.from_dict(
        {"fields": [_choice(MAX_OPTIONS), {**_choice(MAX_OPTIONS, "m"), "type": "multi_choice"},
                    {"name": "s", "type": "spans", "labels": labels}]}
    )
    every = [f"option {i}" for i in range(MAX_OPTIONS)]
    out = schema.validate_annotation(
        {"c": "option 9999", "m": list(reversed(every)),
         "s": [{"start": 0, "end": 1, "label": "L9999"}]},
        {"text": "hello"},
    )
    assert out["c"] == "option 9999" and out["m"] == every
    # a wrong answer's message lists a few options, not ten thousand
    with pytest.raises(Exception) as exc:
        schema.validate_annotation({"c": "nope"})
    assert "(10,000 in all)" in str(exc.value) and len(str(exc.value)) < 1_000
    dup = _choice(MAX_OPTIONS)
    dup["options"][-1] = "option 0"
    with pytest.raises(SchemaError, match="duplicate option values \\['option 0'\\]"):
        LabelSchema.from_dict({"fields": [dup]})


@pytest.mark.parametrize(
    "schema,needle,limit",
    [
        ({"fields": [{"name": f"f{i}", "type": "text"} for i in range(MAX_FIELDS + 1)]},
         f"{MAX_FIELDS + 1:,} fields", MAX_FIELDS),
        ({"title": "t" * (MAX_TITLE_CHARS + 1), "fields": [{"name": "x", "type": "text"}]},
         "The schema's title", MAX_TITLE_CHARS),
        ({"fields": [{"name": "x", "type": "text", "title": "t" * (MAX_TITLE_CHARS + 1)}]},
         "Field 'x': 'title'", MAX_TITLE_CHARS),
        ({"fields": [{"name": "x", "type": "text", "help": "h" * (MAX_HELP_CHARS + 1)}]},
         "Field 'x': 'help'", MAX_HELP_CHARS),
        ({"fields": [{"name": "x", "type": "choice",
                      "options": ["a", {"value": "b", "title": "t" * (MAX_OPTION_CHARS + 1)}]}]},
         "Field 'x': option 1", MAX_OPTION_CHARS),
        ({"fields": [{"name": "x", "type": "spans", "labels": ["l" * (MAX_OPTION_CHARS + 1)]}]},
         "Field 'x': label 0", MAX_OPTION_CHARS),
    ],
)
def test_limits_name_what_and_how_much(schema: dict[str, Any], needle: str, limit: int) -> None:
    with pytest.raises(SchemaError) as exc:
        LabelSchema.from_dict(schema)
    assert needle in exc.value.message and f"{limit:,}" in exc.value.message
    assert exc.value.detail["limit"] == limit


def test_the_whole_schema_is_capped_too() -> None:
    many = [_choice(9_000, f"c{i}") for i in range(6)]
    with pytest.raises(SchemaError) as exc:
        LabelSchema.from_dict({"fields": many})
    assert f"more than {MAX_TOTAL_OPTIONS:,} options" in exc.value.message
    assert exc.value.detail == {"field": "c5", "limit": MAX_TOTAL_OPTIONS}
    wordy = [{"name": f"c{i}", "type": "choice",
              "options": [f"{j:06d}" + "w" * 190 for j in range(10_000)]} for i in range(3)]
    with pytest.raises(SchemaError) as exc:
        LabelSchema.from_dict({"fields": wordy})
    assert "more than 4 MiB of text (field 'c2'" in exc.value.message


def test_existing_limits_on_names_values_and_hotkeys_hold() -> None:
    for field, needle in [
        ({"name": "n" * 65, "type": "text"}, "name"),
        ({"name": "x", "type": "choice", "options": ["v" * 201]}, "option 0 is 201"),
        ({"name": "x", "type": "choice", "options": [{"value": "a", "hotkey": "ab"}]}, "hotkey"),
    ]:
        with pytest.raises(SchemaError, match=needle):
            LabelSchema.from_dict({"fields": [field]})


def test_schema_text_past_the_size_limit_is_refused_before_parsing() -> None:
    text = json.dumps({"title": "x" * MAX_SCHEMA_BYTES, "fields": []})
    with pytest.raises(SchemaError) as exc:
        LabelSchema.parse(text, filename="big.yaml")
    assert f"{MAX_SCHEMA_BYTES >> 20} MiB" in exc.value.message and "big.yaml" in exc.value.message


def test_a_stored_schema_loads_without_the_new_limits(project: Project) -> None:
    big = {"title": "t" * (MAX_TITLE_CHARS + 1), "fields": [{"name": "x", "type": "text"}]}
    with pytest.raises(SchemaError):
        LabelSchema.from_dict(big)
    assert LabelSchema.from_dict(big, check_limits=False).title == big["title"]


def test_guidelines_past_the_limit_are_refused(project: Project, client_for: Any) -> None:
    too_long = "x" * (MAX_GUIDELINES_BYTES + 1)
    with pytest.raises(InvalidInput, match="1 MiB"):
        project.set_guidelines(too_long)
    admin = client_for("admin")
    body = error_body(admin.patch(P, json={"guidelines": too_long}), 422, "invalid_input")
    assert body["detail"] == {"field": "guidelines", "limit": MAX_GUIDELINES_BYTES}
    error_body(admin.post("/api/projects", json={"name": "g", "schema": SCHEMA,
                                                  "guidelines": too_long}), 422)
    assert admin.get("/api/projects/g").status_code == 404  # nothing half-made
    assert admin.get(P).json()["guidelines"].startswith("# Rules")


def test_schema_limits_over_http_answer_422(client_for: Any) -> None:
    admin = client_for("admin")
    body = error_body(admin.patch(P, json={"schema": {"fields": [_choice(MAX_OPTIONS + 1)]}}),
                       422, "schema_error")
    assert body["detail"] == {"field": "c", "limit": MAX_OPTIONS}


# -- Label Studio ----------------------------------------------------------------------------
BAD_RATING = ('<View><Text name="t" value="$text"/>'
              '<Rating name="stars" toName="t" maxRating="abc"/></View>')


def test_label_studio_rating_that_is_not_a_number_is_refused(client_for: Any) -> None:
    with pytest.raises(SchemaError) as exc:
        LabelSchema.parse(BAD_RATING)
    assert "'stars'" in exc.value.message and "maxRating='abc'" in exc.value.message
    admin = client_for("admin")
    body = error_body(admin.post("/api/projects", json={"name": "ls", "schema": BAD_RATING}),
                       422, "schema_error")
    assert "maxRating" in body["message"] and body["detail"] == {"field": "stars"}
    error_body(admin.patch(P, json={"schema": BAD_RATING}), 422, "schema_error")
    # a number outside 2..10 is the field's own check, also 422
    error_body(admin.patch(P, json={"schema": BAD_RATING.replace("abc", "99")}), 422,
               "schema_error")


# -- workflow settings -----------------------------------------------------------------------
@pytest.mark.parametrize("key", ["actor", "self", "values", "more"])
def test_workflow_keys_that_are_parameter_names_answer_422(client_for: Any, key: str) -> None:
    mgr = client_for("manager")
    body = error_body(mgr.patch(f"{P}/workflow", json={key: 1}), 422, "invalid_input")
    assert f"Unknown workflow settings ['{key}']" in body["message"]
    assert "gold_rate" in body["message"]  # the known names are listed


def test_workflow_still_takes_keywords_and_a_mapping(project: Project) -> None:
    assert project.set_workflow(gold_rate=0.5).gold_rate == 0.5
    assert project.set_workflow({"gold_rate": 0.25}).gold_rate == 0.25
    with pytest.raises(InvalidInput, match="actor"):
        project.set_workflow({"actor": None})


def test_workflow_slice_keys_are_bounded(client_for: Any) -> None:
    mgr = client_for("manager")
    long_key = "k" * (MAX_TITLE_CHARS + 1)
    body = error_body(mgr.patch(f"{P}/workflow", json={"slice_keys": [long_key]}), 422,
                      "invalid_input")
    assert body["detail"]["field"] == "slice_keys.0"


def test_the_docs_state_the_limits_the_code_uses() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "architecture.md").read_text()
    doc = " ".join(doc.split())
    for phrase in [f"{MAX_SCHEMA_BYTES >> 20} MiB of text", f"{MAX_FIELDS} fields",
                   f"{MAX_OPTIONS:,} options or labels per field",
                   f"{MAX_TOTAL_OPTIONS:,} in the whole schema",
                   f"{MAX_OPTION_CHARS}-character option values",
                   f"{MAX_TITLE_CHARS:,}-character titles", f"{MAX_HELP_CHARS:,}-character help",
                   f"Guidelines: at most {MAX_GUIDELINES_BYTES >> 20} MiB"]:
        assert phrase in doc, phrase
    from truelabel.domain.limits import MAX_ITEM_BYTES
    from truelabel.server.api.projects import start_import

    assert f"default {MAX_ITEM_BYTES >> 20} MiB" in doc
    assert f"more than {MAX_ITEM_BYTES >> 20} MiB of JSON" in (start_import.__doc__ or "")


def test_cli_init_with_a_refused_schema_leaves_no_workspace(tmp_path: Any) -> None:
    """`truelabel init DIR --schema bomb.yaml` says why and creates nothing, so the same
    command with a corrected schema then works (it used to leave an empty workspace that
    the second try called "already a project")."""
    from click.testing import CliRunner

    from truelabel.cli.main import main

    bomb, good = tmp_path / "bomb.yaml", tmp_path / "good.yaml"
    bomb.write_text(ALIAS_BOMB, "utf-8")
    good.write_text(yaml.safe_dump(SCHEMA), "utf-8")
    target = tmp_path / "ws"
    r = CliRunner().invoke(main, ["init", str(target), "--schema", str(bomb)])
    assert r.exit_code == 1 and "anchor or alias" in " ".join(r.output.split()), r.output
    assert not target.exists()
    r = CliRunner().invoke(main, ["init", str(target), "--schema", str(good)])
    # the project is named from the schema's title ("support"), not the folder (issue 12)
    assert r.exit_code == 0 and "with project 'support'" in " ".join(r.output.split()), r.output
