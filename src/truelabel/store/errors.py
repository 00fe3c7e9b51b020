"""The database driver's errors, translated into truelabel's own at the store's edge.

Only ``truelabel.store`` knows SQLAlchemy and the drivers (an import-linter contract says
so); what escapes it is a :class:`~truelabel.domain.errors.TruelabelError`:

- a unique key taken       -> :class:`AlreadyExists` (409), ``detail["constraint"]`` names it
- another integrity rule   -> :class:`ConstraintViolation` (409), the constraint named
- a value the column refuses (a number past 64 bits, …) -> :class:`InvalidInput` (422)
- the database locked, unreachable, restarting, or a transaction that lost a deadlock
                           -> :class:`Unavailable` (503, ``retry_after`` 1 s): try again

Anything else (a bug in truelabel's own SQL) passes through untranslated, so it is logged
and answered as an internal error. Messages never carry SQL or driver text.

:func:`install` hooks the translation into an engine (every statement SQLAlchemy runs, the
driver's cursor under it included); :func:`translated` is the same rule for errors raised
outside SQLAlchemy (``store.fast``'s direct cursor calls, the async psycopg connections).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError

from truelabel.domain.errors import (
    AlreadyExists,
    ConstraintViolation,
    InvalidInput,
    TruelabelError,
    Unavailable,
)

__all__ = ["install", "translated", "translating"]

#: SQLite's message for a taken key: "UNIQUE constraint failed: users.username"
_SQLITE_UNIQUE = re.compile(r"^UNIQUE constraint failed: (.+)$")
_SQLITE_RULE = re.compile(r"^(?:NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.+))?$")
#: PostgreSQL SQLSTATE classes / codes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_PG_UNIQUE = "23505"
_PG_OUT_OF_RANGE = "22003"
_PG_TOO_LONG = "22001"
_PG_TRANSIENT = ("08", "53", "57P", "40001", "40P01")

_AGAIN = "Try again in a moment; if it keeps happening, check that the database is running."


def translated(exc: BaseException) -> TruelabelError | None:
    """The domain error for a driver (DBAPI) or SQLAlchemy error, or None to let it pass."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if orig is None:
        return None
    mro = {c.__name__ for c in type(orig).__mro__}
    sqlstate = getattr(orig, "sqlstate", None) or ""
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    if text.endswith("is append-only"):  # the audit log's own triggers (migration 0003)
        return ConstraintViolation(
            "The audit log is append-only: its entries cannot be changed or deleted.",
            constraint="audit_log_append_only")
    if "IntegrityError" in mro:
        diag = getattr(orig, "diag", None)
        name = getattr(diag, "constraint_name", None)
        unique = _SQLITE_UNIQUE.match(text)
        if sqlstate == _PG_UNIQUE or unique:
            key = name or (unique.group(1) if unique else "a unique key")
            return AlreadyExists(
                f"That is already stored (unique key {key}); use another name or value, or "
                "fetch the stored one.", constraint=key)
        rule = _SQLITE_RULE.match(text)
        key = name or (rule.group(1) if rule and rule.group(1) else None) or (
            text.split(" constraint")[0].lower() + " constraint" if rule else "a constraint")
        return ConstraintViolation(
            f"The change breaks a rule of the database ({key}), perhaps because something it "
            "refers to changed meanwhile; reload and try again.", constraint=key)
    if "DataError" in mro:
        if sqlstate == _PG_TOO_LONG:
            return InvalidInput("A text in the request is longer than its field allows; "
                                "shorten it.")
        if sqlstate and sqlstate != _PG_OUT_OF_RANGE:
            return InvalidInput("A value in the request does not fit its field; check its "
                                "type and size.")
        return InvalidInput("A number in the request is out of range; ids and counts are "
                            "64-bit integers.")
    if "OperationalError" in mro:
        if "locked" in text.lower():
            return Unavailable(f"The database is busy (locked by another writer). {_AGAIN}",
                               reason="locked", retry_after=1)
        if "sqlite" not in type(orig).__module__ and (
            not sqlstate or sqlstate.startswith(_PG_TRANSIENT)
        ):
            return Unavailable(f"The database is unreachable or restarting. {_AGAIN}",
                               reason="unavailable", retry_after=1)
    return None


def install(engine: Engine) -> None:
    """Raise domain errors (above) instead of SQLAlchemy's from every statement the engine
    runs; the connection is cleaned up (rolled back, or dropped if it died) first."""

    @event.listens_for(engine, "handle_error")
    def _translate(ctx: ExceptionContext) -> BaseException | None:
        if ctx.is_pre_ping:
            return None
        return translated(ctx.sqlalchemy_exception or ctx.original_exception)


@contextmanager
def translating() -> Iterator[None]:
    """Translate driver errors raised inside the block (code that calls the driver itself)."""
    try:
        yield
    except Exception as exc:
        mine = translated(exc) if not isinstance(exc, TruelabelError) else None
        if mine is None:
            raise
        raise mine from exc

