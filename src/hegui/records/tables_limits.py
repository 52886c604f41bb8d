"""The quota an API key has of its own (``hegui keys limit``), replacing the policy's ``[limits.key]``.

One row per limited key; a key without a row has the policy's default. Zero means unlimited, as in
the policy."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hegui.records.tables import Base


class KeyLimitRow(Base):
    __tablename__ = "api_key_limits"

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    tokens_per_minute: Mapped[int] = mapped_column(Integer)
    concurrent_streams: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[str] = mapped_column(String(32))
