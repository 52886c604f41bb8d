"""The cases room's tables. Timestamps are ISO-8601 UTC strings, dates ISO dates, as in every room.

Evidence files are kept in the database (bounded by ``[cases] evidence_max_bytes``), so that a case and
its evidence are backed up, replicated and deleted together, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_state_due", "state", "due_date"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    tenant: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    reporter_name: Mapped[str] = mapped_column(String(256))
    reporter_contact: Mapped[str] = mapped_column(String(256))
    subject_produce_id: Mapped[str] = mapped_column(String(128), index=True)
    subject_user: Mapped[str] = mapped_column(String(256))
    subject_url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str] = mapped_column(String(256))
    decision: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[str] = mapped_column(String(10))
    answered_at: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class CaseEventRow(Base):
    """A change of state, a note or an action on a case; the audit chain holds the same, hashed."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigInt, index=True)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(256))
    event: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)


class CaseEvidenceRow(Base):
    __tablename__ = "case_evidence"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigInt, index=True)
    filename: Mapped[str] = mapped_column(String(256))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[str] = mapped_column(String(32))


class RemovedContentRow(Base):
    """Generated content taken down: its ProduceID resolves to "removed" from then on."""

    __tablename__ = "removed_content"

    produce_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(BigInt)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(256))
    turns_erased: Mapped[int] = mapped_column(Integer)
    pool_tombstoned: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(32))


class ImprovementItemRow(Base):
    """A prompt/answer queued for model improvement (Interim Measures art. 14: 模型优化训练)."""

    __tablename__ = "improvement_queue"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    produce_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(256))
    at: Mapped[str] = mapped_column(String(32))


class AuthorityReportRow(Base):
    """A report made to the competent authority: what, when, to whom, under which reference."""

    __tablename__ = "authority_reports"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    authority: Mapped[str] = mapped_column(String(256))
    reference: Mapped[str] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(256))
    at: Mapped[str] = mapped_column(String(32))


class RefutationRow(Base):
    """A published refutation of a rumour (Deep Synthesis Provisions: 辟谣), shown on /refutations."""

    __tablename__ = "refutations"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(BigInt, index=True)
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(256))
    published_at: Mapped[str] = mapped_column(String(32))


class ConsoleSessionRow(Base):
    """A staff console session: only the token's hash is stored, so a database dump opens no session."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
