"""Bounded imports and exports (issue 10): item size, record size, Parquet decompression
bombs, the export's temporary folder and the names shown in errors.

Memory is measured, never time: ``tracemalloc`` for Python objects and pyarrow's memory pool
for Arrow buffers (the Parquet bomb runs in a fresh process, so the pool's peak is its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import make_items, write_jsonl
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.url_import import import_url
from truelabel.domain.errors import ImportFailed
from truelabel.domain.limits import MAX_ITEM_BYTES, RAW_RECORD_FACTOR
from truelabel.formats.readers import MAX_BATCH_BYTES, read_parquet

MIB = 1 << 20
P = "/api/projects/support"


def _big_item(n_bytes: int, ident: str = "big") -> dict[str, Any]:
    return {"id": ident, "text": "x" * n_bytes}


def _unchanged(project: Project, items: int, batches: int) -> None:
    assert project.status()["items"] == items
    assert len(project.batches()) == batches  # the refused import left no batch behind


def _peak(fn: Any) -> tuple[BaseException | None, int]:
    """Run ``fn``; return what it raised and the peak of Python allocations meanwhile."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    err: BaseException | None = None
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 (handed back to the test)
        err = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return err, peak


# -- item size ---------------------------------------------------------------------------------
def test_an_item_past_the_limit_refuses_the_whole_import(project: Project, tmp_path: Path) -> None:
    rows = make_items(3, start=100) + [_big_item(MAX_ITEM_BYTES + 10)] + make_items(2, start=200)
    f = write_jsonl(tmp_path / "big.jsonl", rows)
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f)
    msg = exc.value.message
    assert "big.jsonl, line 4: the item is 1,048,5" in msg and "at most 1,048,576" in msg
    assert "max_item_bytes" in msg and "Nothing was imported" in msg
    assert exc.value.detail["line"] == 4 and exc.value.detail["limit"] == MAX_ITEM_BYTES
    assert exc.value.detail["size"] > MAX_ITEM_BYTES
    _unchanged(project, 20, 1)
    # a bigger limit, asked for, lets it in
    assert project.import_file(f, max_item_bytes=2 * MIB).added == 6


@pytest.mark.parametrize("fmt,line", [("csv", 3), ("text", 2), ("parquet", 2)])
def test_the_item_limit_holds_for_every_format(project: Project, tmp_path: Path,
                                               fmt: str, line: int) -> None:
    text = "y" * 3_000
    if fmt == "csv":
        f = tmp_path / "items.csv"
        f.write_text(f"id,text\na,short\nb,{text}\n")
    elif fmt == "text":
        f = tmp_path / "items.txt"
        f.write_text(f"short\n{text}\n")
    else:
        f = tmp_path / "items.parquet"
        pq.write_table(pa.table({"id": ["a", "b"], "text": ["short", text]}), f)
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f, max_item_bytes=2_000)
    assert f"{f.name}, line {line}: the item is 3,01" in exc.value.message
    _unchanged(project, 20, 1)


def test_import_records_has_the_limit_too(project: Project) -> None:
    with pytest.raises(ImportFailed, match="line 2: the item is"):
        project.import_records(make_items(1, start=300) + [_big_item(MAX_ITEM_BYTES)])
    _unchanged(project, 20, 1)


def test_http_upload_refuses_a_large_item(app: Any, client_for: Any, project: Project) -> None:
    m = client_for("manager")
    data = b"".join(json.dumps(r).encode() + b"\n"
                    for r in make_items(2, start=400) + [_big_item(MAX_ITEM_BYTES)])
    r = m.post(f"{P}/imports", files={"file": ("upload.jsonl", data)})
    assert r.status_code == 202, r.text
    job = app.state.jobs.wait(r.json()["id"])
    body = m.get(f"/api/jobs/{job.id}").json()
    assert body["status"] == "failed" and body["error"]["error"] == "import_failed"
    message = body["error"]["message"]
    assert "upload.jsonl, line 3: the item is" in message
    assert "tl-upload" not in message and tempfile.gettempdir() not in message
    _unchanged(project, 20, 1)


class _Served:
    """One body on a loopback port (the URL import's real download path)."""

    def __init__(self, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def big_item_server() -> Iterator[_Served]:
    body = b"".join(json.dumps(r).encode() + b"\n"
                    for r in make_items(1, start=500) + [_big_item(MAX_ITEM_BYTES)])
    s = _Served(body)
    yield s
    s.close()


def test_url_import_refuses_a_large_item(project: Project, big_item_server: _Served) -> None:
    port = big_item_server.port
    with pytest.raises(ImportFailed) as exc:
        import_url(project, f"http://127.0.0.1:{port}/items.jsonl", actor=None,
                   allow=[f"127.0.0.1:{port}"])
    assert f"127.0.0.1:{port}/items.jsonl, line 2: the item is" in exc.value.message
    _unchanged(project, 20, 1)


def test_cli_import_takes_max_item_bytes(ws: Workspace, project: Project, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from truelabel.cli.main import main

    f = write_jsonl(tmp_path / "cli.jsonl", [_big_item(5_000, "cli")])
    loc = ws.location if "://" in ws.location else str(Path(ws.location))
    runner = CliRunner()
    r = runner.invoke(main, ["import", loc, str(f), "-p", "support", "--max-item-bytes", "4000"])
    assert r.exit_code == 1 and "line 1: the item is 5,0" in " ".join(r.output.split())
    r = runner.invoke(main, ["import", loc, str(f), "-p", "support", "--max-item-bytes", "6000"])
    assert r.exit_code == 0, r.output
    assert project.status()["items"] == 21


# -- record size: nothing read whole -----------------------------------------------------------
@pytest.mark.parametrize("name,head", [("long.jsonl", b'{"text": "ok"}\n{"text": "'),
                                       ("long.csv", b"id,text\n1,"),
                                       ("long.txt", b"ok\n")])
def test_an_enormous_line_is_refused_without_reading_it_whole(
    project: Project, tmp_path: Path, name: str, head: bytes
) -> None:
    f = tmp_path / name
    with f.open("wb") as fh:
        fh.write(head)
        for _ in range(48):
            fh.write(b"z" * MIB)  # 48 MiB on line 2, no newline
    err, peak = _peak(lambda: project.import_file(f))
    assert isinstance(err, ImportFailed), err
    limit = RAW_RECORD_FACTOR * MAX_ITEM_BYTES
    assert f"{name}, line 2: the record is more than {limit:,} bytes" in err.message
    assert peak < 4 * limit + 4 * MIB, peak  # a few times the limit, not the 48 MiB line
    _unchanged(project, 20, 1)


def test_a_csv_record_over_many_lines_is_counted_whole(project: Project,
                                                       tmp_path: Path) -> None:
    f = tmp_path / "multi.csv"
    f.write_text('id,text\na,fine\nb,"' + "many\n" * 2_000 + '"\n')
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f, max_item_bytes=1_000)
    assert "multi.csv, line 3: the record is more than 4,00" in exc.value.message
    _unchanged(project, 20, 1)


# -- Parquet -----------------------------------------------------------------------------------
def test_parquet_batches_are_bounded_by_bytes(tmp_path: Path) -> None:
    f = tmp_path / "wide.parquet"
    texts = [f"{i:06d}" + "w" * 100_000 for i in range(200)]  # 20 MB in one row group
    pq.write_table(pa.table({"text": texts}), f, row_group_size=200)
    with f.open("rb") as fh:
        batches = list(read_parquet(fh, path="wide.parquet"))
    assert [r.data["text"] for b in batches for r in b] == texts
    assert [r.line for b in batches for r in b] == list(range(1, 201))
    for b in batches:
        assert sum(len(r.data["text"]) for r in b) <= MAX_BATCH_BYTES + 100_100


def test_a_parquet_row_past_the_record_limit_is_refused(project: Project,
                                                        tmp_path: Path) -> None:
    f = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["s", "t", "u" * 5_000]}), f)
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f, max_item_bytes=1_000)
    assert "rows.parquet, row 3: the record is 5,0" in exc.value.message
    assert "at most 4,000 bytes" in exc.value.message
    _unchanged(project, 20, 1)


BOMB_CHILD = r"""
import json, sys, tracemalloc
import pyarrow as pa
from truelabel import Workspace
from truelabel.domain.errors import ImportFailed
ws = Workspace.init(sys.argv[1])
p = ws.create_project("m", {"fields": [{"name": "x", "type": "text"}]})
pool = pa.default_memory_pool()
arrow_before = pool.max_memory()
tracemalloc.start()
try:
    p.import_file(sys.argv[2])
    message = "imported"
except ImportFailed as exc:
    message = exc.message
print(json.dumps({"message": message, "items": p.status()["items"],
                  "arrow_peak": pool.max_memory() - arrow_before,
                  "python_peak": tracemalloc.get_traced_memory()[1]}))
"""


def test_a_parquet_decompression_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    f = tmp_path / "bomb.parquet"
    value = "b" * (64 << 10)
    pq.write_table(pa.table({"text": pa.array([value] * 4_000)}), f, compression="zstd",
                   row_group_size=4_000)
    assert f.stat().st_size < 8 << 10  # a few KiB that decode to 256 MiB
    out = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(tmp_path / "ws"), str(f)],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert "bomb.parquet" in got["message"] and "decompression bomb" in got["message"]
    assert "Nothing was imported" in got["message"] and got["items"] == 0
    assert got["arrow_peak"] < 32 * MIB, got
    assert got["python_peak"] < 48 * MIB, got


# -- exports and temp folders ----------------------------------------------------------------
def test_a_refused_export_leaves_no_temp_folder(client_for: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    a = client_for("ann1")  # a member, but annotators may not export
    r = a.get(f"{P}/export")
    assert r.status_code == 403, r.text
    r = a.get(f"{P}/export?format=parquet")
    assert r.status_code == 403, r.text
    assert list(temp.iterdir()) == []
    m = client_for("manager")
    r = m.get(f"{P}/export", headers={"Range": "bytes=999999999-"})  # 416, returns early
    assert r.status_code == 416
    r = m.get(f"{P}/export")
    assert r.status_code == 200 and len(r.content.splitlines()) == 20
    assert list(temp.iterdir()) == []


def test_a_gold_upload_error_names_the_users_file(client_for: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "spool"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    m = client_for("manager")
    r = m.post(f"{P}/gold", files={"file": ("answers.xlsx", b"PK\x03\x04")})
    assert r.status_code == 422, r.text
    message = r.json()["message"]
    assert "answers.xlsx" in message
    assert str(temp) not in message and "tl-gold" not in message
    assert list(temp.iterdir()) == []


def test_the_limits_module_is_the_one_source() -> None:
    """The defaults of every import entry point are the number in ``domain.limits``."""
    import inspect

    from truelabel.core import transfer, url_import

    for fn in (Project.import_file, Project.import_stream, Project.import_records,
               url_import.import_url, transfer.run_import):
        assert inspect.signature(fn).parameters["max_item_bytes"].default == MAX_ITEM_BYTES


def test_parquet_values_json_cannot_hold_still_become_strings(tmp_path: Path) -> None:
    import datetime
    import decimal

    f = tmp_path / "types.parquet"
    pq.write_table(pa.table({
        "text": ["a", "b"], "day": [datetime.date(2024, 1, 2), None],
        "raw": [b"\x01\x02", b"\xff"], "price": [decimal.Decimal("1.50"), decimal.Decimal("2")],
        "tags": [["x"], []], "meta": [{"k": 1}, {"k": 2}],
    }), f)
    with f.open("rb") as fh:
        rows = [r.data for b in read_parquet(fh, path="types.parquet") for r in b]
    assert rows == [
        {"text": "a", "day": "2024-01-02", "raw": "0102", "price": "1.50", "tags": ["x"],
         "meta": {"k": 1}},
        {"text": "b", "day": None, "raw": "ff", "price": "2.00", "tags": [], "meta": {"k": 2}},
    ]


@pytest.mark.parametrize("column", [
    pa.array([["s"], ["v" * 5_000, "v"]]),
    pa.array([{"a": "s"}, {"a": "v" * 5_000}]),
    pa.array([[("k", "s")], [("k", "v" * 5_000)]], type=pa.map_(pa.string(), pa.string())),
    pa.array([[1], list(range(1_000))]),
], ids=["list", "struct", "map", "list-of-numbers"])
def test_nested_parquet_values_count_towards_the_row(project: Project, tmp_path: Path,
                                                     column: pa.Array) -> None:
    f = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "x": column}), f)
    with pytest.raises(ImportFailed, match="nested.parquet, row 2: the record is"):
        project.import_file(f, max_item_bytes=1_000)
    _unchanged(project, 20, 1)


def test_a_csv_value_past_the_csv_field_limit_says_so(project: Project, tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    f.write_text("id,text\na,ok\nb," + "v" * 200_000 + "\n")
    with pytest.raises(ImportFailed) as exc:
        project.import_file(f)
    assert "wide.csv, line 3: a value is longer than 131,072 characters" in exc.value.message
    assert "import JSONL" in exc.value.message
    _unchanged(project, 20, 1)
