"""Test data shared by the test modules."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from truelabel import Workspace

#: Set to a PostgreSQL URL (``postgresql+psycopg://…``) to run the suite on PostgreSQL;
#: ``./dev test`` does this in its second pass.
PG_URL = os.environ.get("TRUELABEL_TEST_DATABASE_URL", "")


def wait_until(cond: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` seconds pass; returns its last value's
    truth (callers assert on it, or on what they waited for)."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            return False
        time.sleep(0.01)
    return True


def backend_name() -> str:
    if PG_URL:
        return "postgresql (" + PG_URL.rsplit("@", 1)[-1] + ")"
    return "sqlite (embedded)"


@contextmanager
def open_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace on the backend under test (a fresh schema on PostgreSQL)."""
    if not PG_URL:
        ws = Workspace.init(tmp_path / "ws")
        try:
            yield ws
        finally:
            ws.close()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    ws = Workspace.open(f"{PG_URL}{sep}options=-csearch_path%3D{schema}",
                        blob_url=str(tmp_path / "blobs"))
    try:
        yield ws
    finally:
        ws.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

SCHEMA: dict[str, Any] = {
    "title": "support",
    "fields": [
        {"name": "intent", "type": "choice", "options": ["refund", "shipping", "other"]},
        {"name": "tags", "type": "multi_choice", "options": ["urgent", "vip"], "required": False},
        {"name": "entities", "type": "spans", "labels": ["ORG", "PRODUCT"], "required": False},
        {"name": "note", "type": "text", "required": False},
        {"name": "quality", "type": "rating", "scale": 5, "required": False},
    ],
}
PASSWORD = "correct-horse-1"


def make_items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": f"m{i}", "text": f"Order {i} from ACME arrived broken"}
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def error_body(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer's error body, after checking its status, its one shape and its code."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) <= {"error", "message", "detail"} and body["message"]
    if code:
        assert body["error"] == code
    return dict(body)
