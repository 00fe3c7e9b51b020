"""The claim-order seam: which items annotators are handed first.

The queue hands out open items by ``priority`` (higher first), then by item id
(docs/loop.md, "The claim order"). Whatever decides priorities — a manager, a file of
them, a sampler (active learning), a skill rule — sets them here, through one checked,
audit-logged, all-or-nothing write that every process's next claim sees at once. A
:class:`ClaimOrder` is a sampling strategy: it proposes priorities for a project's open
items; :func:`apply` writes them. Strategies are the "sampling strategies" slot of the
plug-in registry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from truelabel.domain.errors import InvalidInput, NotFound
from truelabel.store import projects as project_store
from truelabel.store import queue

if TYPE_CHECKING:
    from truelabel.domain.models import User

    from .context import ProjectContext, Service

#: priorities lie within ±this (so a sampler's scores fit, with room to spare)
MAX_PRIORITY = 1_000_000_000
#: the most items one call may set (a bigger set goes in several calls)
MAX_ITEMS = 1_000_000
#: the permission it takes (the manager's, as for pre-assigning items)
PERMISSION = "items.assign"


class ClaimOrder(Protocol):
    """A sampling strategy: proposes claim-order priorities for a project's open items."""

    #: the strategy's registered name
    name: str

    def priorities(self, item_ids: Sequence[int]) -> Mapping[int, int]:
        """Priority per item id (higher first; ids left out keep theirs)."""
        ...


class ItemIdOrder:
    """Item id order, the default: every priority back to 0."""

    name = "id"

    def priorities(self, item_ids: Sequence[int]) -> Mapping[int, int]:
        return dict.fromkeys(item_ids, 0)


class RandomOrder:
    """A uniformly random order (seeded: the same seed, the same order)."""

    name = "random"

    def __init__(self, seed: int = 0, spread: int = 1_000_000) -> None:
        self.seed, self.spread = seed, spread

    def priorities(self, item_ids: Sequence[int]) -> Mapping[int, int]:
        rng = random.Random(self.seed)
        return {i: rng.randrange(self.spread) for i in item_ids}


# Registered in the plug-in registry's ``sampling_strategies`` slot (``truelabel.plugins``):
# ``id`` (truelabel.id_order.v1) and ``random`` (truelabel.random_order.v1).


def _check(priorities: Mapping[int, int] | Mapping[str, int], what: str) -> None:
    if len(priorities) > MAX_ITEMS:
        raise InvalidInput(
            f"{len(priorities)} priorities in one call; set at most {MAX_ITEMS:,} at a time."
        )
    for key, value in priorities.items():
        if type(value) is not int or not -MAX_PRIORITY <= value <= MAX_PRIORITY:
            raise InvalidInput(
                f"The priority of {what} {key!r} is {value!r}; give a whole number from "
                f"{-MAX_PRIORITY:,} to {MAX_PRIORITY:,}. Nothing was changed.",
                field="priority",
            )


def set_priorities(
    project: ProjectContext | Service,
    priorities: Mapping[int, int] | None = None,
    *,
    by_external_id: Mapping[str, int] | None = None,
    actor: User | None = None,
    source: str = "manual",
) -> int:
    """Set items' claim-order priorities (``priorities``: item id → priority;
    ``by_external_id``: external id → priority). All or nothing: an unknown item or a
    priority out of range changes nothing. Audit-logged as ``items.priority`` with
    ``source`` (who decided: ``manual``, a file, a strategy's name). Returns the number of
    items set."""
    project.require(actor, PERMISSION)
    by_id = dict(priorities or {})
    by_ext = dict(by_external_id or {})
    _check(by_id, "item")
    _check(by_ext, "external id")
    if len(by_id) + len(by_ext) > MAX_ITEMS:
        raise InvalidInput(f"Set at most {MAX_ITEMS:,} priorities at a time.")
    with project.db.write() as conn:
        if by_ext:
            found = queue.item_ids_by_external(conn, project.id, list(by_ext))
            missing = [e for e in by_ext if e not in found]
            if missing:
                raise NotFound(
                    f"No item with external id {_some(missing)} in this project; "
                    "nothing was changed. Check the ids (or use item ids)."
                )
            for ext, value in by_ext.items():
                by_id[found[ext]] = value
        if by_id:
            known = queue.known_item_ids(conn, project.id, list(by_id))
            missing_ids = [i for i in by_id if i not in known]
            if missing_ids:
                raise NotFound(
                    f"No item {_some(missing_ids)} in this project; nothing was changed. "
                    "Check the item ids."
                )
        queue.set_priorities(conn, project_id=project.id, priorities=by_id)
        values = by_id.values()
        project_store.audit(
            conn, at=time.time(), user_id=actor.id if actor else None,
            action="items.priority", object_type="project", object_id=project.id,
            detail={"items": len(by_id), "source": source,
                    "lowest": min(values, default=None), "highest": max(values, default=None)},
        )
    return len(by_id)


def apply(
    project: ProjectContext | Service, order: ClaimOrder, *, actor: User | None = None
) -> int:
    """Let a strategy set the priorities of the project's open items."""
    project.require(actor, PERMISSION)
    with project.db.read() as conn:
        ids = queue.open_item_ids(conn, project.id)
    return set_priorities(project, order.priorities(ids), actor=actor, source=order.name)


def _some(keys: Sequence[object]) -> str:
    shown = ", ".join(repr(k) if isinstance(k, str) else str(k) for k in keys[:5])
    return shown + (f" (and {len(keys) - 5} more)" if len(keys) > 5 else "")
