"""Durable jobs: a job keeps what it was asked (``params``) so it can be restarted, its error,
a cancel request, the process running it and when that process last reported (``runner``,
``heartbeat_at``), how often it ran, and the file it wrote (``output``).

Jobs left ``running`` by a server that no longer runs are failed at the next start
("interrupted by a server restart — restart it").

Revision ID: 0007
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("params", "error", "cancel_requested", "runner", "heartbeat_at", "started_at",
           "attempts", "output")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("params", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("runner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("started_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                   server_default=sa.text("1")))
        batch.add_column(sa.Column("output", sa.Text(), nullable=True))
    op.create_index("ix_jobs_status", "jobs", ["status"], unique=False)
    op.create_index("ix_jobs_project", "jobs", ["project_id", "id"], unique=False)
    op.execute("UPDATE jobs SET status = 'failed', message = 'interrupted by a server restart' "
               "WHERE status = 'running'")


def downgrade() -> None:
    op.drop_index("ix_jobs_project", table_name="jobs")
    op.drop_index("ix_jobs_status", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
