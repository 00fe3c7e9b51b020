"""Logical snapshot of every table, read in one transaction, and its reload.

Backend-neutral: a snapshot taken on SQLite restores into PostgreSQL and back.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, LargeBinary, delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from truelabel.domain.errors import Conflict, InvalidInput, ProjectError

from .queue_sql import TAKEN_STATUSES
from .tables import metadata

Row = dict[str, Any]


def table_order() -> list[str]:
    return [t.name for t in metadata.sorted_tables]


def snapshot(conn: Connection, *, batch: int = 20_000) -> Iterator[tuple[str, list[Row]]]:
    """Yield (table, rows) batches; binary columns are base64 text. Use inside one
    transaction (``Database.read``) so every table is read at the same moment."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    for table in metadata.sorted_tables:
        binary = [c.name for c in table.columns if isinstance(c.type, LargeBinary)]
        pk = list(table.primary_key.columns)
        result = conn.execution_options(yield_per=batch).execute(select(table).order_by(*pk))
        for part in result.partitions(batch):
            rows = []
            for r in part:
                d = {str(k): v for k, v in r._mapping.items()}
                for b in binary:
                    if d[b] is not None:
                        d[b] = base64.b64encode(d[b]).decode()
                rows.append(d)
            yield table.name, rows


def load(conn: Connection, table_name: str, rows: list[Row]) -> None:
    table = metadata.tables[table_name]
    binary = [c.name for c in table.columns if isinstance(c.type, LargeBinary)]
    for d in rows:
        for b in binary:
            if d.get(b) is not None:
                d[b] = base64.b64decode(d[b])
    if rows:
        try:
            conn.execute(insert(table), rows)
        except (SQLAlchemyError, Conflict, InvalidInput) as exc:  # refused by the database
            raise ProjectError(f"Rows of table {table_name} do not fit this database's "
                               "schema; restore with the truelabel version that made them.",
                               table=table_name, cause=type(exc).__name__) from exc


def revision(conn: Connection) -> str | None:
    """The schema's Alembic revision."""
    value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if value is None else str(value)


def clear(conn: Connection, table_name: str) -> None:
    """Delete every row of one table (inside the caller's transaction)."""
    conn.execute(delete(metadata.tables[table_name]))


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for other backends (and in-memory)."""
    return make_url(url).database if url.startswith("sqlite") else None


def is_empty(conn: Connection) -> bool:
    for name in ("users", "projects", "items"):
        if conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar():
            return False
    return True


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each serial id past the restored rows."""
    if conn.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        cols = [c for c in table.primary_key.columns]
        if (
            len(cols) == 1
            and cols[0].autoincrement is not False
            and str(cols[0].type).startswith("INTEGER")
        ):
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": cols[0].name}
            ).scalar()
            if seq:
                conn.execute(
                    text(
                        f"SELECT setval('{seq}', COALESCE((SELECT MAX({cols[0].name}) "
                        f"FROM {table.name}), 0) + 1, false)"
                    )
                )


def integrity_errors(conn: Connection) -> list[str]:
    """Database-level check (SQLite ``integrity_check``) plus truelabel's own invariants."""
    errors: list[str] = []
    if conn.dialect.name == "sqlite":
        res = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
        if res != ["ok"]:
            errors += res
    checks: list[tuple[str, str]] = [
        (
            "items whose n_done differs from their current annotations",
            "SELECT COUNT(*) FROM items i WHERE i.is_gold = FALSE AND i.n_done <> "
            "(SELECT COUNT(*) FROM annotations a WHERE a.item_id = i.id AND a.is_current = TRUE "
            "AND a.assignment_id IS NOT NULL)",
        ),
        (
            "items with more taken slots than active assignments",
            "SELECT COUNT(*) FROM items i WHERE i.is_gold = FALSE AND i.n_taken <> "
            "(SELECT COUNT(*) FROM assignments a WHERE a.item_id = i.id "
            f"AND a.status IN {TAKEN_STATUSES})",
        ),
        (
            "annotations sharing one idempotency key",
            "SELECT COUNT(*) FROM (SELECT user_id, idempotency_key FROM annotations "
            "GROUP BY user_id, idempotency_key HAVING COUNT(*) > 1) d",
        ),
    ]
    for what, sql in checks:
        n = conn.execute(text(sql)).scalar()
        if n:
            errors.append(f"{n} {what}")
    return errors


ProgressFn = Callable[[str, int], None]
