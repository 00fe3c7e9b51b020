"""The annotator's page: when and how often an assignment was skipped
(``assignments.released_at``: undo's grace period, the skipped list; ``skips``: a skipped
item comes back to its skipper once), and per-item questions to the managers
(``questions``).

Revision ID: 0010
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("released_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("skips", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False, server_default="open"),
        sa.Column("answer", sa.Text(), nullable=False, server_default=""),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_questions_project", "questions", ["project_id", "status", "id"])
    op.create_index("ix_questions_user", "questions", ["user_id", "project_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_questions_user", table_name="questions")
    op.drop_index("ix_questions_project", table_name="questions")
    op.drop_table("questions")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("skips")
        batch.drop_column("released_at")
