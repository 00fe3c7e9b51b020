"""What one process remembers about the annotators' loop on one database.

One :class:`LoopState` per :class:`~.db.Database` (``db.loop``), so two databases (or two
workspaces on one) never share it and nothing of the loop is a module global. It is
reachable from any of that database's connections (:func:`of`), so the queue functions
that reopen items can tell it without their callers passing it along.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from .queue_sql import TOP_PRIORITY


class Floor(NamedTuple):
    """A claim-order position before which no item of the project was open a moment ago,
    seen at the project's ``version`` of priorities (``projects.claim_version``)."""

    priority: int
    item_id: int
    version: int


def top(version: int) -> Floor:
    """The position before every item: walk from the start."""
    return Floor(TOP_PRIORITY, 0, version)


class LoopState:
    """The expired-lease sweep's clock and the per-project claim floors (docs/loop.md).

    PostgreSQL keeps the index entries of items taken since its last VACUUM (marked dead,
    but still walked): a claim walking the open-items index from the start would wade
    through every item taken so far. So the process remembers, per project, the first open
    item in the claim order a moment ago, and claims start there. A floor lives a second;
    it is dropped as soon as this process reopens an item (a skip, an expired lease, a
    rejection, a raised overlap); an item another process reopens is offered here within
    the second, and a claim finding nothing after the floor looks from the start. A raised
    priority is seen at once: the claim statement checks the floor's ``version`` against
    the project's, and a claim on a stale floor is not attempted.
    """

    #: seconds between sweeps of expired leases, and a floor's lifetime
    SWEEP_EVERY = 1.0
    FLOOR_LIFE = 1.0

    def __init__(self) -> None:
        self._last_sweep = 0.0
        self._floors: dict[int, tuple[float, Floor]] = {}
        self._lock = threading.Lock()

    def sweep_due(self, now: float) -> bool:
        """True at most once a :attr:`SWEEP_EVERY`: time to expire lapsed leases."""
        with self._lock:
            if now - self._last_sweep < self.SWEEP_EVERY:
                return False
            self._last_sweep = now
            return True

    def floor(self, project_id: int, now: float) -> Floor | None:
        """The remembered floor, or None when it is due a refresh."""
        hit = self._floors.get(project_id)
        if hit is not None and 0 <= now - hit[0] < self.FLOOR_LIFE:
            return hit[1]
        return None

    def remember(self, project_id: int, now: float, row: dict[str, Any] | None) -> Floor:
        """Keep the floor read by ``queue_sql.FLOOR`` (its row; None: no such project)."""
        if row is None or row["id"] is None:
            floor = top(int(row["version"]) if row else 0)
        else:
            floor = Floor(int(row["priority"]), int(row["id"]), int(row["version"]))
        self._floors[project_id] = (now, floor)
        return floor

    def forget(self, project_id: int) -> None:
        """Drop the project's floor (its priorities changed): the next claim reads it anew."""
        self._floors.pop(project_id, None)

    def reopened(self) -> None:
        """An item went back to the pool: claims walk from the start again."""
        self._floors.clear()


def of(conn: Any) -> LoopState:
    """The loop state of the database ``conn`` belongs to (set on each of its connections
    by ``Database``)."""
    state: LoopState = conn.info["tl_loop"]
    return state
