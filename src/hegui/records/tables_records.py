"""Tables of the records room: agreements, verification, consent events, user data keys, encrypted
conversations, the training pool (records, near-duplicate bands, rejections, tombstones), data-subject
requests and pool exports. Timestamps are ISO-8601 UTC strings, like the audit table. No table here
holds readable conversation content: turns are ciphertext, pool records are scrubbed and consented."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class AgreementVersionRow(Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (
        UniqueConstraint("tenant", "kind", "version", name="uq_agreement_versions_tenant_kind_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Each tenant publishes its own agreements (migration 0003t; older rows are "default"'s).
    tenant: Mapped[str] = mapped_column(String(128), server_default="default")
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[str] = mapped_column(String(32))


class AcceptanceRow(Base):
    __tablename__ = "agreement_acceptances"
    __table_args__ = (Index("ix_agreement_acceptances_user", "tenant", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    accepted_at: Mapped[str] = mapped_column(String(32))


class VerificationRow(Base):
    __tablename__ = "user_verifications"

    tenant: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    verified: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[str] = mapped_column(String(32))


class ConsentEventRow(Base):
    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_user", "tenant", "user_id", "purpose", "at"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(32))


class UserKeyRow(Base):
    """One wrapped data key per end user. Deleting the row is crypto-shredding."""

    __tablename__ = "user_keys"

    tenant: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    wrapped_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))


class ConversationTurnRow(Base):
    __tablename__ = "conversation_turns"
    __table_args__ = (
        Index("ix_conversation_turns_user", "tenant", "user_id"),
        # a replayed keep looks up what a request already stored (0005i)
        Index("ix_conversation_turns_request", "tenant", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    session: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[str] = mapped_column(Text)
    marks: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32), index=True)


class PoolRecordRow(Base):
    __tablename__ = "pool_records"
    __table_args__ = (
        Index("ix_pool_records_user", "tenant", "user_id"),
        Index("ix_pool_records_request", "tenant", "request_id"),  # tombstones by request (0005i)
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    channel: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    consent_event_id: Mapped[int | None] = mapped_column(BigInt)
    consent_basis: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[str] = mapped_column(String(64))
    minhash: Mapped[str] = mapped_column(Text)
    collected_at: Mapped[str] = mapped_column(String(32))
    admitted_at: Mapped[str] = mapped_column(String(32))


class PoolBandRow(Base):
    """LSH band keys of a pool record's MinHash: near-duplicate candidates share a key."""

    __tablename__ = "pool_bands"
    __table_args__ = (Index("ix_pool_bands_key", "tenant", "band_key"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(BigInt, index=True)
    tenant: Mapped[str] = mapped_column(String(128))
    band_key: Mapped[str] = mapped_column(String(40))


class PoolRejectionRow(Base):
    """Why a turn was not admitted. Holds no text."""

    __tablename__ = "pool_rejections"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(32), index=True)


class PoolTombstoneRow(Base):
    """A record that left the pool (withdrawal, deletion): later exports skip it, `check` flags it."""

    __tablename__ = "pool_tombstones"

    record_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[str] = mapped_column(String(32))


class DsrRequestRow(Base):
    __tablename__ = "dsr_requests"
    __table_args__ = (Index("ix_dsr_requests_status_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[str] = mapped_column(String(10))
    completed_at: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(Text)


class PoolExportRow(Base):
    __tablename__ = "pool_exports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    records: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))


class KeepJournalRow(Base):
    """What a request left to keep (its turn for the conversation store and the training pool), written in
    the same transaction as the request's audit entries and carried out after the response by the keep
    worker (records/keep.py), which deletes the row when done. The turn is ciphertext under the user's
    data key, like a stored turn: an erased user's pending rows cannot be read, and are dropped."""

    __tablename__ = "keep_journal"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    session: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    #: The prompt and the answer as one JSON object, sealed with the user's data key.
    ciphertext: Mapped[str] = mapped_column(Text)
    input_action: Mapped[str] = mapped_column(String(16))
    output_action: Mapped[str] = mapped_column(String(16))
    at: Mapped[str] = mapped_column(String(32))
    #: Which keep worker holds the row, since when (a crashed worker's claim expires), and how often it
    #: was tried (a row that keeps failing is given up, and logged, after a few attempts).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
