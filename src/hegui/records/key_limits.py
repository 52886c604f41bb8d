"""Per-key quotas (`KeyLimits`): set and cleared by ``hegui keys limit``, read by the rate limiter.

The table is small (a row per limited key), so a gateway holds all of it and reads it again when it
is older than ``refresh_seconds`` or when another process says a key changed (a ``key-changed``
event). Reading happens off the event loop (`refresh` blocks); `quota` never touches the database.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, delete, insert, select

from hegui.cluster.config import Quota
from hegui.errors import RequestError
from hegui.records.audit import utc_now
from hegui.records.keys import KeyStore
from hegui.records.tables_limits import KeyLimitRow


class KeyLimits:
    """Every key's own quota, cached in process memory."""

    def __init__(self, engine: Engine, *, refresh_seconds: float = 5.0) -> None:
        self._engine = engine
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._quotas: dict[int, Quota] = {}
        self._loaded = float("-inf")

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._loaded > self.refresh_seconds

    def expire(self) -> None:
        """Read again at the next request (another process changed a key)."""
        self._loaded = float("-inf")

    def refresh(self) -> None:
        """Read every key's quota from the database (blocks)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    KeyLimitRow.key_id,
                    KeyLimitRow.requests_per_minute,
                    KeyLimitRow.tokens_per_minute,
                    KeyLimitRow.concurrent_streams,
                )
            ).all()
        quotas = {
            r.key_id: Quota(
                requests_per_minute=r.requests_per_minute,
                tokens_per_minute=r.tokens_per_minute,
                concurrent_streams=r.concurrent_streams,
            )
            for r in rows
        }
        with self._lock:
            self._quotas = quotas
            self._loaded = time.monotonic()

    def quota(self, key_id: int) -> Quota | None:
        """The key's own quota, None when it has none (the policy's ``[limits.key]`` applies)."""
        with self._lock:
            return self._quotas.get(key_id)

    def set(self, keys: KeyStore, ident: str, quota: Quota | None) -> int:
        """Give the key (id or prefix) its own quota, or with None take it away; returns the key id."""
        matches = [k for k in keys.list(include_revoked=True) if str(k.id) == ident or k.prefix == ident]
        if len(matches) != 1:
            raise RequestError(f"no single key matches {ident!r} ({len(matches)} found)", param="key")
        key_id = matches[0].id
        with self._engine.begin() as conn:
            conn.execute(delete(KeyLimitRow).where(KeyLimitRow.key_id == key_id))
            if quota is not None:
                conn.execute(
                    insert(KeyLimitRow).values(
                        key_id=key_id,
                        requests_per_minute=quota.requests_per_minute,
                        tokens_per_minute=quota.tokens_per_minute,
                        concurrent_streams=quota.concurrent_streams,
                        updated_at=utc_now(),
                    )
                )
        self.expire()
        return key_id

    def all(self) -> dict[int, Quota]:
        self.refresh()
        with self._lock:
            return dict(self._quotas)
