"""The data browser: saved views and the indexes its filters read.

``saved_views`` holds named filter sets (the browser's URL query) per project, owned by a
user and optionally shared with the project. The indexes let each filter list its items
from an index (``store/browse.py``): annotations by annotator and by submit time, reviews
by item and by decision, ground truth by field, items by import batch.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_annot_user", "annotations", ["project_id", "user_id", "item_id"]),
    ("ix_annot_created", "annotations", ["project_id", "created_at", "item_id"]),
    ("ix_reviews_item", "reviews", ["item_id"]),
    ("ix_reviews_decision", "reviews", ["project_id", "decision", "item_id"]),
    ("ix_gt_field", "ground_truth", ["project_id", "field"]),
    ("ix_items_batch", "items", ["batch_id"]),
)


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_saved_views_project", "saved_views", ["project_id", "name"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_saved_views_project", table_name="saved_views")
    op.drop_table("saved_views")
