"""The item lifecycle state: ``items.state`` (docs/lifecycle.md) and its index.

Existing items get the state their rows imply, in this order (a later rule wins):
queued; in_progress when an answer is in or a lease is held; rejected when an answer was
rejected and the item still wants answers; submitted when enough answers are in; in_review
when the project has review stages and no answer of it was accepted or corrected yet;
in_adjudication / decided from the adjudication queue. Sign-offs are project-wide and left
out: no existing item is signed_off.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_WANT = "COALESCE(items.target, (SELECT p.overlap FROM projects p WHERE p.id = items.project_id))"

BACKFILL = (
    "UPDATE items SET state = 'in_progress' WHERE n_done > 0 OR EXISTS (SELECT 1 FROM "
    "assignments a WHERE a.item_id = items.id AND a.status = 'leased')",
    "UPDATE items SET state = 'rejected' WHERE n_done < " + _WANT + " AND NOT EXISTS ("
    "SELECT 1 FROM assignments a WHERE a.item_id = items.id AND a.status = 'leased') AND "
    "EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = items.id AND a.status = 'rejected')",
    "UPDATE items SET state = 'submitted' WHERE n_done > 0 AND n_done >= " + _WANT,
    "UPDATE items SET state = 'in_review' WHERE state = 'submitted' AND EXISTS (SELECT 1 FROM "
    "projects p WHERE p.id = items.project_id AND p.settings LIKE '%\"review_stages\": [{%' "
    "OR p.settings LIKE '%\"review_stages\":[{%') AND NOT EXISTS (SELECT 1 FROM reviews r "
    "WHERE r.item_id = items.id AND r.decision IN ('accept', 'correct'))",
    "UPDATE items SET state = 'in_adjudication' WHERE EXISTS (SELECT 1 FROM adjudications j "
    "WHERE j.item_id = items.id AND j.status = 'open')",
    "UPDATE items SET state = 'decided' WHERE EXISTS (SELECT 1 FROM adjudications j "
    "WHERE j.item_id = items.id AND j.status = 'decided')",
)


def upgrade() -> None:
    op.add_column("items", sa.Column("state", sa.String(length=20), nullable=False,
                                     server_default="queued"))
    for statement in BACKFILL:
        op.execute(statement)
    op.create_index("ix_items_state", "items", ["project_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_items_state", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("state")
