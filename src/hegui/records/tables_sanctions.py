"""Tables of the end user's record kept by the gateway: the sanction ladder (Interim Measures art. 14:
every violation counted and every change of level, with who decided it and why) and the session memory
(recent turns, encrypted under the user's own data key, and MinHash sketches of refused prompts).

Timestamps are ISO-8601 UTC strings, like every other table. No table here holds readable user text:
violations and steps carry categories and reasons, memory turns are ciphertext, sketches are hashes.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base, BigInt


class SanctionViolationRow(Base):
    """One refused request of one end user: what the ladder counts. Never the text."""

    __tablename__ = "sanction_violations"
    __table_args__ = (Index("ix_sanction_violations_user", "tenant", "user_id", "at"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    at: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    categories: Mapped[str] = mapped_column(Text)  # JSON list of taxonomy ids
    request_id: Mapped[str | None] = mapped_column(String(64))
    session: Mapped[str | None] = mapped_column(String(256))


class SanctionStepRow(Base):
    """A recorded change of a user's level; the newest row (highest id) is the user's level."""

    __tablename__ = "sanction_steps"
    __table_args__ = (Index("ix_sanction_steps_user", "tenant", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    at: Mapped[str] = mapped_column(String(32))
    previous: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    violations: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[str | None] = mapped_column(String(32))


class MemoryTurnRow(Base):
    """A recent user turn of one session, encrypted under the user's data key (see `vault`)."""

    __tablename__ = "memory_turns"
    __table_args__ = (Index("ix_memory_turns_session", "tenant", "user_id", "session", "id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    session: Mapped[str | None] = mapped_column(String(256))
    ciphertext: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[str] = mapped_column(String(32), index=True)


class MemorySketchRow(Base):
    """A MinHash sketch of a prompt the session had refused: hashes and categories, never text."""

    __tablename__ = "memory_sketches"
    __table_args__ = (Index("ix_memory_sketches_session", "tenant", "user_id", "session", "id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(256))
    session: Mapped[str | None] = mapped_column(String(256))
    sketch: Mapped[str] = mapped_column(Text)  # JSON {"hashes": [...], "size": n, "categories": [...]}
    at: Mapped[str] = mapped_column(String(32), index=True)
