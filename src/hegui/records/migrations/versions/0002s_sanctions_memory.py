"""sanctions and session memory: violations, ladder steps, encrypted recent turns, refused-prompt sketches

Revision ID: 0002s
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002s"
down_revision = "0001"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", BigInt, primary_key=True, autoincrement=True)


def _s(name: str, n: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(n), nullable=nullable)


def _t(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "sanction_violations",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("at", 32),
        _s("action", 16),
        _t("categories"),
        _s("request_id", 64, nullable=True),
        _s("session", 256, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sanction_violations"),
    )
    op.create_index("ix_sanction_violations_user", "sanction_violations", ["tenant", "user_id", "at"])
    op.create_table(
        "sanction_steps",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("at", 32),
        _s("previous", 16),
        _s("level", 16),
        sa.Column("violations", sa.Integer(), nullable=False),
        _t("reason"),
        _s("decided_by", 256),
        _s("request_id", 64, nullable=True),
        _s("until", 32, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sanction_steps"),
    )
    op.create_index("ix_sanction_steps_user", "sanction_steps", ["tenant", "user_id", "id"])
    op.create_table(
        "memory_turns",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("session", 256, nullable=True),
        _t("ciphertext"),
        _s("action", 16),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_memory_turns"),
    )
    op.create_index("ix_memory_turns_session", "memory_turns", ["tenant", "user_id", "session", "id"])
    op.create_index("ix_memory_turns_at", "memory_turns", ["at"])
    op.create_table(
        "memory_sketches",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("session", 256, nullable=True),
        _t("sketch"),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_memory_sketches"),
    )
    op.create_index("ix_memory_sketches_session", "memory_sketches", ["tenant", "user_id", "session", "id"])
    op.create_index("ix_memory_sketches_at", "memory_sketches", ["at"])


def downgrade() -> None:
    op.drop_index("ix_memory_sketches_at", table_name="memory_sketches")
    op.drop_index("ix_memory_sketches_session", table_name="memory_sketches")
    op.drop_table("memory_sketches")
    op.drop_index("ix_memory_turns_at", table_name="memory_turns")
    op.drop_index("ix_memory_turns_session", table_name="memory_turns")
    op.drop_table("memory_turns")
    op.drop_index("ix_sanction_steps_user", table_name="sanction_steps")
    op.drop_table("sanction_steps")
    op.drop_index("ix_sanction_violations_user", table_name="sanction_violations")
    op.drop_table("sanction_violations")
