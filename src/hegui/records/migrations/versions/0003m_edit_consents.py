"""edit consents: the separate consent of a person whose face or voice is edited (DS-02)

Revision ID: 0003m
Revises: 0002p
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003m"
down_revision = "0002p"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _s(name: str, n: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(n), nullable=nullable)


def _t(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "edit_consents",
        sa.Column("id", BigInt, primary_key=True, autoincrement=True),
        _s("consent_id", 64),
        _s("tenant", 128),
        _s("subject", 256),
        _s("person_key", 128, nullable=True),
        _s("scopes", 128),
        _t("purpose"),
        _s("consented_by", 256),
        _t("evidence"),
        _s("evidence_sha256", 64, nullable=True),
        _s("recorded_by", 256),
        _s("granted_at", 32),
        _s("expires_at", 32, nullable=True),
        _s("revoked_at", 32, nullable=True),
        _s("revoked_by", 256, nullable=True),
        _t("revoke_reason", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_edit_consents"),
        sa.UniqueConstraint("consent_id", name="uq_edit_consents_consent_id"),
    )
    op.create_index("ix_edit_consents_tenant_person", "edit_consents", ["tenant", "person_key"])


def downgrade() -> None:
    op.drop_index("ix_edit_consents_tenant_person", table_name="edit_consents")
    op.drop_table("edit_consents")
