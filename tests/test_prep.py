"""The data plane's import seam: readers' Arrow item batches, preparation steps between reading
and writing, and slice metadata in ``items.meta``."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from helpers import PASSWORD, SCHEMA
from truelabel import Workspace
from truelabel.cli.main import main
from truelabel.core import transfer
from truelabel.domain.errors import ImportFailed, InvalidInput
from truelabel.formats.batches import ITEM_SCHEMA, read_item_batches


class Language:
    """Adds a ``language`` column (slice metadata) guessed from the text."""

    name = "test.language"

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        data = batch.column(batch.schema.get_field_index("data")).to_pylist()
        langs = ["fr" if "bonjour" in json.loads(d)["text"] else "en" for d in data]
        return batch.append_column("language", pa.array(langs, pa.string()))


class DropSpam:
    name = "test.drop_spam"

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        data = batch.column(batch.schema.get_field_index("data"))
        return batch.filter(pc.invert(pc.match_substring(data, "spam")))


class Upper:
    """Rewrites the item data (so its content hash must be recomputed)."""

    name = "test.upper"

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        i = batch.schema.get_field_index("data")
        data = [json.dumps({"text": json.loads(d)["text"].upper()})
                for d in batch.column(i).to_pylist()]
        return batch.set_column(i, "data", pa.array(data, pa.string()))


class Boom:
    name = "test.boom"

    def __init__(self, after: int = 0) -> None:
        self.calls, self.after = 0, after

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        self.calls += 1
        if self.calls > self.after:
            raise ImportFailed("the step failed on purpose. Nothing was imported.")
        return batch


RECORDS = [
    {"id": "a", "text": "hello there"},
    {"id": "b", "text": "bonjour à tous"},
    {"id": "c", "text": "buy spam now"},
    {"id": "d", "text": "hello again"},
]


def _project(ws: Workspace) -> Any:
    return ws.create_project("prep", SCHEMA, overlap=1)


def test_readers_emit_arrow_batches_with_provenance() -> None:
    fh = io.BytesIO(b'{"id": 7, "text": "x"}\n\n{"text": "y", "b": 1}\n')
    (batch,) = list(read_item_batches(fh, "jsonl", path="in.jsonl"))
    t = batch.table
    assert t.schema == ITEM_SCHEMA
    assert t.column("source").to_pylist() == ["in.jsonl", "in.jsonl"]
    assert t.column("line").to_pylist() == [1, 3]
    assert t.column("external_id").to_pylist() == ["7", None]
    assert t.column("data").to_pylist() == ['{"text":"x"}', '{"b":1,"text":"y"}']
    assert [len(h) for h in t.column("content_hash").to_pylist()] == [16, 16]


def test_prep_steps_add_metadata_and_drop_rows_and_are_recorded(ws: Workspace) -> None:
    p = _project(ws)
    r = p.import_records(RECORDS, prep=[Language(), DropSpam()], meta={"channel": "email"})
    assert (r.read, r.added, r.dropped, r.skipped) == (4, 3, 1, 0)
    assert r.prep == ("test.language", "test.drop_spam")
    items = {i["external_id"]: i for i in p.items()}
    assert sorted(items) == ["a", "b", "d"]
    assert items["b"]["meta"] == {"channel": "email", "language": "fr"}
    assert items["a"]["meta"] == {"channel": "email", "language": "en"}
    assert p.item(items["b"]["id"])["meta"]["language"] == "fr"
    fr = p.items(meta=("language", "fr"))
    assert [i["external_id"] for i in fr] == ["b"]
    assert p.items(meta=("language", "de")) == []
    admin = ws.add_user("root", PASSWORD, role="admin")
    (entry,) = ws.audit_log(actor=admin, action="items.import")
    detail = json.loads(entry["detail"]) if isinstance(entry["detail"], str) else entry["detail"]
    assert detail["prep"] == ["test.language", "test.drop_spam"]
    assert detail["dropped"] == 1 and detail["meta"] == {"channel": "email"}


def test_a_step_that_rewrites_data_gets_a_fresh_hash(ws: Workspace) -> None:
    p = _project(ws)
    p.import_records([{"text": "HELLO"}])  # no ids: duplicates are found by content hash
    r = p.import_records([{"text": "hello"}, {"text": "new"}], prep=[Upper()])
    assert (r.added, r.skipped) == (1, 1)  # "hello" became "HELLO": the same content
    assert {i["data"]["text"] for i in p.items()} == {"HELLO", "NEW"}


@pytest.mark.parametrize("after", [0, 1])
def test_a_step_that_raises_leaves_nothing_stored(ws: Workspace, after: int) -> None:
    p = _project(ws)
    records = [{"id": f"r{i}", "text": f"row {i}"} for i in range(25)]
    buf = io.BytesIO(b"\n".join(json.dumps(r).encode() for r in records))
    step = Boom(after)
    with pytest.raises(ImportFailed, match="on purpose"):  # batches of 10: fails on 1 or 2
        transfer.run_import(p.db, project_id=p.id, fh=buf, source="in.jsonl", fmt="jsonl",
                            batch_size=10, prep=[step])
    assert step.calls == after + 1
    assert p.items() == [] and p.batches() == []


def test_a_step_must_return_a_batch_with_the_item_columns(ws: Workspace) -> None:
    class Bad:
        name = "test.bad"

        def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
            return batch.drop_columns(["data"])

    p = _project(ws)
    with pytest.raises(ImportFailed, match="test.bad"):
        p.import_records(RECORDS, prep=[Bad()])
    assert p.items() == []


def test_meta_keys_are_checked(ws: Workspace) -> None:
    p = _project(ws)
    with pytest.raises(InvalidInput, match="not a name"):
        p.import_records(RECORDS, meta={"bad key": "x"})
    assert p.items() == []


def test_cli_meta_option(ws: Workspace, tmp_path: Any) -> None:
    _project(ws)
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in RECORDS))
    r = CliRunner().invoke(main, ["import", ws.location, str(src), "--meta", "language=en",
                                  "--meta", "licence=CC-BY-4.0"])
    assert r.exit_code == 0, r.output
    items = ws.project("prep").items()
    assert {json.dumps(i["meta"], sort_keys=True) for i in items} == {
        '{"language": "en", "licence": "CC-BY-4.0"}'}
    r = CliRunner().invoke(main, ["import", ws.location, str(src), "--meta", "language"])
    assert r.exit_code != 0 and "KEY=VALUE" in r.output


def test_slice_metadata_is_exported(ws: Workspace, tmp_path: Any) -> None:
    import pyarrow.parquet as pq

    p = _project(ws)
    p.import_records(RECORDS[:1], source="a.jsonl", meta={"language": "en", "channel": "chat"})
    p.import_records(RECORDS[1:2], source="b.jsonl")
    p.export(tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x.get("meta") for x in lines] == [{"channel": "chat", "language": "en"}, None]
    p.export(tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert [json.loads(m) if m else None for m in table.column("meta").to_pylist()] == [
        {"channel": "chat", "language": "en"}, None]
