"""Revoking a recorded grant (a person's authorization, an edited person's consent): the row is kept
with who revoked it, when and why, so that what was allowed at any moment can still be shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.orm import InstrumentedAttribute

from hegui.errors import RecordNotFound, RequestError
from hegui.records.sanctions_store import iso, storage_errors


def revoke_row(
    engine: Engine,
    id_column: InstrumentedAttribute[str],
    row_id: str,
    *,
    what: str,
    by: str,
    reason: str,
    at: datetime | None = None,
    tenant: str | None = None,
) -> Row[Any]:
    """Mark the row whose ``id_column`` is ``row_id`` revoked and return it as it is now. ``what`` names
    the record in errors ("authorization", "edit consent"). Revoking twice is an error; with ``tenant``,
    another tenant's row is not found (the admin API's isolation)."""
    if not by.strip() or not reason.strip():
        raise RequestError("a revocation needs who revokes and why")
    when = iso(at or datetime.now(UTC))
    table = id_column.class_.__table__
    doing = f"revoking an {what}" if what[0] in "aeiou" else f"revoking a {what}"
    with storage_errors(doing), engine.begin() as conn:
        row = conn.execute(select(table).where(id_column == row_id)).one_or_none()
        if row is None or (tenant is not None and row.tenant != tenant):
            raise RecordNotFound(f"no {what} {row_id!r}")
        if row.revoked_at is not None:
            raise RequestError(f"{what} {row_id!r} was already revoked at {row.revoked_at}")
        conn.execute(
            update(table)
            .where(id_column == row_id)
            .values(revoked_at=when, revoked_by=by, revoke_reason=reason)
        )
        return conn.execute(select(table).where(id_column == row_id)).one()
