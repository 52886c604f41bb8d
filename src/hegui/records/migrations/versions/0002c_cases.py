"""cases: complaints and their events, evidence, removed content, the improvement queue, authority
reports, refutations, console sessions

Revision ID: 0002c
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002c"
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
        "cases",
        _id(),
        _s("receipt", 32),
        _s("tenant", 128),
        _s("kind", 16),
        _s("state", 16),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        _s("reporter_name", 256),
        _s("reporter_contact", 256),
        _s("subject_produce_id", 128),
        _s("subject_user", 256),
        _s("subject_url", 2048),
        _t("description"),
        _s("assignee", 256),
        _s("decision", 32),
        _t("answer"),
        _s("received_at", 32),
        _s("due_date", 10),
        _s("answered_at", 32, nullable=True),
        _s("closed_at", 32, nullable=True),
        _s("updated_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("receipt", name="uq_cases_receipt"),
    )
    op.create_index("ix_cases_state_due", "cases", ["state", "due_date"])
    op.create_index("ix_cases_subject_produce_id", "cases", ["subject_produce_id"])
    op.create_table(
        "case_events",
        _id(),
        sa.Column("case_id", BigInt, nullable=False),
        _s("at", 32),
        _s("actor", 256),
        _s("event", 32),
        _s("from_state", 16),
        _s("to_state", 16),
        _t("detail"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "case_evidence",
        _id(),
        sa.Column("case_id", BigInt, nullable=False),
        _s("filename", 256),
        _s("media_type", 64),
        sa.Column("size", sa.Integer(), nullable=False),
        _s("sha256", 64),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_case_evidence"),
    )
    op.create_index("ix_case_evidence_case_id", "case_evidence", ["case_id"])
    op.create_table(
        "removed_content",
        _s("produce_id", 128),
        _s("tenant", 128),
        sa.Column("case_id", BigInt, nullable=True),
        _t("reason"),
        _s("by", 256),
        sa.Column("turns_erased", sa.Integer(), nullable=False),
        sa.Column("pool_tombstoned", sa.Integer(), nullable=False),
        _s("at", 32),
        sa.PrimaryKeyConstraint("produce_id", name="pk_removed_content"),
    )
    op.create_table(
        "improvement_queue",
        _id(),
        _s("tenant", 128),
        sa.Column("case_id", BigInt, nullable=True),
        _s("produce_id", 128),
        _s("category", 32),
        _t("prompt"),
        _t("answer"),
        _t("note"),
        _s("by", 256),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_improvement_queue"),
    )
    op.create_index("ix_improvement_queue_case_id", "improvement_queue", ["case_id"])
    op.create_table(
        "authority_reports",
        _id(),
        _s("tenant", 128),
        sa.Column("case_id", BigInt, nullable=True),
        _s("authority", 256),
        _s("reference", 128),
        _t("summary"),
        _s("reported_at", 32),
        _s("by", 256),
        _s("at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_authority_reports"),
    )
    op.create_index("ix_authority_reports_case_id", "authority_reports", ["case_id"])
    op.create_table(
        "refutations",
        _id(),
        _s("tenant", 128),
        sa.Column("case_id", BigInt, nullable=True),
        _s("title", 256),
        _t("body"),
        _s("by", 256),
        _s("published_at", 32),
        sa.PrimaryKeyConstraint("id", name="pk_refutations"),
    )
    op.create_index("ix_refutations_case_id", "refutations", ["case_id"])
    op.create_table(
        "console_sessions",
        _s("token_hash", 64),
        sa.Column("key_id", sa.Integer(), nullable=False),
        _s("tenant", 128),
        _s("role", 16),
        _s("csrf", 64),
        _s("created_at", 32),
        _s("expires_at", 32),
        _s("revoked_at", 32, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_console_sessions"),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_index("ix_refutations_case_id", table_name="refutations")
    op.drop_table("refutations")
    op.drop_index("ix_authority_reports_case_id", table_name="authority_reports")
    op.drop_table("authority_reports")
    op.drop_index("ix_improvement_queue_case_id", table_name="improvement_queue")
    op.drop_table("improvement_queue")
    op.drop_table("removed_content")
    op.drop_index("ix_case_evidence_case_id", table_name="case_evidence")
    op.drop_table("case_evidence")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_subject_produce_id", table_name="cases")
    op.drop_index("ix_cases_state_due", table_name="cases")
    op.drop_table("cases")
