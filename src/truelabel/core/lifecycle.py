"""The item lifecycle state machine applied (``domain/lifecycle.py``, docs/lifecycle.md).

The loop (lease, submit, skip, lease expiry, overlap changes) keeps ``items.state`` in the
SET clauses of its own statements (``store.queue_sql``), so the hot path pays nothing
extra. The steps of reviewers and managers go through :func:`step`, inside their write
transaction: it reads the state (row-locked on PostgreSQL), refuses a transition the table
does not allow with :class:`IllegalTransition`, and writes the new state.
"""

from __future__ import annotations

from typing import Any

from truelabel.domain.errors import IllegalTransition, NotFound
from truelabel.domain.lifecycle import DECIDED, ItemEvent, ItemState, allowed
from truelabel.store import lifecycle as lc_store

#: what the refusal says to do, by the state that refused
_HINT = {
    ItemState.DECIDED: "a manager decided its label; it takes no more annotator or "
                       "review work",
    ItemState.SIGNED_OFF: "the project was signed off with it finished",
    ItemState.QUEUED: "nobody has answered it yet",
}


def check(conn: Any, project_id: int, item_id: int, event: ItemEvent) -> ItemState:
    """The item's state, if ``event`` may happen to it now; else :class:`IllegalTransition`."""
    raw = lc_store.state_of(conn, project_id, item_id)
    if raw is None:
        raise NotFound(f"No item {item_id} in this project.")
    state = ItemState(raw)
    if not allowed(state, event):
        hint = _HINT.get(state, "reload it to see where it stands")
        raise IllegalTransition(
            f"Item {item_id} is {state.value.replace('_', ' ')}, where "
            f"{event.value.replace('_', ' ')!r} is not allowed: {hint}. Reload the item to see "
            "its state."
        )
    return state


def step(conn: Any, project_id: int, item_id: int, event: ItemEvent,
         to: ItemState | None = None, *, strict: bool = True) -> ItemState:
    """Apply ``event`` to the item: its new state (``to`` when the table leaves a choice;
    otherwise the only target, or the current state when that is among the targets).
    ``strict=False``: an event the state does not take changes nothing (follow-up work
    that may have been overtaken, e.g. an adjudication opened for an item rejected since)."""
    try:
        state = check(conn, project_id, item_id, event)
    except IllegalTransition:
        if strict:
            raise
        return ItemState(lc_store.state_of(conn, project_id, item_id) or "queued")
    targets = allowed(state, event)
    if to is None:
        to = next(iter(targets)) if len(targets) == 1 else state
    if to not in targets:
        raise IllegalTransition(
            f"Item {item_id} cannot go from {state.value} to {to.value} on "
            f"{event.value}; reload the item to see its state."
        )
    if to is not state:
        if to is DECIDED:
            lc_store.close_item(conn, item_id, to.value)
        else:
            lc_store.set_state(conn, item_id, to.value)
    return to
