"""Staff console sessions: an admin key is shown once, at login; after that a session cookie.

The cookie holds a random token; the database holds its SHA-256 (a dump opens no session), the key
it was opened with, the role, a CSRF token and the expiry. Every request re-checks that the key is still
active, so revoking the key ends its sessions. The cookie is HttpOnly (no script can read it),
SameSite=Strict (no other site's page can send it), Path=/console, and Secure over HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from hegui.cases.tables import ConsoleSessionRow
from hegui.records.audit import utc_now
from hegui.records.tables import ApiKeyRow

COOKIE = "hegui_console"
LIFETIME = timedelta(hours=8)
_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True, slots=True)
class StaffSession:
    key_id: int
    key_prefix: str
    tenant: str
    role: str
    csrf: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_prefix}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, key_id: int, tenant: str, role: str) -> tuple[str, str]:
    """A new session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(ConsoleSessionRow).values(
                token_hash=_hash(token),
                key_id=key_id,
                tenant=tenant,
                role=role,
                csrf=csrf,
                created_at=now.strftime(_FMT),
                expires_at=(now + LIFETIME).strftime(_FMT),
            )
        )
    return token, csrf


def lookup(engine: Engine, token: str | None) -> StaffSession | None:
    """The live session of ``token``: not expired, not closed, and its key still active."""
    if not token:
        return None
    s, k = ConsoleSessionRow, ApiKeyRow
    q = (
        select(
            s.key_id,
            k.prefix,
            s.tenant,
            s.role,
            s.csrf,
            s.expires_at,
            s.revoked_at,
            k.revoked_at.label("key_revoked"),
        )
        .join(k, k.id == s.key_id)
        .where(s.token_hash == _hash(token))
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if (
        row is None
        or row.revoked_at is not None
        or row.key_revoked is not None
        or row.expires_at <= utc_now()
    ):
        return None
    return StaffSession(row.key_id, row.prefix, row.tenant, row.role, row.csrf)


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.token_hash == _hash(token))
            .values(revoked_at=utc_now())
        )


def csrf_ok(session: StaffSession, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(session.csrf.encode(), sent.encode())
