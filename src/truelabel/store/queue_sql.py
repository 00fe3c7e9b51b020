"""The queue rule, stated once: the SQL fragments every statement of the loop is built from.

Both backends' statements (:mod:`.queue` for SQLite's transaction, :mod:`.queue_pg` for
PostgreSQL's single statements, and the ``has_open`` column of ``projects.hot_sql``) are
assembled from these, so the open/taken rule and the claim order have one spelling.
``docs/loop.md`` is the specification they implement.
"""

from __future__ import annotations

#: Assignment statuses that hold one of the item's overlap slots: ``items.n_taken`` counts
#: them (``skipped``, ``expired`` and ``rejected`` gave theirs back).
TAKEN_STATUSES = "('queued', 'leased', 'submitted')"

#: Assignment statuses after which the same user may be handed the item again (a lapsed
#: lease, rejected work). Any other status means the user "has had" the item.
FREED_STATUSES = "('expired', 'rejected')"

#: The claim order: higher ``priority`` first, then item id (``ix_items_claim`` walks it).
#: Format with the items alias.
CLAIM_ORDER = "{t}.priority DESC, {t}.id"

#: ``TOP``: a claim-order position before every item (no floor: walk from the start).
TOP_PRIORITY = 2**31 - 1


def open_item(t: str) -> str:
    """The item (alias ``t``) is in the pool: below its overlap and not gold."""
    return f"{t}.open = 1"


def claim_order(t: str) -> str:
    return CLAIM_ORDER.format(t=t)


def not_had(item_id: str) -> str:
    """The user ``:u`` has not had the item ``item_id`` (an SQL expression) yet."""
    return (
        f"NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = {item_id} "
        f"AND a.user_id = :u AND a.status NOT IN {FREED_STATUSES})"
    )


def lease_live(a: str) -> str:
    """The assignment (alias ``a``) is a lease that has not expired at ``:now``."""
    return f"{a}.status = 'leased' AND {a}.lease_expires_at > :now"


#: The lease is past its expiry at ``:now`` (the sweep returns it to the pool).
LEASE_LAPSED = "status = 'leased' AND lease_expires_at < :now"


def holds_open(a: str) -> str:
    """The assignment (alias ``a``) is the user's open task: a live lease or a queued item."""
    return f"(({lease_live(a)}) OR {a}.status = 'queued')"


# -- the lifecycle state (domain/lifecycle.py, docs/lifecycle.md) kept by the loop's own
# statements: each is a CASE over the row being updated, so it costs no extra statement. Only
# the states of open work (queued, in_progress, rejected) move here; the others are left.

#: The item's overlap: its own target, else the project's (a primary-key lookup).
WANT = "COALESCE(target, (SELECT p.overlap FROM projects p WHERE p.id = items.project_id))"

#: SET clause: a lease (or an assignment) puts open work in progress.
LEASE_STATE = (
    "state = CASE WHEN state IN ('queued', 'rejected') THEN 'in_progress' ELSE state END"
)

#: SET clause, beside ``n_done = n_done + 1``: the answer that completes the overlap makes
#: the item submitted, an earlier one leaves it in progress.
SUBMIT_STATE = (
    "state = CASE WHEN state NOT IN ('queued', 'in_progress', 'rejected') THEN state "
    f"WHEN n_done + 1 >= {WANT} THEN 'submitted' ELSE 'in_progress' END"
)

#: SET clause, beside :data:`RETURN_SLOTS` ``{n}``: a skip or lapsed lease leaves the item in
#: progress while another slot is held or answered, else rejected (if an answer of it was
#: rejected) or queued.
RETURN_STATE = (
    "state = CASE WHEN state <> 'in_progress' THEN state WHEN n_taken - {n} > 0 "
    "THEN 'in_progress' WHEN EXISTS (SELECT 1 FROM assignments r WHERE r.item_id = items.id "
    "AND r.status = 'rejected') THEN 'rejected' ELSE 'queued' END"
)

#: SET clause: the overlap changed (``{want}``: the new overlap expression); finished items
#: that now want more answers go back to work, unfinished ones with enough are submitted.
REWANT_STATE = (
    "state = CASE WHEN state IN ('submitted', 'in_review') AND n_done < {want} "
    "THEN CASE WHEN n_taken > 0 THEN 'in_progress' ELSE 'queued' END "
    "WHEN state IN ('queued', 'in_progress') AND n_done > 0 AND n_done >= {want} "
    "AND n_taken <= n_done THEN 'submitted' ELSE state END"
)

#: SET clause: count one more slot taken; the item leaves the pool at its overlap
#: (``{overlap}``: an SQL expression, the project's overlap) or at once when gold.
TAKE_SLOT = (
    "n_taken = n_taken + 1, open = CASE WHEN is_gold = TRUE "
    "OR n_taken + 1 >= COALESCE(target, {overlap}) THEN 0 ELSE 1 END, " + LEASE_STATE
)

#: SET clause: give ``{n}`` of an item's slots back to the pool (gold items are outside the
#: pool: a statement using this adds ``AND is_gold = FALSE``); a decided item stays closed.
RETURN_SLOTS = (
    "n_taken = n_taken - {n}, open = CASE WHEN state IN ('decided', 'signed_off') "
    "THEN 0 ELSE 1 END"
)
RETURN_SLOT = RETURN_SLOTS.format(n="1")

#: SET clause: recompute ``open`` against the overlap ``:k`` (or the item's own target).
REOPEN = (
    "open = CASE WHEN is_gold = FALSE AND n_taken < COALESCE(target, :k) "
    "AND state NOT IN ('decided', 'signed_off') THEN 1 ELSE 0 END"
)

#: The upsert of a claim: a user's earlier assignment to the item is reused only when it
#: was freed (``FREED_STATUSES``); otherwise the insert yields no row.
REASSIGN = (
    "ON CONFLICT (item_id, user_id) DO UPDATE SET status = excluded.status, "
    "lease_expires_at = excluded.lease_expires_at "
    f"WHERE assignments.status IN {FREED_STATUSES}"
)

#: SQLite (under the writer lock, so this read is the claim): the user's first item in the
#: claim order.
POOL_CANDIDATE = (
    f"SELECT i.id FROM items i WHERE i.project_id = :p AND {open_item('i')} "
    f"AND {not_had('i.id')} ORDER BY {claim_order('i')} LIMIT 1"
)


def pool_walk(gate: str = "") -> str:
    """PostgreSQL: the user's first item in the claim order at or after the floor
    (``:fp`` priority, ``:fid`` item id), row-locked, skipping rows other claims hold.

    Two index range scans of ``ix_items_claim``, in order: the floor's priority from its
    item id on, then every lower priority. ``OFFSET 0`` keeps each a separate plan, and
    each row gets a locking probe: left to itself the planner reads the primary key from
    the start and filters out every item already taken, which grows with the project's
    history (7 ms after 19k claims on 1M items, against 0.4 ms this way). ``gate``: an
    extra condition on both scans (e.g. ``AND EXISTS (...)``)."""
    scan = f"SELECT o.id FROM items o WHERE o.project_id = :p AND {open_item('o')}{gate} AND "
    return (
        f"SELECT x.id FROM (({scan}o.priority = :fp AND o.id >= :fid ORDER BY o.id OFFSET 0) "
        f"UNION ALL ({scan}o.priority < :fp ORDER BY {claim_order('o')} OFFSET 0)) w, "
        f"LATERAL (SELECT i.id FROM items i WHERE i.id = w.id AND {open_item('i')} "
        f"AND {not_had('i.id')} FOR UPDATE OF i SKIP LOCKED) x LIMIT 1"
    )


#: The first open item in the claim order (the floor), with the project's claim version.
FLOOR = (
    "SELECT p.claim_version AS version, f.priority, f.id FROM projects p LEFT JOIN "
    f"(SELECT o.priority, o.id FROM items o WHERE o.project_id = :p AND {open_item('o')} "
    f"ORDER BY {claim_order('o')} LIMIT 1) f ON TRUE WHERE p.id = :p"
)
