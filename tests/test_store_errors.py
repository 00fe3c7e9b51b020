"""The store's edge: driver errors leave it as truelabel's own errors, on both backends."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from helpers import PASSWORD, PG_URL, SCHEMA, make_items, open_workspace
from truelabel import Workspace
from truelabel.errors import AlreadyExists, Conflict, TruelabelError, Unavailable
from truelabel.store import accounts, fast, queue
from truelabel.store.db import Connection, Database

_DRIVER_WORDS = ("[SQL:", "sqlite3", "psycopg", "sqlalchemy", "INSERT INTO", "IntegrityError")


def _clean(exc: TruelabelError) -> None:
    """A translated error says what to do and carries no SQL or driver text."""
    assert exc.message and not any(w in exc.message for w in _DRIVER_WORDS), exc.message


def _user(conn: Connection, name: str) -> int:
    return accounts.add_user(conn, username=name, display_name="", password_hash="x",
                             role="annotator", now=time.time())


def test_a_taken_unique_key_is_already_exists_and_nothing_is_written(tmp_path: Path) -> None:
    with open_workspace(tmp_path) as ws:
        with ws.db.write() as conn:
            _user(conn, "ann")
        with pytest.raises(AlreadyExists) as ei:
            with ws.db.write() as conn:
                _user(conn, "bob")  # written, then rolled back with the failing statement
                _user(conn, "ann")
        assert "username" in ei.value.detail["constraint"]
        assert ei.value.status == 409 and ei.value.code == "already_exists"
        _clean(ei.value)
        assert [u["username"] for u in ws.list_users()] == ["ann"]


def test_the_hot_paths_cursor_translates_too(tmp_path: Path) -> None:
    """``store.fast`` runs SQL on the driver's cursor, past SQLAlchemy; same translation."""
    with open_workspace(tmp_path) as ws:
        with ws.db.write() as conn:
            _user(conn, "ann")
        with pytest.raises(AlreadyExists) as ei, ws.db.write() as conn:
            fast.execute(conn, "INSERT INTO users (username, display_name, password_hash, "
                               "role, disabled, created_at) VALUES (:u, '', 'x', 'annotator', "
                               "FALSE, 0)", {"u": "ann"})
        assert "username" in ei.value.detail["constraint"]
        _clean(ei.value)


def test_core_answers_a_taken_name_in_its_own_words(ws: Workspace) -> None:
    ws.add_user("ann", PASSWORD)
    with pytest.raises(AlreadyExists, match="already exists") as ei:
        ws.add_user("ann", PASSWORD)
    assert ei.value.detail == {"field": "username"}
    ws.create_project("support", SCHEMA)
    with pytest.raises(AlreadyExists, match="exists") as ei:
        ws.create_project("support", SCHEMA)
    assert ei.value.detail == {"field": "name"}


def test_a_second_review_at_one_stage_is_a_conflict(ws: Workspace) -> None:
    p = ws.create_project("support", SCHEMA, overlap=1)
    p.import_records(make_items(2))
    p.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 1.0}])
    ann = ws.add_user("ann", PASSWORD)
    rev = ws.add_user("rev", PASSWORD, role="reviewer")
    p.add_member(ann, "annotator")
    p.add_member(rev, "reviewer")
    t = p.next_task(ann)
    assert t is not None
    a = p.submit(t.id, {"intent": "refund"}, ann)
    p.review(a.id, "accept", rev)
    with pytest.raises(Conflict, match="already reviewed at stage 'peer'"):
        p.review(a.id, "accept", rev)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's writer lock")
def test_a_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = Database.open(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(Unavailable) as ei, db.read() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=50")
            _user(conn, "ann")
        assert ei.value.status == 503 and ei.value.detail["reason"] == "locked"
        _clean(ei.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.dispose()


def test_an_unreachable_postgresql_is_unavailable() -> None:
    db = Database.open("postgresql+psycopg://nobody:x@127.0.0.1:9/none?connect_timeout=2",
                       migrate=False)
    try:
        with pytest.raises(Unavailable) as ei, db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert ei.value.detail["reason"] == "unavailable"
        _clean(ei.value)
    finally:
        db.dispose()


def test_unavailable_is_a_503_with_retry_after_at_the_edge() -> None:
    from truelabel.server.errors import error_response

    r = error_response(Unavailable("The database is busy. Try again.", retry_after=1))
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert b'"error":"unavailable"' in r.body


def test_a_broken_reference_is_a_constraint_violation(tmp_path: Path) -> None:
    from truelabel.errors import ConstraintViolation

    with open_workspace(tmp_path) as ws:
        with pytest.raises(ConstraintViolation) as ei, ws.db.write() as conn:
            accounts.set_member(conn, project_id=424242, user_id=424242, role="annotator")
        assert ei.value.status == 409 and ei.value.detail["constraint"]
        _clean(ei.value)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL enforces VARCHAR lengths; SQLite does not")
def test_a_value_too_long_for_its_column_is_invalid_input(tmp_path: Path) -> None:
    from truelabel.errors import InvalidInput

    with open_workspace(tmp_path) as ws:
        with pytest.raises(InvalidInput, match="longer") as ei, ws.db.write() as conn:
            _user(conn, "x" * 300)
        _clean(ei.value)


def test_a_submit_that_loses_the_key_race_answers_as_its_twin(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's AlreadyExists (the unique key ux_annot_idem) reaches the submit's race
    path, which answers from the stored twin, not with the raw taken-key error."""
    p = ws.create_project("support", SCHEMA, overlap=1)
    p.import_records(make_items(3))
    ann = ws.add_user("ann", PASSWORD)
    p.add_member(ann, "annotator")
    t1 = p.next_task(ann)
    assert t1 is not None
    p.submit(t1.id, {"intent": "refund"}, ann, key="k-race")
    t2 = p.next_task(ann)
    assert t2 is not None
    real, hidden = queue.find_by_key, [2]

    def racing(conn: Connection, user_id: int, key: str) -> object:
        if hidden[0]:  # the twin is on another connection: the checks do not see it yet
            hidden[0] -= 1
            return None
        return real(conn, user_id, key)

    monkeypatch.setattr(queue, "find_by_key", racing)
    with pytest.raises(Conflict, match="already used for another task"):
        p.submit(t2.id, {"intent": "refund"}, ann, key="k-race")
    if ws.db.is_sqlite:
        assert hidden == [0]  # the checks ran and the insert met the unique key
