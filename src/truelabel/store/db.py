"""The database: engine set-up, one writer at a time, migrations.

Concurrency model (SQLite): WAL journal, readers in parallel, one writer per process at a time
through :meth:`Database.write` (a Python lock, then ``BEGIN IMMEDIATE``); other processes wait
on SQLite's busy timeout. ``synchronous=FULL`` so a committed submit survives a power cut.
PostgreSQL uses the same calls; the lock is skipped there and row locks do the work.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection as Connection  # re-exported: core annotates with it
from sqlalchemy import Engine, TextClause, create_engine, event, inspect, text
from sqlalchemy.exc import DisconnectionError

from truelabel.domain.environment import ASYNC_CONNECTIONS
from truelabel.domain.errors import ProjectError

from . import errors
from .loopstate import LoopState

_MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine plus the write discipline for it. Build with :meth:`open`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        self._write_lock = threading.RLock()
        self.async_connections = 0 if self.is_sqlite else async_connections()
        self._aidle: list[tuple[float, Any]] = []  # async connections, newest last
        self._alimits: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        #: the annotators' loop's process state (sweep clock, claim floors): reachable
        #: from each of this database's connections as ``loopstate.of(conn)``
        self.loop = LoopState()
        event.listen(engine, "connect", self._attach_loop)

    def _attach_loop(self, _dbapi_conn: Any, record: Any) -> None:
        record.info["tl_loop"] = self.loop

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        if url.startswith("sqlite"):
            _create_private(url)
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=16,
                max_overflow=32,
            )
            _sqlite_setup(engine)
        else:
            engine = create_engine(url, pool_size=20, max_overflow=40, pool_use_lifo=True)
            _ping_when_idle(engine)
        errors.install(engine)
        db = cls(engine)
        if migrate:
            db.migrate()
        return db

    def try_hold_writes(self) -> bool:
        """Take the process's write lock if it is free (SQLite); pair with release_writes."""
        return self._write_lock.acquire(blocking=False)

    def release_writes(self) -> None:
        self._write_lock.release()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        with self.write() as conn:
            upgrade(conn)

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    @contextmanager
    def write(self, *, bulk: bool = False, durable: bool = True) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite, committed on success.

        ``bulk`` (imports) or ``durable=False`` (leases, drafts): the commit is still atomic
        but not fsynced at once (``synchronous=NORMAL``); a power cut may lose that last
        transaction whole, never half of it. Submits stay fully durable.
        """
        bulk = bulk or not durable
        if self.is_sqlite:
            with self._write_lock, self.engine.connect() as conn:
                conn.info["tl_write"] = True
                raw = _driver(conn)
                if bulk:
                    raw.execute("PRAGMA synchronous=NORMAL")
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop("tl_write", None)
                    if bulk:
                        raw.execute("PRAGMA synchronous=FULL")
        else:
            with self.engine.begin() as conn:
                if bulk:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn

    @contextmanager
    def auto(self) -> Iterator[Connection]:
        """A connection whose every statement commits on its own, for the hot path's reads
        and (PostgreSQL only) its single-statement writes.

        On PostgreSQL this saves the BEGIN and COMMIT round trips of a transaction; each
        statement still sees one snapshot and is atomic. On SQLite, writes must go through
        :meth:`write` (the process's writer lock), so use this for reads there.
        """
        with self.engine.connect() as conn:
            if self.is_sqlite:
                yield conn
                return
            raw = _driver(conn)
            raw.autocommit = True  # client-side flag: no round trip
            try:
                yield conn
            finally:
                raw.autocommit = False

    @asynccontextmanager
    async def aconnect(self) -> AsyncIterator[Any]:
        """PostgreSQL: an async psycopg connection in autocommit mode, for the hot path
        served right on the event loop (each statement atomic, as with :meth:`auto`).

        Connections are kept for reuse (newest first, as the sync pool does), pinged only
        after :data:`IDLE_PING_SECONDS` unused, and at most :func:`async_connections` are in
        use per event loop; one that fails mid-statement is closed, not reused.
        """
        import psycopg

        loop = asyncio.get_running_loop()
        limit = self._alimits.get(loop)
        if limit is None:
            limit = self._alimits[loop] = asyncio.Semaphore(self.async_connections)
        async with limit:
            conn = None
            while conn is None:
                try:
                    used, conn = self._aidle.pop()
                except IndexError:  # none idle
                    break
                if conn.closed:
                    conn = None
                elif time.monotonic() - used >= IDLE_PING_SECONDS:
                    try:
                        await conn.execute("SELECT 1")
                    except psycopg.Error:
                        await conn.close()
                        conn = None
            if conn is None:
                with errors.translating():  # the database down: Unavailable, as elsewhere
                    conn = await psycopg.AsyncConnection.connect(
                        self._conninfo(options=HOT_OPTIONS), autocommit=True
                    )
            ok = False
            try:
                yield conn
                ok = True
            finally:
                idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                if (ok or idle) and not conn.closed and len(self._aidle) < self.async_connections:
                    self._aidle.append((time.monotonic(), conn))
                else:
                    await conn.close()

    def _conninfo(self, *, options: str = "") -> str:
        """The engine's URL as libpq connection parameters (its query string included, e.g.
        ``?host=/var/run/postgresql`` or ``?options=-c%20search_path%3Dx``), with
        ``options`` added to the URL's own."""
        from psycopg.conninfo import make_conninfo

        url = self.engine.url
        kw: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
        for key, value in url.query.items():
            kw[key] = value if isinstance(value, str) else value[-1]
        if options:
            kw["options"] = f"{kw.get('options', '')} {options}".strip()
        return make_conninfo(**kw)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        while self._aidle:
            _, conn = self._aidle.pop()
            conn.pgconn.finish()  # no event loop needed to hang up


def upgrade(conn: Connection) -> None:
    """Bring the schema to the newest revision inside the caller's transaction (both
    backends have transactional DDL: a rollback undoes it)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _create_private(url: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600).

    SQLite gives the ``-wal`` and ``-shm`` files it creates later the mode of the database
    file, so they are private too. An existing file keeps its mode (``chmod 600`` it).
    """
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a missing folder or no permission: SQLite says so in its own words
    os.close(fd)


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under a SQLAlchemy one (always there while it is open)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw


@functools.lru_cache(maxsize=1024)
def sql(statement: str) -> TextClause:
    """A cached ``text()`` construct: hot paths skip re-parsing their SQL on every call."""
    return text(statement)


def async_connections() -> int:
    """Async connections (``Database.aconnect``) in use at once per event loop (a worker
    process): ``TRUELABEL_ASYNC_CONNECTIONS``, default 2. On one 2-core machine two per
    worker served the most (2 workers, 50 clients: 703-804 cycles/s with 2, 666-708 with 4,
    613-666 with 8; more statements at once only contend inside PostgreSQL); raise it when
    PostgreSQL runs on another host, where each statement waits longer on the network."""
    raw = ASYNC_CONNECTIONS.read()
    n = int(raw) if raw.strip().isdecimal() else 0
    if not 1 <= n <= 64:
        raise ProjectError(
            f"TRUELABEL_ASYNC_CONNECTIONS must be a whole number from 1 to 64, not {raw!r}; "
            "unset it for the default, 2."
        )
    return n


#: Server options of the annotators' loop's async connections (``Database.aconnect``).
#: Every statement of the loop finds its rows through an index, but the planner picks a
#: sequential scan for a table its statistics call empty, and prepared statements keep that
#: plan: a new project's ``assignments`` and ``annotations`` start empty and grow by
#: thousands of rows a minute before autovacuum's ANALYZE catches up, and meanwhile each
#: claim scanned all of ``assignments`` once per item it walked past (statements of 1-35 s,
#: holding row locks that stalled a worker's submits). With this, a sequential scan is
#: planned only where no index serves; these connections run nothing else.
HOT_OPTIONS = "-c enable_seqscan=off"

#: A pooled connection unused this long is checked with a ping before it is handed out.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling that costs nothing under load.

    ``pool_pre_ping`` would spend a round trip on every checkout; connections in steady use
    were just seen working, so only one idle for :data:`IDLE_PING_SECONDS` (long enough for
    a server restart or an idle timeout to have closed it) is pinged. A dead one is
    replaced: the pool retries the checkout with a fresh connection.
    """

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        now = time.monotonic()
        last = record.info.get("tl_used")
        record.info["tl_used"] = now
        if last is None or now - last < IDLE_PING_SECONDS:
            return
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - any failure means: use another connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-16384")  # 16 MiB per connection
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("tl_write") else "BEGIN")
