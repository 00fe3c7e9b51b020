"""Media files belong to projects: which project may serve which blob.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "digest"),
    )
    # backfill: ownership was kept as settings rows "media:<project>:<digest>" before 0004
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT key, value FROM settings WHERE key LIKE 'media:%'"))
    import json

    for key, value in rows.fetchall():
        _, project_id, digest = key.split(":", 2)
        meta = json.loads(value)
        conn.execute(
            sa.text("INSERT INTO media (project_id, digest, size, content_type, uploaded_by, "
                    "created_at) VALUES (:p, :d, :s, 'application/octet-stream', :u, :t)"),
            {"p": int(project_id), "d": digest, "s": meta.get("size", 0),
             "u": meta.get("by"), "t": meta.get("at", 0)},
        )
    conn.execute(sa.text("DELETE FROM settings WHERE key LIKE 'media:%'"))


def downgrade() -> None:
    op.drop_table("media")
