"""API keys: stored as SHA-256 hashes (the keys are 256-bit random, so a fast hash is enough); the
plaintext is shown once, at creation. Roles: ``client`` calls the model API; ``admin`` also manages."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, insert, select, update

from hegui.errors import RequestError
from hegui.records.audit import utc_now
from hegui.records.tables import ApiKeyRow

Role = Literal["client", "admin", "frontend", "reviewer"]
Channel = Literal["api", "chat"]
#: client: model traffic; admin: model traffic and records management; frontend: a chat frontend's
#: records writes for its own users (agreement acceptance, consent, DSR submission) and nothing else;
#: reviewer: the staff console without its admin-only actions (docs/console.md); no admin API.
ROLES: tuple[str, ...] = ("client", "admin", "frontend", "reviewer")
CHANNELS: tuple[str, ...] = ("api", "chat")
_PREFIX_LEN = 11  # "hg-" + 8 characters: enough to name a key in lists, useless for guessing it


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    prefix: str
    name: str
    tenant: str
    role: str
    channel: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


_COLS = select(
    ApiKeyRow.id,
    ApiKeyRow.prefix,
    ApiKeyRow.name,
    ApiKeyRow.tenant,
    ApiKeyRow.role,
    ApiKeyRow.channel,
    ApiKeyRow.created_at,
    ApiKeyRow.revoked_at,
)


class KeyStore:
    """Creates, lists, revokes and checks keys. Lookups are cached for ``cache_seconds`` (revocation by
    this process takes effect at once; by another replica, within that time, or at once when the
    replicas share events: ``on_change`` tells them, and they call `forget`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        cache_seconds: float = 5.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()
        self._on_change = on_change

    def forget(self) -> None:
        """Drop every cached lookup (a key changed in another process)."""
        with self._lock:
            self._cache.clear()

    def create(
        self, *, name: str, tenant: str = "default", role: str = "client", channel: str = "api"
    ) -> tuple[str, ApiKey]:
        if role not in ROLES:
            raise RequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}", param="role")
        if channel not in CHANNELS:
            raise RequestError(
                f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}", param="channel"
            )
        if not name.strip() or not tenant.strip():
            raise RequestError("name and tenant must not be empty")
        plaintext = "hg-" + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            conn.execute(
                insert(ApiKeyRow).values(
                    key_hash=_hash(plaintext),
                    prefix=plaintext[:_PREFIX_LEN],
                    name=name,
                    tenant=tenant,
                    role=role,
                    channel=channel,
                    created_at=utc_now(),
                    revoked_at=None,
                )
            )
            row = conn.execute(_COLS.where(ApiKeyRow.key_hash == _hash(plaintext))).one()
        return plaintext, ApiKey(**row._mapping)

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        query = _COLS.order_by(ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._engine.connect() as conn:
            return [ApiKey(**r._mapping) for r in conn.execute(query)]

    def count(self) -> int:
        return len(self.list(include_revoked=True))

    def revoke(self, ident: str) -> ApiKey:
        """Revoke the key whose id or prefix is ``ident``."""
        cond = ApiKeyRow.id == int(ident) if ident.isdigit() else ApiKeyRow.prefix == ident
        with self._engine.begin() as conn:
            rows = conn.execute(_COLS.where(cond)).all()
            if len(rows) != 1:
                raise RequestError(f"no single key matches {ident!r} ({len(rows)} found)", param="key")
            conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == rows[0].id).values(revoked_at=utc_now()))
            row = conn.execute(_COLS.where(ApiKeyRow.id == rows[0].id)).one()
        self.forget()
        if self._on_change is not None:
            self._on_change()
        return ApiKey(**row._mapping)

    def is_cached(self, plaintext: str) -> bool:
        """Whether `authenticate` would answer this key from the cache, without the database."""
        digest = _hash(plaintext)
        with self._lock:
            hit = self._cache.get(digest)
        return hit is not None and hit[0] > time.monotonic()

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key with this plaintext, or None."""
        digest = _hash(plaintext)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._engine.connect() as conn:
            row = conn.execute(_COLS.where(ApiKeyRow.key_hash == digest)).first()
        key = ApiKey(**row._mapping) if row is not None else None
        if key is not None and not key.active:
            key = None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self._cache_seconds, key)
        return key
