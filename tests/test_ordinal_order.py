"""Ordinal agreement in a given label order: the engine, ``truelabel agreement --order``, the
schema's order (ratings, choice fields marked ``ordinal``) and ``?order=`` on the report API.
Every path says which order it used."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers import error_body
from truelabel import Workspace
from truelabel import quality as q
from truelabel.cli.main import main
from truelabel.core import Project
from truelabel.core.answers import agreement_from_file
from truelabel.domain.errors import InvalidInput

# two annotators on six items; the labels sort as bad < good < ok, which is not their rank
ROWS = [
    ("i1", "a", "bad"), ("i1", "b", "ok"),
    ("i2", "a", "ok"), ("i2", "b", "good"),
    ("i3", "a", "good"), ("i3", "b", "good"),
    ("i4", "a", "bad"), ("i4", "b", "bad"),
    ("i5", "a", "ok"), ("i5", "b", "ok"),
    ("i6", "a", "good"), ("i6", "b", "ok"),
]
RANK = {"bad": 1, "ok": 2, "good": 3}


def ratings() -> q.Ratings:
    return q.encode_ratings(*zip(*ROWS, strict=True))  # type: ignore[arg-type]


def test_the_order_changes_ordinal_alpha_and_matches_ranks() -> None:
    r = ratings()
    sorted_alpha = q.krippendorff_alpha(r, level="ordinal")
    ordered = q.krippendorff_alpha(r, level="ordinal", order=["bad", "ok", "good"])
    as_ranks = q.krippendorff_alpha(
        q.encode_ratings([i for i, _, _ in ROWS], [a for _, a, _ in ROWS],
                         [RANK[x] for _, _, x in ROWS]), level="ordinal")
    assert ordered == pytest.approx(as_ranks)
    assert ordered != pytest.approx(sorted_alpha)
    ci = q.krippendorff_alpha_ci(r, level="ordinal", order=["bad", "ok", "good"],
                                 n_resamples=50)
    assert ci.estimate == pytest.approx(ordered)
    # reversing the scale does not change an ordinal coefficient
    assert q.krippendorff_alpha(r, level="ordinal", order=["good", "ok", "bad"]) == \
        pytest.approx(ordered)


def test_bad_orders_are_refused_with_the_fix() -> None:
    r = ratings()
    with pytest.raises(q.InvalidInput, match="leaves out \\['ok'\\]"):
        q.krippendorff_alpha(r, level="ordinal", order=["bad", "good"])
    with pytest.raises(q.InvalidInput, match="more than once"):
        q.in_order(r, ["bad", "ok", "ok", "good"])
    with pytest.raises(q.InvalidInput, match="ordinal"):
        q.krippendorff_alpha(r, level="nominal", order=["bad", "ok", "good"])


def test_text_order_matches_numeric_labels() -> None:
    r = q.encode_ratings(["i1", "i1", "i2", "i2", "i3", "i3"], list("ababab"), [1, 3, 2, 2, 3, 1])
    reordered = q.in_order(r, ["3", "1", "2"])
    assert reordered.classes == (3, 1, 2)
    assert q.krippendorff_alpha(r, level="ordinal", order=["1", "2", "3"]) == pytest.approx(
        q.krippendorff_alpha(r, level="ordinal"))


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "annotator", "label"])
        w.writerows(ROWS)
    return path


def test_agreement_from_file_uses_and_returns_the_order(answers: Path) -> None:
    default = agreement_from_file(answers, level="ordinal", n_resamples=50)
    assert default["order"] == ["bad", "good", "ok"] and not default["order_given"]
    given = agreement_from_file(answers, level="ordinal", order=["bad", "ok", "good"],
                                n_resamples=50)
    assert given["order"] == ["bad", "ok", "good"] and given["order_given"]
    assert given["value"] != default["value"]
    assert agreement_from_file(answers, n_resamples=50)["order"] is None  # nominal
    with pytest.raises(InvalidInput, match="--order"):
        agreement_from_file(answers, order=["bad", "ok", "good"], n_resamples=50)
    with pytest.raises(InvalidInput, match="leaves out"):
        agreement_from_file(answers, level="ordinal", order=["bad", "ok"], n_resamples=50)


def test_the_cli_prints_the_order_it_used(answers: Path) -> None:
    run = CliRunner().invoke(main, ["agreement", str(answers), "--level", "ordinal",
                                    "--order", "bad, ok, good", "--resamples", "50"])
    assert run.exit_code == 0, run.output
    assert "order: bad < ok < good (as given)" in run.output
    run = CliRunner().invoke(main, ["agreement", str(answers), "--level", "ordinal",
                                    "--resamples", "50"])
    assert "order: bad < good < ok (the labels sorted; set it with --order)" in run.output


SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "tone", "type": "choice", "options": ["bad", "ok", "good"], "ordinal": True},
        {"name": "topic", "type": "choice", "options": ["x", "y"]},
        {"name": "stars", "type": "rating", "scale": 3, "required": False},
    ],
}


@pytest.fixture
def rated(ws: Workspace) -> Project:
    p = ws.create_project("tones", SCHEMA, overlap=2)
    p.import_records([{"id": i, "text": i} for i in sorted({r[0] for r in ROWS})])
    users = {a: ws.add_user(f"ann-{a}", "correct-horse-1") for a in "ab"}
    for u in users.values():
        p.add_member(u, "annotator")
    given = {(i, a): x for i, a, x in ROWS}
    for a, u in users.items():
        while (task := p.next_task(u)) is not None:
            tone = given[(task.external_id, a)]
            p.submit(task.id, {"tone": tone, "topic": "x", "stars": RANK[tone]}, u)
    return p


def test_the_report_uses_the_schema_order(rated: Project) -> None:
    fields = rated.quality_report(n_resamples=50)["fields"]
    assert fields["tone"]["level"] == "ordinal" and fields["tone"]["order"] == ["bad", "ok", "good"]
    assert fields["stars"]["order"] == [1, 2, 3]
    assert fields["tone"]["alpha"] == pytest.approx(fields["stars"]["alpha"])
    assert fields["topic"]["level"] == "nominal" and "order" not in fields["topic"]


def test_a_given_order_overrides_and_is_returned(rated: Project, client_for: Any) -> None:
    report = rated.quality_report(n_resamples=50, orders={"tone": ["bad", "good", "ok"]})
    tone = report["fields"]["tone"]
    assert tone["order"] == ["bad", "good", "ok"]
    assert tone["alpha"] != pytest.approx(rated.quality_report(n_resamples=50)
                                          ["fields"]["tone"]["alpha"])
    with pytest.raises(InvalidInput, match="No categorical field"):
        rated.quality_report(orders={"nope": ["a", "b"]})


def test_the_api_takes_an_order(ws: Workspace, rated: Project) -> None:
    from fastapi.testclient import TestClient

    from truelabel.server.app import create_app

    admin = ws.add_user("boss", "correct-horse-1", role="admin")
    c = TestClient(create_app(ws), headers={"Authorization": f"Bearer {ws.create_token(admin)}"})
    url = "/api/projects/tones/quality"
    r = c.get(url, params={"resamples": 50, "order": "tone=good,ok,bad"})
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["tone"]["order"] == ["good", "ok", "bad"]
    assert "FIELD=LOW" in error_body(c.get(url, params={"order": "tone"}), 422)["message"]
    error_body(c.get(url, params={"order": "nope=a,b"}), 422)
    missing = c.get(url, params={"resamples": 50, "order": "tone=bad,ok"}).json()
    assert "leaves out" in missing["fields"]["tone"]["error"]


def test_an_unranked_choice_field_stores_as_before() -> None:
    from truelabel.domain.schema import LabelSchema

    def schema(**extra: Any) -> LabelSchema:
        return LabelSchema.from_dict(
            {"fields": [{"name": "a", "type": "choice", "options": ["x", "y"], **extra}]})

    plain, ranked = schema(), schema(ordinal=True)
    assert "ordinal" not in json.dumps(plain.to_dict())  # the digest of old schemas holds
    assert plain.fields[0].label_order() is None and plain.fields[0].agreement_level() == "nominal"
    assert ranked.fields[0].label_order() == ["x", "y"]
    assert ranked.digest() != plain.digest()
