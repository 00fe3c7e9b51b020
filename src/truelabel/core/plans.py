"""The PostgreSQL loop as plans of single statements (docs/loop.md).

A plan is a generator that yields (statement, parameters) and is sent back each statement's
rows; :func:`run_plan` feeds it from a sync connection (library, CLI), :func:`arun_plan` from an
async one (the server's event loop), so both share one implementation of the logic.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from truelabel.store import fast

if TYPE_CHECKING:
    from truelabel.store.db import Database

R = TypeVar("R")
#: yields (statement, parameters), is sent each statement's rows, returns R
Plan = Generator[tuple[str, dict[str, Any]], list[dict[str, Any]], R]


def run_plan(db: Database, plan: Plan[R]) -> R:
    """Run ``plan`` on a sync autocommit connection: each statement is its own transaction."""
    with db.auto() as conn:
        try:
            step = next(plan)
            while True:
                step = plan.send(fast.rows(conn, *step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def arun_plan(db: Database, plan: Plan[R]) -> R:
    """Run ``plan`` on an async connection, so the event loop serves others meanwhile."""
    async with db.aconnect() as conn:
        try:
            step = next(plan)
            while True:
                step = plan.send(await fast.arows(conn, *step))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
