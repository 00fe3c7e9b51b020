"""Management in the browser: archived projects, guideline changelogs, what each member saw.

``projects.archived_at``: when an admin archived the project (NULL: active). An archived
project leaves the annotators' lists and gives no new tasks; its data stays.
``guideline_versions.note``: the changelog line a manager wrote with a new version.
``members.guidelines_seen``: the guideline version the member last acknowledged on the
labeling page (NULL: none yet), so newer versions are announced with their notes.

Revision ID: 0011
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("archived_at", sa.Float(), nullable=True))
    op.add_column("guideline_versions", sa.Column("note", sa.Text(), nullable=False,
                                                  server_default=""))
    op.add_column("members", sa.Column("guidelines_seen", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("guidelines_seen")
    with op.batch_alter_table("guideline_versions") as batch:
        batch.drop_column("note")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("archived_at")
