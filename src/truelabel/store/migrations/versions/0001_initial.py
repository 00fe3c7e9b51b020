"""Initial schema: users, projects, schema and guideline versions, items, queue, annotations.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Before the first release the initial schema is tables.py itself. Once a release ships,
    # freeze these definitions here and change tables.py only through new revisions.
    from truelabel.store.tables import metadata

    metadata.create_all(op.get_bind())


def downgrade() -> None:
    from truelabel.store.tables import metadata

    metadata.drop_all(op.get_bind())
