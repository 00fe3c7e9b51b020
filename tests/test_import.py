from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import make_items, write_jsonl
from truelabel.core import Project
from truelabel.domain.errors import ImportFailed, UnknownComponent


def test_jsonl_import_records_provenance(project: Project, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "more.jsonl", make_items(5, start=100))
    r = project.import_file(f)
    assert (r.read, r.added, r.format) == (5, 5, "jsonl")
    page = project.items(search="Order 102")
    item = project.item(page[0]["id"])
    assert item["external_id"] == "m102"
    assert item["provenance"] == {"batch_id": r.batch_id, "source": str(f), "line": 3}


def test_reimport_does_not_duplicate(project: Project, tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "a.jsonl",
        [{"text": "no id here"}, {"text": "no id here"}, {"text": "another"}] + make_items(3),
    )
    first = project.import_file(f)
    second = project.import_file(f)
    assert first.added == 2  # same content without an id is one item; m0..m2 already exist
    assert second.added == 0 and second.skipped == second.read
    assert project.status()["items"] == 22


def test_malformed_jsonl_names_file_and_line_and_imports_nothing(
    project: Project, tmp_path: Path
) -> None:
    rows = [json.dumps(r) for r in make_items(10, start=500)]
    rows.insert(6, '{"text": "broken", ')
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(rows) + "\n")
    before = project.status()["items"]
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f)
    assert "bad.jsonl" in exc.value.message and "line 7" in exc.value.message
    assert "Nothing was imported" in exc.value.message
    assert exc.value.detail["line"] == 7
    assert project.status()["items"] == before
    assert len(project.batches()) == 1  # the failed batch left no trace


def test_non_object_line_rejected(project: Project, tmp_path: Path) -> None:
    f = tmp_path / "list.jsonl"
    f.write_text('{"text": "ok"}\n[1, 2]\n')
    with pytest.raises(ImportFailed, match="line 2: expected a JSON object"):
        project.import_file(f)


def test_non_utf8_file_rejected_with_line(project: Project, tmp_path: Path) -> None:
    for name, content, line in [
        ("latin.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n', 2),
        ("latin.csv", b"text\nok\ncaf\xe9\n", 3),
        ("latin.txt", b"ok\ncaf\xe9\n", 2),
    ]:
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(ImportFailed) as exc:
            project.import_file(f)
        assert "UTF-8" in exc.value.message and f"line {line}:" in exc.value.message, name
    assert project.status()["items"] == 20


def test_csv_import_and_missing_column(project: Project, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    with good.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "channel"])
        w.writerow(["c1", "Hello, with a comma", "email"])
        w.writerow(["c2", "Line\nbreak inside quotes", "chat"])
    r = project.import_file(good)
    assert r.added == 2
    item = project.items(search="comma")[0]
    assert item["data"] == {"text": "Hello, with a comma", "channel": "email"}

    # the schema's spans field needs a 'text' column
    missing = tmp_path / "missing.csv"
    missing.write_text("id,body\nx1,hello\n")
    with pytest.raises(ImportFailed) as exc:
        project.import_file(missing)
    assert "missing column(s) ['text']" in exc.value.message and "body" in exc.value.message

    short = tmp_path / "short.csv"
    short.write_text("id,text,channel\nx1,hello,chat\nx2,too few\n")
    with pytest.raises(ImportFailed, match="short.csv, line 3: 2 values for 3 columns"):
        project.import_file(short)
    assert project.status()["items"] == 22


def test_parquet_and_text_import(project: Project, tmp_path: Path) -> None:
    pq_file = tmp_path / "items.parquet"
    pq.write_table(
        pa.table({"id": ["p1", "p2"], "text": ["alpha", "beta"], "score": [0.5, 1.5]}), pq_file
    )
    assert project.import_file(pq_file).added == 2
    assert project.items(search="alpha")[0]["data"] == {"text": "alpha", "score": 0.5}
    txt = tmp_path / "lines.txt"
    txt.write_text("first line\n\nsecond line\r\n")
    r = project.import_file(txt)
    assert (r.read, r.added) == (2, 2)
    assert project.items(search="second")[0]["data"] == {"text": "second line"}


def test_unknown_format_lists_known(project: Project, tmp_path: Path) -> None:
    f = tmp_path / "data.xlsx"
    f.write_bytes(b"PK")
    with pytest.raises(UnknownComponent) as exc:
        project.import_file(f)
    assert "jsonl" in exc.value.message and "parquet" in exc.value.message


def test_missing_text_field_for_spans(project: Project, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "nofield.jsonl", [{"text": "ok"}, {"body": "no text"}])
    with pytest.raises(ImportFailed, match="line 2: the record has no 'text' field"):
        project.import_file(f)


NO_NUL = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
"""Any text but NUL, which the import refuses (tests/test_import_integrity.py)."""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "text": st.text(NO_NUL, min_size=1, max_size=40),
                "n": st.integers(-(10**12), 10**12),
                "tags": st.lists(st.text(NO_NUL, max_size=5), max_size=3),
            }
        ),
        min_size=1,
        max_size=15,
    )
)
def test_import_export_round_trip(project: Project, tmp_path: Path, records: list) -> None:
    """Whatever JSON goes in (without NUL characters, which are refused) comes out of the
    export unchanged (hypothesis)."""
    name = f"rt-{abs(hash(json.dumps(records)))}"
    buf = io.BytesIO(
        b"".join(
            json.dumps({"id": f"{name}-{i}", **r}).encode() + b"\n" for i, r in enumerate(records)
        )
    )
    project.import_stream(buf, source=f"{name}.jsonl")
    out = tmp_path / f"{name}.jsonl"
    project.export(out)
    with out.open() as fh:
        exported = {row["external_id"]: row["data"] for row in map(json.loads, fh)}
    for i, r in enumerate(records):
        assert exported[f"{name}-{i}"] == r
