"""The claim order: a per-item priority (higher first, then item id) and its index.

Items get ``priority`` (default 0, so the order of existing projects stays item id) and
projects ``claim_version``, bumped whenever priorities change so every process's claim
floor is checked against it (docs/loop.md, "The claim order"). The partial index of open
items becomes (project_id, priority DESC, id), keeping "next open item" an index seek.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("priority", sa.Integer(), nullable=False,
                                     server_default=sa.text("0")))
    op.add_column("projects", sa.Column("claim_version", sa.Integer(), nullable=False,
                                        server_default=sa.text("0")))
    op.drop_index("ix_items_open", table_name="items")
    op.create_index("ix_items_claim", "items",
                    ["project_id", sa.text("priority DESC"), "id"], unique=False,
                    sqlite_where=sa.text("open = 1"), postgresql_where=sa.text("open = 1"))


def downgrade() -> None:
    op.drop_index("ix_items_claim", table_name="items")
    op.create_index("ix_items_open", "items", ["project_id", "id"], unique=False,
                    sqlite_where=sa.text("open = 1"), postgresql_where=sa.text("open = 1"))
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("claim_version")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("priority")
