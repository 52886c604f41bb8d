"""indexes on (tenant, request_id) of the conversation store and the pool: keeping a turn looks up what
its request already stored, and without an index that lookup read the whole table (measured by
benchmarks/soak.py: throughput fell from 66 to 15 requests/s over 15 minutes of kept turns)

Revision ID: 0005i
Revises: 0004k
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005i"
down_revision = "0004k"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversation_turns_request", "conversation_turns", ["tenant", "request_id"])
    op.create_index("ix_pool_records_request", "pool_records", ["tenant", "request_id"])


def downgrade() -> None:
    op.drop_index("ix_pool_records_request", table_name="pool_records")
    op.drop_index("ix_conversation_turns_request", table_name="conversation_turns")
