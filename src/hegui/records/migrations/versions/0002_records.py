"""records: agreements, verification, consent, user keys, conversations, training pool, DSR

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(name: str = "id", big: bool = True) -> sa.Column[int]:
    return sa.Column(name, BigInt if big else sa.Integer(), primary_key=True, autoincrement=True)


def _s(name: str, n: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(n), nullable=nullable)


def _t(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agreement_versions",
        _id(big=False),
        _s("kind", 16),
        _s("version", 64),
        _t("text"),
        _s("published_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_versions"),
        sa.UniqueConstraint("kind", "version", name="uq_agreement_versions_kind_version"),
    )
    op.create_table(
        "agreement_acceptances",
        _id(big=False),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("kind", 16),
        _s("version", 64),
        _s("channel", 8),
        _s("accepted_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_acceptances"),
    )
    op.create_index("ix_agreement_acceptances_user", "agreement_acceptances", ["tenant", "user_id"])
    op.create_table(
        "user_verifications",
        _s("tenant", 128),
        _s("user_id", 256),
        sa.Column("verified", sa.Boolean(), nullable=False),
        _s("method", 64),
        _s("updated_at", 32),
        sa.PrimaryKeyConstraint("tenant", "user_id", name="pk_user_verifications"),
    )
    op.create_table(
        "consent_events",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("purpose", 32),
        sa.Column("granted", sa.Boolean(), nullable=False),
        _s("channel", 8),
        _s("source", 64),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_consent_events"),
    )
    op.create_index("ix_consent_events_user", "consent_events", ["tenant", "user_id", "purpose", "at"])
    op.create_table(
        "user_keys",
        _s("tenant", 128),
        _s("user_id", 256),
        _t("wrapped_key"),
        _s("created_at", 32),
        sa.PrimaryKeyConstraint("tenant", "user_id", name="pk_user_keys"),
    )
    op.create_table(
        "conversation_turns",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("session", 256, nullable=True),
        _s("request_id", 64),
        _s("role", 16),
        _t("ciphertext"),
        _t("marks"),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_turns"),
    )
    op.create_index("ix_conversation_turns_user", "conversation_turns", ["tenant", "user_id"])
    op.create_index("ix_conversation_turns_at", "conversation_turns", ["at"])
    op.create_table(
        "pool_records",
        _id(),
        _s("record_hash", 64),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("channel", 8),
        _s("request_id", 64),
        _t("prompt"),
        _t("answer"),
        sa.Column("consent_event_id", BigInt, nullable=True),
        _s("consent_basis", 32),
        _s("rules_version", 64),
        _t("minhash"),
        _s("collected_at", 32),
        _s("admitted_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_pool_records"),
        sa.UniqueConstraint("record_hash", name="uq_pool_records_record_hash"),
    )
    op.create_index("ix_pool_records_user", "pool_records", ["tenant", "user_id"])
    op.create_table(
        "pool_bands",
        _id(),
        sa.Column("record_id", BigInt, nullable=False),
        _s("tenant", 128),
        _s("band_key", 40),
        sa.PrimaryKeyConstraint("id", name="pk_pool_bands"),
    )
    op.create_index("ix_pool_bands_key", "pool_bands", ["tenant", "band_key"])
    op.create_index("ix_pool_bands_record_id", "pool_bands", ["record_id"])
    op.create_table(
        "pool_rejections",
        _id(),
        _s("tenant", 128),
        _s("user_id", 256, nullable=True),
        _s("request_id", 64),
        _s("reason", 32),
        _t("detail"),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_pool_rejections"),
    )
    op.create_index("ix_pool_rejections_request_id", "pool_rejections", ["request_id"])
    op.create_index("ix_pool_rejections_at", "pool_rejections", ["at"])
    op.create_table(
        "pool_tombstones",
        _s("record_hash", 64),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("reason", 32),
        _s("at", 32),
        sa.PrimaryKeyConstraint("record_hash", name="pk_pool_tombstones"),
    )
    op.create_table(
        "dsr_requests",
        _id(big=False),
        _s("tenant", 128),
        _s("user_id", 256),
        _s("kind", 16),
        _s("status", 16),
        _t("detail"),
        _s("received_at", 32),
        _s("due_date", 10),
        _s("completed_at", 32, nullable=True),
        _t("outcome", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dsr_requests"),
    )
    op.create_index("ix_dsr_requests_status_due", "dsr_requests", ["status", "due_date"])
    op.create_table(
        "pool_exports",
        _s("id", 32),
        _t("path"),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        _s("created_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_pool_exports"),
    )


def downgrade() -> None:
    for name in (
        "pool_exports",
        "dsr_requests",
        "pool_tombstones",
        "pool_rejections",
        "pool_bands",
        "pool_records",
        "conversation_turns",
        "user_keys",
        "consent_events",
        "user_verifications",
        "agreement_acceptances",
        "agreement_versions",
    ):
        op.drop_table(name)
