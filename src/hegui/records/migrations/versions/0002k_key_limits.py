"""key limits: an API key's own quota (requests, tokens per minute, concurrent streams)

Revision ID: 0002k
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002k"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_limits",
        sa.Column("key_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("tokens_per_minute", sa.Integer(), nullable=False),
        sa.Column("concurrent_streams", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_key_limits"),
    )


def downgrade() -> None:
    op.drop_table("api_key_limits")
