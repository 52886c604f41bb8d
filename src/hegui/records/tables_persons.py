"""Tables of the person registry: registered persons and their authorizations (docs/persons.md).

Persons belong to the whole deployment (one registry); an authorization belongs to one tenant and one
scope. An authorization is never deleted or edited: a revocation fills ``revoked_at``, ``revoked_by``
and ``revoke_reason``, so what was allowed when can always be shown. Times are ISO-8601 UTC strings.
"""

from __future__ import annotations

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class PersonRow(Base):
    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("key", name="uq_persons_key"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[str] = mapped_column(Text)  # JSON list
    pinyin: Mapped[str] = mapped_column(Text)  # JSON list
    misspellings: Mapped[str] = mapped_column(Text)  # JSON list
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class PersonAuthorizationRow(Base):
    __tablename__ = "person_authorizations"
    __table_args__ = (
        UniqueConstraint("auth_id", name="uq_person_authorizations_auth_id"),
        Index("ix_person_authorizations_person", "person_key", "tenant", "scope"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    auth_id: Mapped[str] = mapped_column(String(64))
    person_key: Mapped[str] = mapped_column(String(128))
    tenant: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text)
    grantor: Mapped[str] = mapped_column(String(256))
    evidence: Mapped[str] = mapped_column(Text)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[str | None] = mapped_column(String(256))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
