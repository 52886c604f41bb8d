"""Taking a user's records out of the training pool: the records (their scrubbed text included) are
deleted and a tombstone keeps the record hash, so that later exports skip it and `check` can flag it in
older exports. Called inside the caller's transaction (withdrawal, deletion), never on its own."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from hegui.records.tables_records import PoolBandRow, PoolRecordRow, PoolTombstoneRow


def tombstone_user(conn: Connection, tenant: str, user: str, reason: str, at: str) -> int:
    """Tombstone every pool record of ``user``; returns how many left the pool."""
    cond = (PoolRecordRow.tenant == tenant) & (PoolRecordRow.user_id == user)
    rows = conn.execute(select(PoolRecordRow.id, PoolRecordRow.record_hash).where(cond)).all()
    if not rows:
        return 0
    conn.execute(
        insert(PoolTombstoneRow),
        [
            {"record_hash": r.record_hash, "tenant": tenant, "user_id": user, "reason": reason, "at": at}
            for r in rows
        ],
    )
    ids = [r.id for r in rows]
    for i in range(0, len(ids), 500):
        conn.execute(delete(PoolBandRow).where(PoolBandRow.record_id.in_(ids[i : i + 500])))
    conn.execute(delete(PoolRecordRow).where(cond))
    return len(rows)


def tombstone_reasons(conn: Connection, hashes: list[str]) -> dict[str, str]:
    """The tombstone reason of each of ``hashes`` that has one."""
    out: dict[str, str] = {}
    for i in range(0, len(hashes), 500):
        q = select(PoolTombstoneRow.record_hash, PoolTombstoneRow.reason).where(
            PoolTombstoneRow.record_hash.in_(hashes[i : i + 500])
        )
        out.update({r.record_hash: r.reason for r in conn.execute(q)})
    return out


def tombstone_request(conn: Connection, tenant: str, request_id: str, reason: str, at: str) -> int:
    """Tombstone the pool records of one response (a takedown by ProduceID); returns how many."""
    cond = (PoolRecordRow.tenant == tenant) & (PoolRecordRow.request_id == request_id)
    rows = conn.execute(
        select(PoolRecordRow.id, PoolRecordRow.record_hash, PoolRecordRow.user_id).where(cond)
    ).all()
    if not rows:
        return 0
    conn.execute(
        insert(PoolTombstoneRow),
        [
            {"record_hash": r.record_hash, "tenant": tenant, "user_id": r.user_id, "reason": reason, "at": at}
            for r in rows
        ],
    )
    conn.execute(delete(PoolBandRow).where(PoolBandRow.record_id.in_([r.id for r in rows])))
    conn.execute(delete(PoolRecordRow).where(cond))
    return len(rows)
