"""Who gets which item, and in what order (``project.assignments``): pre-assigning items to an
annotator and the claim order's priorities (docs/loop.md; the seam is :mod:`.claim_order`)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from truelabel.domain.errors import InvalidInput, NotFound
from truelabel.domain.models import User
from truelabel.store import items as item_store
from truelabel.store import queue

from . import claim_order
from .claim_order import ClaimOrder
from .context import Service


class AssignmentService(Service):
    """Pre-assigned items (``queued``: handed out before the pool) and claim priorities."""

    name = "assignments"

    def assign(self, item_ids: list[int], user: User | str, *, actor: User | None = None) -> int:
        """Queue given items for one annotator (they get them before the pool)."""
        self.require(actor, "items.assign")
        u = self.ws.get_user(user) if isinstance(user, str) else user
        if self.role_of(u) is None:
            raise InvalidInput(f"{u.username} is not a member of this project; add them first.")
        p = self._settings()
        n = 0
        with self.db.write() as conn:
            for iid in item_ids:
                if item_store.get_item(conn, self.id, iid) is None:
                    raise NotFound(f"No item {iid} in this project; nothing was assigned.")
                queue.take_item(
                    conn,
                    project_id=self.id,
                    item_id=iid,
                    user_id=u.id,
                    overlap=int(p["overlap"]),
                    status="queued",
                    lease_seconds=None,
                    now=time.time(),
                )
                n += 1
        return n

    def set_priorities(
        self,
        priorities: Mapping[int, int] | None = None,
        *,
        by_external_id: Mapping[str, int] | None = None,
        actor: User | None = None,
        source: str = "manual",
    ) -> int:
        """Set items' claim-order priorities: higher first, then item id (docs/loop.md).
        See :func:`.claim_order.set_priorities`; a manager's permission."""
        return claim_order.set_priorities(
            self, priorities, by_external_id=by_external_id, actor=actor, source=source
        )

    def apply_claim_order(self, order: ClaimOrder, *, actor: User | None = None) -> int:
        """Let a sampling strategy (:class:`.claim_order.ClaimOrder`) set the priorities of
        the open items."""
        return claim_order.apply(self, order, actor=actor)
