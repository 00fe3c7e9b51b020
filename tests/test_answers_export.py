"""The long "answers" export (item, field, annotator, label) and a project as the input of
``truelabel agreement`` / ``aggregate`` (issue 12: the project's own export did not feed them).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from truelabel import Workspace
from truelabel.cli.main import main
from truelabel.core import Project, agreement_from_file
from truelabel.core.report import quality_report
from truelabel.domain.errors import InvalidInput

SCHEMA = {"fields": [
    {"name": "intent", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "tags", "type": "multi_choice", "options": ["x", "y"], "required": False},
    {"name": "entities", "type": "spans", "labels": ["ORG"], "required": False},
]}


@pytest.fixture
def labelled(ws: Workspace) -> Project:
    p = ws.create_project("ans", SCHEMA, overlap=3)
    p.import_records([{"id": f"i{i}", "text": f"text number {i}"} for i in range(12)])
    p.import_records([{"text": "no id"}])
    rng = random.Random(3)
    users = [ws.add_user(f"u{k}", "password-123", role="annotator") for k in range(3)]
    for u in users:
        p.add_member(u, "annotator")
    for _ in range(13):
        for k, u in enumerate(users):
            t = p.next_task(u)
            if t is None:
                continue
            value: dict[str, Any] = {"intent": rng.choice("ab") if k == 2 else "a"}
            if k == 0:
                value["tags"] = ["x", "y"]
                value["entities"] = [{"start": 0, "end": 4, "label": "ORG"}]
            p.submit(t.id, value, u)
    return p


def cli(*args: Any) -> Any:
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def test_answers_export_has_one_row_per_item_field_annotator_label(
    labelled: Project, tmp_path: Path
) -> None:
    out = tmp_path / "answers.csv"
    r = labelled.export(out, fmt="answers")
    assert r.format == "answers"
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert list(rows[0]) == ["item", "item_id", "field", "annotator", "label", "annotation_id",
                             "created_at", "schema_version", "origin"]
    intents = [x for x in rows if x["field"] == "intent"]
    assert len(intents) == 13 * 3
    assert {x["item"] for x in intents} >= {"i0", "i11"}
    no_id = [x for x in intents if not x["item"].startswith("i")]
    assert no_id and all(x["item"] == x["item_id"] for x in no_id)  # truelabel's id as text
    tags = [x for x in rows if x["field"] == "tags"]
    assert len(tags) == 13 * 2 and {x["label"] for x in tags} == {"x", "y"}  # one per value
    spans = [x for x in rows if x["field"] == "entities"]
    assert json.loads(spans[0]["label"])[0]["label"] == "ORG"  # the spans as JSON text
    # the same table as JSONL and Parquet, by suffix
    labelled.export(tmp_path / "answers.jsonl", fmt="answers")
    first = json.loads((tmp_path / "answers.jsonl").read_text().splitlines()[0])
    assert set(first) == set(rows[0])
    labelled.export(tmp_path / "answers.parquet", fmt="answers")
    assert pq.read_table(tmp_path / "answers.parquet").num_rows == len(rows)


def test_project_to_answers_to_agreement_round_trip(
    labelled: Project, ws: Workspace, tmp_path: Path
) -> None:
    """project → answers export → agreement equals the project's own agreement."""
    own = quality_report(labelled, n_resamples=50)["fields"]["intent"]["alpha"]
    out = tmp_path / "answers.csv"
    cli("export", ws.location, out, "-p", "ans", "--format", "answers")
    from_file = agreement_from_file(out, field="intent", n_resamples=50)
    assert from_file["value"] == pytest.approx(own)
    direct = json.loads(cli("agreement", ws.location, "-p", "ans", "--field", "intent",
                            "--resamples", 50, "--json").stdout)
    assert direct["value"] == pytest.approx(own) and direct["answers"] == 39
    agg = json.loads(cli("aggregate", ws.location, "-p", "ans", "--field", "intent",
                         "--json").stdout)
    assert agg["items"] == 13 and set(agg["labels"]) <= {"a", "b"}
    r = CliRunner().invoke(main, ["agreement", ws.location, "-p", "ans"])  # which field?
    assert r.exit_code != 0
    assert "the answers of project 'ans' holds answers to several fields" \
        in " ".join(r.output.split())
    # several fields and no --field: refused, naming them
    with pytest.raises(InvalidInput, match=r"several fields .*'intent'.*--field NAME"):
        agreement_from_file(out, n_resamples=10)
    with pytest.raises(InvalidInput, match="no answers to the field 'mood'"):
        agreement_from_file(out, field="mood", n_resamples=10)


def test_api_export_answers_feeds_agreement(
    labelled: Project, ws: Workspace, app: Any, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    admin = ws.add_user("boss", "password-123", role="admin")
    c = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(admin)}"})
    r = c.get("/api/projects/ans/export", params={"format": "answers"})
    assert r.status_code == 200
    assert "ans-answers.csv" in r.headers["content-disposition"]
    f = tmp_path / "api.csv"
    f.write_bytes(r.content)
    own = quality_report(labelled, n_resamples=20)["fields"]["intent"]["alpha"]
    assert agreement_from_file(f, field="intent", n_resamples=20)["value"] == pytest.approx(own)


def test_agreement_and_aggregate_read_a_server_project(
    labelled: Project, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from servers import live_server

    monkeypatch.delenv("TRUELABEL_TOKEN", raising=False)
    own = quality_report(labelled, n_resamples=20)["fields"]["intent"]["alpha"]
    lead = ws.add_user("lead", "password-123", role="manager")
    labelled.add_member(lead, "manager")
    token = ws.create_token(lead)
    with live_server(ws) as url:
        data = json.loads(cli("agreement", url, "--token", token, "--field", "intent",
                              "--resamples", 20, "--json").stdout)  # the only project
        assert data["value"] == pytest.approx(own)
        monkeypatch.setenv("TRUELABEL_TOKEN", token)
        agg = json.loads(cli("aggregate", url, "-p", "ans", "--field", "intent",
                             "--json").stdout)
        assert agg["items"] == 13
        monkeypatch.delenv("TRUELABEL_TOKEN")
        r = CliRunner().invoke(main, ["agreement", url, "-p", "ans", "--field", "intent"])
        assert r.exit_code != 0 and "401" in r.output and "--token" in r.output
