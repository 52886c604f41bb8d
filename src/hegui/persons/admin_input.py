"""What the person-registry admin routes share: checked text fields, evidence digests, expiry times."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hegui.errors import RequestError
from hegui.gateway.admin_input import text_field

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{name!r} must be a non-empty string", param=name)
    return text_field(value, name, limit)


def _expiry(body: dict[str, Any]) -> datetime | None:
    value = _text(body, "expires_at", 64, required=False)
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError("'expires_at' must be an ISO time with its zone", param="expires_at") from None
    if at.tzinfo is None:
        raise RequestError("'expires_at' must carry its time zone", param="expires_at")
    return at


def evidence_digest(body: dict[str, Any]) -> str | None:
    """The optional ``evidence_sha256`` field: 64 lowercase hex digits, or absent."""
    digest = _text(body, "evidence_sha256", 64, required=False)
    if digest is not None and not _SHA256.match(digest):
        raise RequestError("'evidence_sha256' must be 64 lowercase hex digits", param="evidence_sha256")
    return digest
