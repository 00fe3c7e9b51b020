"""API tokens get a scope and a last-used time; failed logins are counted in the database.

Existing tokens keep working as before: scope ``manage`` (everything their user's role
allows), their expiry unchanged (none unless one was chosen), and the name ``legacy``
(``legacy: <old name>`` when they had one), so the owner can tell them apart and revoke
them. Revoked tokens are deleted: since 0005 revoking deletes the row, so nothing can
bring a token back.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("scope", sa.String(length=20), nullable=False,
                                          server_default="manage"))
    op.add_column("api_tokens", sa.Column("last_used_at", sa.Float(), nullable=True))
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"], unique=False)
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM api_tokens WHERE revoked = TRUE"))
    conn.execute(sa.text("UPDATE api_tokens SET name = CASE WHEN name = '' THEN 'legacy' "
                         "ELSE substr('legacy: ' || name, 1, 200) END"))
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auth_failures_user", "auth_failures", ["username", "at"], unique=False)
    op.create_index("ix_auth_failures_address", "auth_failures", ["address", "at"],
                    unique=False)
    op.create_index("ix_auth_failures_at", "auth_failures", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("auth_failures")
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("scope")
