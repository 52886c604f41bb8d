"""Data-subject requests (PIPL 44–47, IM 11): access/copy, correction, deletion, withdrawal of consent.

A request is due `dsr_deadline_days` working days (default 15) after the day it was received, counted on
the Chinese working-day calendar of the maintained ``chinese-calendar`` package (adjusted working
weekends count, national holidays do not). A year the package has no data for is an error, never a
guess. Every request and every outcome is an entry in the audit chain. Deletion is one transaction:
the user's data key (crypto-shredding), their stored turns, their pool records (tombstoned) and a
withdrawal event all go together or not at all. Consent events and agreement acceptances stay: they
prove the lawful basis of what was done before, and hold no content.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
from sqlalchemy import Engine, delete, insert, select, update

from hegui.errors import RecordNotFound, RequestError
from hegui.records.agreements import acceptances, is_verified
from hegui.records.audit import AuditDraft, AuditSink, direct_sink, utc_now
from hegui.records.consent import history, record_consent
from hegui.records.conversations import turns_of
from hegui.records.memory_store import erase_memory
from hegui.records.tables_records import (
    ConsentEventRow,
    ConversationTurnRow,
    DsrRequestRow,
    KeepJournalRow,
    PoolRecordRow,
)
from hegui.records.tombstones import tombstone_user
from hegui.records.vault import Vault

log = logging.getLogger(__name__)
KINDS: tuple[str, ...] = ("access", "correction", "deletion", "withdrawal")


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted).

    For a year the installed chinese-calendar has no data for yet (the State Council publishes each
    year's schedule late in the year before), Monday to Friday count as working days and a warning is
    logged: public holidays only move a deadline later, so the deadline given is no later than the true
    one (short of a make-up working weekend without its holiday inside the span). Upgrade the package to
    get exact deadlines; a request is never refused for want of calendar data."""
    d, left = start, days
    while left > 0:
        d += timedelta(days=1)
        try:
            work = chinese_calendar.is_workday(d)
        except NotImplementedError:
            _warn_no_calendar(d.year)
            work = d.weekday() < 5
        if work:
            left -= 1
    return d


@functools.cache
def _warn_no_calendar(year: int) -> None:
    log.warning(
        "chinese-calendar has no holiday data for %d: DSR deadlines in %d count Monday to Friday (they may "
        "come a few days early); upgrade chinese-calendar",
        year,
        year,
    )


@dataclass(frozen=True, slots=True)
class DsrRequest:
    id: int
    tenant: str
    user: str
    kind: str
    status: str
    detail: dict[str, Any]
    received_at: str
    due_date: str
    completed_at: str | None
    outcome: dict[str, Any] | None


_T = DsrRequestRow
_COLS = select(
    _T.id,
    _T.tenant,
    _T.user_id,
    _T.kind,
    _T.status,
    _T.detail,
    _T.received_at,
    _T.due_date,
    _T.completed_at,
    _T.outcome,
)


def _of(r: Any) -> DsrRequest:
    return DsrRequest(
        r.id,
        r.tenant,
        r.user_id,
        r.kind,
        r.status,
        json.loads(r.detail),
        r.received_at,
        r.due_date,
        r.completed_at,
        json.loads(r.outcome) if r.outcome else None,
    )


def _audit(
    engine: Engine,
    req: DsrRequest,
    action: str,
    detail: dict[str, Any],
    policy_version: str,
    audit: AuditSink | None,
) -> None:
    (audit or direct_sink(engine))(
        [
            AuditDraft(
                request_id=f"dsr-{req.id}",
                stage="records",
                action=action,
                policy_version=policy_version,
                content_hash="",
                tenant=req.tenant,
                end_user=req.user,
                detail={"kind": req.kind, **detail},
            )
        ],
    )


def open_request(
    engine: Engine,
    tenant: str,
    user: str,
    kind: str,
    *,
    detail: dict[str, Any] | None = None,
    deadline_days: int = 15,
    received: datetime | None = None,
    policy_version: str = "",
    audit: AuditSink | None = None,
) -> DsrRequest:
    """Record a request, with its due date, and audit it (through ``audit``: a running gateway's writer;
    by default `write_batch` on ``engine``)."""
    if kind not in KINDS:
        raise RequestError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", param="kind")
    if not user:
        raise RequestError("user must not be empty", param="user")
    at = utc_now() if received is None else received.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    due = add_working_days(date.fromisoformat(at[:10]), deadline_days).isoformat()
    with engine.begin() as conn:
        rid = conn.execute(
            insert(_T)
            .values(
                tenant=tenant,
                user_id=user,
                kind=kind,
                status="open",
                detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                received_at=at,
                due_date=due,
            )
            .returning(_T.id)
        ).scalar_one()
    req = get(engine, rid)
    _audit(engine, req, "dsr-open", {"due": due}, policy_version, audit)
    return req


def get(engine: Engine, request_id: int) -> DsrRequest:
    with engine.connect() as conn:
        row = conn.execute(_COLS.where(_T.id == request_id)).first()
    if row is None:
        raise RecordNotFound(f"no data-subject request {request_id}", param="id")
    return _of(row)


def list_requests(
    engine: Engine, *, tenant: str | None = None, status: str | None = None, overdue_on: date | None = None
) -> list[DsrRequest]:
    """Requests, oldest first; ``overdue_on``: only open ones whose due date is before that day."""
    q = _COLS.order_by(_T.id)
    if tenant is not None:
        q = q.where(_T.tenant == tenant)
    if status is not None:
        q = q.where(_T.status == status)
    if overdue_on is not None:
        q = q.where((_T.status == "open") & (_T.due_date < overdue_on.isoformat()))
    with engine.connect() as conn:
        return [_of(r) for r in conn.execute(q)]


def access_export(engine: Engine, vault: Vault, tenant: str, user: str) -> dict[str, Any]:
    """Everything held about ``user`` (PIPL 45): readable conversation, pool records, consent, agreements."""
    t = PoolRecordRow
    with engine.connect() as conn:
        pool = [
            dict(r._mapping)
            for r in conn.execute(
                select(t.record_hash, t.prompt, t.answer, t.channel, t.collected_at, t.consent_basis).where(
                    (t.tenant == tenant) & (t.user_id == user)
                )
            )
        ]
    return {
        "user": user,
        "tenant": tenant,
        "conversations": [
            {"session": s.session, "request_id": s.request_id, "role": s.role, "text": s.text, "at": s.at}
            for s in turns_of(engine, vault, tenant, user)
        ],
        "training_pool": pool,
        "consent_events": [
            {"id": e.id, "granted": e.granted, "channel": e.channel, "source": e.source, "at": e.at}
            for e in history(engine, tenant, user)
        ],
        "agreements": [
            {"kind": a.kind, "version": a.version, "channel": a.channel, "accepted_at": a.accepted_at}
            for a in acceptances(engine, tenant, user)
        ],
        "verified": is_verified(engine, tenant, user),
    }


@dataclass(frozen=True, slots=True)
class Erasure:
    key_shredded: bool
    turns_deleted: int
    pool_tombstoned: int


def erase_user(engine: Engine, vault: Vault, tenant: str, user: str) -> Erasure:
    """Crypto-shred the user's key and delete their content, in one transaction (idempotent)."""
    at = utc_now()
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        shredded = vault.shred(conn, tenant, user)
        turns = conn.execute(
            delete(ConversationTurnRow).where(
                (ConversationTurnRow.tenant == tenant) & (ConversationTurnRow.user_id == user)
            )
        ).rowcount
        pool = tombstone_user(conn, tenant, user, "deleted", at)
        erase_memory(conn, tenant, user)  # the gateway's session memory: turns and refused-prompt sketches
        conn.execute(  # turns journaled but not kept yet (records/keep.py): unreadable now, and dropped
            delete(KeepJournalRow).where((KeepJournalRow.tenant == tenant) & (KeepJournalRow.user_id == user))
        )
        conn.execute(
            insert(ConsentEventRow).values(
                tenant=tenant,
                user_id=user,
                purpose="training",
                granted=False,
                channel="api",
                source="deletion",
                at=at,
            )
        )
    vault.forget(tenant, user)
    return Erasure(shredded, int(turns), pool)


def complete_request(
    engine: Engine,
    vault: Vault,
    request_id: int,
    *,
    resolution: str = "",
    policy_version: str = "",
    audit: AuditSink | None = None,
) -> tuple[DsrRequest, dict[str, Any]]:
    """Carry out an open request and close it. Returns the request and its result (for access: the
    export). Deletion and withdrawal act on the data; correction records the operator's resolution.
    The entry goes through ``audit`` (see `open_request`)."""
    req = get(engine, request_id)
    if req.status != "open":
        raise RequestError(f"request {request_id} is already {req.status}", param="id")
    result: dict[str, Any]
    if req.kind == "access":
        result = access_export(engine, vault, req.tenant, req.user)
        outcome: dict[str, Any] = {
            "conversations": len(result["conversations"]),
            "training_pool": len(result["training_pool"]),
        }
    elif req.kind == "deletion":
        e = erase_user(engine, vault, req.tenant, req.user)
        outcome = {
            "key_shredded": e.key_shredded,
            "turns_deleted": e.turns_deleted,
            "pool_tombstoned": e.pool_tombstoned,
        }
        result = outcome
    elif req.kind == "withdrawal":
        change = record_consent(engine, req.tenant, req.user, False, channel="api", source=f"dsr-{req.id}")
        outcome = {"consent_event_id": change.event.id, "pool_tombstoned": change.tombstoned}
        result = outcome
    else:
        if not resolution.strip():
            raise RequestError("a correction needs a resolution: what was corrected", param="resolution")
        outcome = {}
        result = {}
    if resolution:
        outcome["resolution"] = resolution
    done = utc_now()
    with engine.begin() as conn:
        conn.execute(
            update(_T)
            .where((_T.id == request_id) & (_T.status == "open"))
            .values(
                status="done",
                completed_at=done,
                outcome=json.dumps(outcome, ensure_ascii=False, sort_keys=True),
            )
        )
    closed = get(engine, request_id)
    late = done[:10] > req.due_date
    _audit(engine, closed, "dsr-done", {"outcome": outcome, "late": late}, policy_version, audit)
    return closed, result
