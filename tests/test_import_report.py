"""Import reporting: nothing is dropped without a word (issue 12).

Repeated texts without ids, ids reused with identical or different content, the conflict
policy (fail / keep-first / keep-last, all or nothing), content dedup as a stated option, and
the warning for large items — through the Project API, the CLI and the HTTP import job.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from helpers import write_jsonl
from truelabel.cli.main import main
from truelabel.core import Project
from truelabel.domain.errors import ImportFailed, InvalidInput

THANKS = [{"text": "Thanks!"}, {"text": "Where is my order?"}, {"text": "Thanks!"},
          {"text": "Thanks!"}]


def texts(project: Project, q: str) -> list[dict[str, Any]]:
    return project.items(search=q, limit=500)


def test_repeated_texts_without_ids_are_merged_and_reported(
    project: Project, tmp_path: Path
) -> None:
    r = project.import_file(write_jsonl(tmp_path / "t.jsonl", THANKS))
    assert (r.read, r.added) == (4, 2)
    assert r.report["dedup"] == "content"
    assert r.report["counts"]["repeated_text"] == 2
    assert [(e["line"], e["first_line"]) for e in r.report["examples"]["repeated_text"]] == [
        (3, 1), (4, 1)]
    note = next(n for n in r.notes if "repeat the text" in n)
    assert "line 3 = line 1" in note and "--dedup none" in note
    # a re-import is a counted no-op, not a repeat of this file
    again = project.import_file(tmp_path / "t.jsonl")
    assert again.added == 0 and again.report["counts"]["present"] == 4
    assert again.report["counts"]["repeated_text"] == 0


def test_dedup_none_imports_every_record_without_an_id(project: Project, tmp_path: Path) -> None:
    r = project.import_file(write_jsonl(tmp_path / "t.jsonl", THANKS), dedup="none")
    assert r.added == 4 and r.skipped == 0 and r.report["dedup"] == "none"
    assert len(texts(project, "Thanks!")) == 3
    assert not r.notes
    # ids still identify items: an id already present is not added again
    ided = project.import_records([{"id": "m1", "text": "Order 1 from ACME arrived broken"}],
                                  dedup="none")
    assert ided.added == 0 and ided.report["counts"]["present"] == 1
    with pytest.raises(InvalidInput, match="dedup must be one of"):
        project.import_records([{"text": "x"}], dedup="texts")


def test_same_id_identical_content_is_a_counted_no_op(project: Project) -> None:
    r = project.import_records([{"id": "z1", "text": "same"}, {"id": "z1", "text": "same"}])
    assert (r.added, r.report["counts"]["repeated_id"]) == (1, 1)
    assert r.report["counts"]["conflicts"] == 0
    assert r.notes == ("1 record(s) repeat an id of this file with identical content; each "
                       "was kept once.",)
    assert r.summary == "1 items added, 0 already present"


def test_same_id_different_content_fails_by_default_all_or_nothing(project: Project) -> None:
    before = project.status()["items"]
    records = [{"id": "n1", "text": "new one"}, {"id": "m3", "text": "changed text"},
               {"id": "n1", "text": "new one, edited"}, {"id": "n2", "text": "fine"}]
    with pytest.raises(ImportFailed) as exc:
        project.import_records(records, source="up.jsonl")
    msg = exc.value.message
    assert "2 record(s) reuse an id with different content" in msg
    assert "id 'm3' at line 2 (already in the project from api" in msg
    assert "id 'n1' at line 3 (first at line 1)" in msg
    assert "--on-conflict keep-first or keep-last" in msg and "Nothing was imported" in msg
    assert exc.value.detail["conflicts"] == 2
    assert project.status()["items"] == before  # all or nothing
    assert texts(project, "new one") == []


def test_keep_first_and_keep_last(project: Project) -> None:
    records = [{"id": "k", "text": "first"}, {"id": "k", "text": "second"},
               {"id": "k", "text": "first"}, {"id": "m2", "text": "replacement"}]
    r = project.import_records(records, on_conflict="keep-first")
    assert r.added == 1 and r.report["counts"]["conflicts"] == 2  # line 2 and m2
    assert r.report["counts"]["repeated_id"] == 1  # line 3 is the kept content again
    assert any("keep-first" in n for n in r.notes)
    (k,) = [i for i in texts(project, "") if i["external_id"] == "k"]
    assert k["data"] == {"text": "first"}
    assert texts(project, "replacement") == []

    r = project.import_records(records, source="later.jsonl", on_conflict="keep-last")
    # 'k' is now the project's ("first"): second conflicts, the last "first" conflicts again
    assert r.added == 0 and r.report["counts"]["conflicts"] == 3
    (k,) = [i for i in texts(project, "") if i["external_id"] == "k"]
    assert k["data"] == {"text": "first"}
    item = project.item(k["id"])
    assert item["provenance"]["line"] == 3 and item["provenance"]["source"] == "later.jsonl"
    (m2,) = texts(project, "replacement")
    assert m2["external_id"] == "m2"


def test_keep_last_across_batches(project: Project) -> None:
    from truelabel.core import transfer  # batch_size is the engine's knob

    rows = [{"id": "b", "text": f"version {i}"} for i in range(5)]
    buf = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    r = transfer.run_import(project.db, project_id=project.id, fh=buf, source="b.jsonl",
                            fmt="jsonl", batch_size=2, on_conflict="keep-last")
    assert r.added == 1 and r.report["counts"]["conflicts"] == 4
    (b,) = [i for i in texts(project, "version") if i["external_id"] == "b"]
    assert b["data"] == {"text": "version 4"}


def test_large_items_are_imported_and_reported(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, small = "x" * 300, "y" * 10
    records = [{"id": "big1", "text": big}, {"text": small}, {"id": "big2", "text": "é" * 60}]
    r = project.import_records(records, large_item_bytes=100)
    assert r.added == 3 and r.report["counts"]["large"] == 2
    assert [(e["id"], e["line"]) for e in r.report["examples"]["large"]] == [
        ("big1", 1), ("big2", 3)]  # 60 characters, 120 bytes of UTF-8
    assert any(n.startswith("Warning: 2 item(s) are larger than 100 bytes") for n in r.notes)
    monkeypatch.setenv("TRUELABEL_LARGE_ITEM_BYTES", "50")
    r = project.import_records([{"id": "mid", "text": "z" * 60}])
    assert r.report["large_item_bytes"] == 50 and r.report["counts"]["large"] == 1
    monkeypatch.setenv("TRUELABEL_LARGE_ITEM_BYTES", "lots")
    with pytest.raises(InvalidInput, match="TRUELABEL_LARGE_ITEM_BYTES"):
        project.import_records([{"id": "mid2", "text": "z"}])


def test_cli_reports_and_takes_the_options(project: Project, tmp_path: Path) -> None:
    loc = project.ws.location
    f = write_jsonl(tmp_path / "t.jsonl", [*THANKS, {"id": "m4", "text": "other"}])
    runner = CliRunner()
    r = runner.invoke(main, ["import", loc, str(f)])
    assert r.exit_code == 1, r.output
    assert "id 'm4' at line 5" in r.output and "--on-conflict" in r.output
    assert project.status()["items"] == 20
    r = runner.invoke(main, ["import", loc, str(f), "--on-conflict", "keep-first"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "line 3 = line 1" in out and "--dedup none" in out and "keep-first" in out
    r = runner.invoke(main, ["import", loc, str(f), "--dedup", "none", "--on-conflict",
                             "keep-last", "--large-item-bytes", "5", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["added"] == 4 and data["dedup"] == "none"
    assert data["counts"]["conflicts"] == 1 and data["counts"]["large"] == 5
    assert data["notes"]


def test_http_import_job_takes_the_policy_and_reports(app: Any, client_for: Any) -> None:
    m = client_for("manager")
    data = b'{"id": "h1", "text": "a"}\n{"id": "h1", "text": "b"}\n{"text": "Thanks!"}\n' \
           b'{"text": "Thanks!"}\n'
    r = m.post("/api/projects/support/imports", files={"file": ("c.jsonl", data)})
    job = m.get(f"/api/jobs/{app.state.jobs.wait(r.json()['id']).id}").json()
    assert job["status"] == "failed"
    assert "id 'h1' at line 2" in job["error"]["message"]
    assert "on_conflict" in job["error"]["message"]
    r = m.post("/api/projects/support/imports", files={"file": ("c.jsonl", data)},
               data={"on_conflict": "keep-last"})
    job = m.get(f"/api/jobs/{app.state.jobs.wait(r.json()['id']).id}").json()
    assert job["status"] == "done", job
    res = job["result"]
    assert res["added"] == 2 and res["on_conflict"] == "keep-last"
    assert res["counts"]["conflicts"] == 1 and res["counts"]["repeated_text"] == 1
    assert "repeat the text" in job["message"] and "line 4 = line 3" in job["message"]
    bad = m.post("/api/projects/support/imports", files={"file": ("c.jsonl", data)},
                 data={"on_conflict": "newest"})
    assert bad.status_code == 422


def test_url_import_job_takes_the_policy(app: Any, client_for: Any, users: Any) -> None:
    from test_ssrf import Loopback  # an HTTP server on loopback

    server = Loopback()
    try:
        body = b'{"id": "u1", "text": "a"}\n{"id": "u1", "text": "b"}\n'
        server.routes["/c.jsonl"] = (200, {"Content-Type": "application/x-ndjson"}, body, 0.0)
        admin, m = client_for("admin"), client_for("manager")
        assert admin.put("/api/settings/url-allowlist",
                         json={"allow": [f"127.0.0.1:{server.port}"]}).status_code == 200
        url = f"http://127.0.0.1:{server.port}/c.jsonl"

        def run(**policy: str) -> dict[str, Any]:
            r = m.post("/api/projects/support/imports/url", json={"url": url, **policy})
            assert r.status_code == 202, r.text
            return dict(m.get(f"/api/jobs/{app.state.jobs.wait(r.json()['id']).id}").json())

        failed = run()
        assert failed["status"] == "failed" and "id 'u1' at line 2" in failed["message"]
        done = run(on_conflict="keep-last", dedup="none")
        assert done["status"] == "done", done
        assert done["result"]["counts"]["conflicts"] == 1 and done["result"]["dedup"] == "none"
        (item,) = [i for i in m.get("/api/projects/support/items?q=u1").json()["items"]]
        assert item["data"] == {"text": "b"}
        assert m.post("/api/projects/support/imports/url",
                      json={"url": url, "on_conflict": "latest"}).status_code == 422
    finally:
        server.close()
