"""audit entry MACs: the key id and HMAC of each entry, and the head's MAC

Revision ID: 0002a
Revises: 0001
Create Date: 2026-11-30

Entries written before this revision (or without HEGUI_AUDIT_KEY) keep NULL in both columns; the verifier
reports them as unauthenticated, up to the first entry that carries a MAC.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002a"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("key_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("mac")
        batch.drop_column("key_id")
