"""Table of edit consents (DS-02, Deep Synthesis Provisions Art. 14): the separate consent of a person
whose face or voice a user edits, recorded before the edit is served (docs/persons.md).

A consent belongs to one tenant; it names the edited person (``subject``, and ``person_key`` when the
person is in the registry), the scopes it covers (``likeness``, ``voice``, ``brand``, ``document``), who
gave it, the evidence and until when. It is never edited or deleted: a revocation fills ``revoked_at``,
``revoked_by`` and ``revoke_reason``. Times are ISO-8601 UTC strings.
"""

from __future__ import annotations

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class EditConsentRow(Base):
    __tablename__ = "edit_consents"
    __table_args__ = (
        UniqueConstraint("consent_id", name="uq_edit_consents_consent_id"),
        Index("ix_edit_consents_tenant_person", "tenant", "person_key"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    consent_id: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(256))
    person_key: Mapped[str | None] = mapped_column(String(128))
    scopes: Mapped[str] = mapped_column(String(128))  # comma-separated
    purpose: Mapped[str] = mapped_column(Text)
    consented_by: Mapped[str] = mapped_column(String(256))
    evidence: Mapped[str] = mapped_column(Text)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(256))
    granted_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[str | None] = mapped_column(String(256))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
