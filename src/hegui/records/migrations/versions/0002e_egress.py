"""egress: PIPL 39 separate consents, distinct persons exported per year, threshold alerts

Revision ID: 0002e
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002e"
down_revision = "0001"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _s(name: str, n: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(n), nullable=nullable)


def _t(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "egress_consents",
        sa.Column("id", BigInt, primary_key=True, autoincrement=True),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("upstream", 128),
        _s("recipient", 256),
        _s("contact", 256),
        _t("purpose"),
        _t("method"),
        _t("data_types"),
        _t("rights_process"),
        _s("source", 64),
        _s("granted_at", 32),
        _s("revoked_at", 32, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_egress_consents"),
    )
    op.create_index("ix_egress_consents_user", "egress_consents", ["tenant", "user_id"])
    op.create_table(
        "egress_persons",
        sa.Column("year", sa.Integer(), nullable=False, autoincrement=False),
        _s("person_hash", 64),
        _s("kind", 32),
        sa.Column("nonsensitive", sa.Boolean(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        _s("first_at", 32),
        sa.PrimaryKeyConstraint("year", "person_hash", name="pk_egress_persons"),
    )
    op.create_table(
        "egress_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer(), nullable=False),
        _s("counter", 16),
        _s("level", 40),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _s("at", 32),
        sa.Column("audited", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_egress_alerts"),
        sa.UniqueConstraint("year", "counter", "level", name="uq_egress_alerts_year_counter_level"),
    )


def downgrade() -> None:
    op.drop_table("egress_alerts")
    op.drop_table("egress_persons")
    op.drop_index("ix_egress_consents_user", table_name="egress_consents")
    op.drop_table("egress_consents")
