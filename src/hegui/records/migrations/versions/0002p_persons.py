"""person registry: persons (names, aliases, pinyin, misspellings, kind) and their authorizations

Revision ID: 0002p
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002p"
down_revision = "0001"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", BigInt, primary_key=True, autoincrement=True)


def _s(name: str, n: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(n), nullable=nullable)


def _t(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "persons",
        _id(),
        _s("key", 128),
        _s("name", 256),
        _s("kind", 32),
        _t("aliases"),
        _t("pinyin"),
        _t("misspellings"),
        _t("note"),
        _s("created_at", 32),
        _s("updated_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("key", name="uq_persons_key"),
    )
    op.create_table(
        "person_authorizations",
        _id(),
        _s("auth_id", 64),
        _s("person_key", 128),
        _s("tenant", 128),
        _s("scope", 16),
        _t("purpose"),
        _s("grantor", 256),
        _t("evidence"),
        _s("evidence_sha256", 64, nullable=True),
        _s("granted_at", 32),
        _s("expires_at", 32, nullable=True),
        _s("revoked_at", 32, nullable=True),
        _s("revoked_by", 256, nullable=True),
        _t("revoke_reason", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_person_authorizations"),
        sa.UniqueConstraint("auth_id", name="uq_person_authorizations_auth_id"),
    )
    op.create_index(
        "ix_person_authorizations_person", "person_authorizations", ["person_key", "tenant", "scope"]
    )


def downgrade() -> None:
    op.drop_index("ix_person_authorizations_person", table_name="person_authorizations")
    op.drop_table("person_authorizations")
    op.drop_table("persons")
