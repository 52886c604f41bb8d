"""Tables of cross-border egress control: PIPL 39 separate consents, distinct persons exported per
calendar year (salted hashes only, never a value), and the threshold alerts raised. Timestamps are
ISO-8601 UTC strings, like every other table."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class EgressConsentRow(Base):
    """A separate consent (PIPL 39) with what the person was told (XB-02)."""

    __tablename__ = "egress_consents"
    __table_args__ = (Index("ix_egress_consents_user", "tenant", "user_id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    #: The policy upstream the consent covers, or "*" for every foreign upstream.
    upstream: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str] = mapped_column(String(256))
    contact: Mapped[str] = mapped_column(String(256))
    purpose: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    data_types: Mapped[str] = mapped_column(Text)  # JSON list
    rights_process: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))


class EgressPersonRow(Base):
    """One distinct person exported in one counting year."""

    __tablename__ = "egress_persons"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    person_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    nonsensitive: Mapped[bool] = mapped_column(Boolean)
    sensitive: Mapped[bool] = mapped_column(Boolean)
    first_at: Mapped[str] = mapped_column(String(32))


class EgressAlertRow(Base):
    """A threshold reached: raised once per year, counter and level; ``audited`` once in the chain."""

    __tablename__ = "egress_alerts"
    __table_args__ = (
        UniqueConstraint("year", "counter", "level", name="uq_egress_alerts_year_counter_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    counter: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(32))
    audited: Mapped[bool] = mapped_column(Boolean)
