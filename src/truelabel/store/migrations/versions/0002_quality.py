"""Quality assurance: gold answers, review decisions, adjudication, ground truth, sign-offs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adjudications",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_adjudications_project_id", "adjudications", ["project_id"])
    op.create_table(
        "gold",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_gold_project_id", "gold", ["project_id"])
    op.create_table(
        "ground_truth",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("contributors", sa.Text(), server_default="[]", nullable=False),
        sa.Column("computed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "field"),
    )
    op.create_index("ix_ground_truth_project_id", "ground_truth", ["project_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("annotation_id", "stage", name="ux_review_stage"),
    )
    op.create_index("ix_reviews_project", "reviews", ["project_id", "stage"])
    op.create_table(
        "signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signoffs_project_id", "signoffs", ["project_id"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("is_gold", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("target", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("target")
        batch.drop_column("is_gold")
    for table in ("signoffs", "reviews", "ground_truth", "gold", "adjudications"):
        op.drop_table(table)
