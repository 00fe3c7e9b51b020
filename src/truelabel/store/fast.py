"""The hot path's SQL, run on the driver's cursor inside the caller's transaction.

SQLAlchemy Core costs ~60 µs per statement (compiling, caching, result objects); the
annotators' loop runs ~15 statements per next+submit, so those statements go straight to the
DBAPI cursor of the same connection and transaction. Statements are written once with
``:name`` parameters; PostgreSQL's driver gets them as ``%(name)s``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import Connection

from .errors import translated

_PARAM = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@functools.lru_cache(maxsize=512)
def _for(dialect: str, statement: str) -> str:
    if dialect == "sqlite":
        return statement
    return _PARAM.sub(r"%(\1)s", statement.replace("%", "%%"))


def execute(conn: Connection, statement: str, params: dict[str, Any] | None = None) -> Any:
    """Run one statement on the connection's DBAPI cursor; returns the cursor.

    A driver error is translated as for a statement run through SQLAlchemy
    (``store.errors``): a unique violation raises ``AlreadyExists``, and so on."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(_for(conn.dialect.name, statement), params or {})
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        mine = translated(exc)
        if mine is None:
            raise
        raise mine from exc
    return cur


async def arows(aconn: Any, statement: str, params: dict[str, Any] | None = None
                ) -> list[dict[str, Any]]:
    """:func:`rows` on an async psycopg connection (``Database.aconnect``); every row of a
    statement that returns rows, else []."""
    import psycopg  # only ever called on PostgreSQL

    cur = aconn.cursor()
    try:
        await cur.execute(_for("postgresql", statement), params or {})
    except psycopg.Error as exc:
        mine = translated(exc)
        if mine is None:
            raise
        raise mine from exc
    res = cur.pgresult  # column names straight from the result: ``description`` builds
    if res is None or not res.nfields:  # a Column object per column, per statement
        return []
    names = [res.fname(i).decode() for i in range(res.nfields)]
    return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


def one(conn: Connection, statement: str, params: dict[str, Any] | None = None
        ) -> dict[str, Any] | None:
    cur = execute(conn, statement, params)
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def value(conn: Connection, statement: str, params: dict[str, Any] | None = None) -> Any:
    row = execute(conn, statement, params).fetchone()
    return None if row is None else row[0]


def rows(conn: Connection, statement: str, params: dict[str, Any] | None = None
         ) -> list[dict[str, Any]]:
    cur = execute(conn, statement, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def rowcount(conn: Connection, statement: str, params: dict[str, Any] | None = None) -> int:
    return int(execute(conn, statement, params).rowcount)
