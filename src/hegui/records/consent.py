"""The consent ledger for using an end user's input to train models (IM 7, PIPL 14–15).

Every change is an append-only event; the state at any past moment is the latest event at or before it,
or the channel's default from policy (API: opt-in, chat: opt-out) when there is none. Withdrawing
consent is one call, and in the same transaction puts the user's pool records on the tombstone list.
Nothing here edits or deletes an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select

from hegui.errors import RequestError
from hegui.records.audit import utc_now
from hegui.records.config import RecordsPolicy
from hegui.records.db import reading
from hegui.records.keys import CHANNELS
from hegui.records.tables_records import ConsentEventRow
from hegui.records.tombstones import tombstone_user

TRAINING = "training"


def iso(at: datetime) -> str:
    """``at`` (aware) as the ISO-8601 UTC string the tables use."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime cannot be placed on the ledger; give a time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    id: int
    granted: bool
    channel: str
    source: str
    at: str


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The effective consent at one moment, and what it rests on."""

    granted: bool
    event_id: int | None
    #: ``event`` or ``default:<channel>``
    basis: str


@dataclass(frozen=True, slots=True)
class ConsentChange:
    event: ConsentEvent
    tombstoned: int


def record_consent(
    engine: Engine,
    tenant: str,
    user: str,
    granted: bool,
    *,
    channel: str,
    source: str = "api",
    at: str | None = None,
) -> ConsentChange:
    """Append a consent event (withdrawal tombstones the user's pool records in the same transaction)."""
    if channel not in CHANNELS:
        raise RequestError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}", param="channel")
    at = at or utc_now()
    with engine.begin() as conn:
        event_id = conn.execute(
            insert(ConsentEventRow)
            .values(
                tenant=tenant,
                user_id=user,
                purpose=TRAINING,
                granted=granted,
                channel=channel,
                source=source[:64],
                at=at,
            )
            .returning(ConsentEventRow.id)
        ).scalar_one()
        gone = 0 if granted else tombstone_user(conn, tenant, user, "withdrawn", at)
    return ConsentChange(ConsentEvent(event_id, granted, channel, source, at), gone)


#: Built once: the keep worker asks this for every kept turn (statement construction is most of its cost).
_CONSENT_AT = (
    select(ConsentEventRow.id, ConsentEventRow.granted)
    .where(
        (ConsentEventRow.tenant == bindparam("tenant"))
        & (ConsentEventRow.user_id == bindparam("user"))
        & (ConsentEventRow.purpose == TRAINING)
        & (ConsentEventRow.at <= bindparam("at"))
    )
    .order_by(ConsentEventRow.at.desc(), ConsentEventRow.id.desc())
    .limit(1)
)


def consent_at(
    bind: Engine | Connection,
    policy: RecordsPolicy,
    tenant: str,
    user: str,
    channel: str,
    at: str | None = None,
) -> ConsentState:
    """The consent effective at ``at`` (now when None) for training use (``bind``: an engine, or a
    connection whose transaction it reads in)."""
    with reading(bind) as conn:
        row = conn.execute(_CONSENT_AT, {"tenant": tenant, "user": user, "at": at or utc_now()}).first()
    if row is None:
        return ConsentState(policy.consent_default(channel), None, f"default:{channel}")
    return ConsentState(bool(row.granted), row.id, "event")


def history(engine: Engine, tenant: str, user: str) -> list[ConsentEvent]:
    q = (
        select(
            ConsentEventRow.id,
            ConsentEventRow.granted,
            ConsentEventRow.channel,
            ConsentEventRow.source,
            ConsentEventRow.at,
        )
        .where((ConsentEventRow.tenant == tenant) & (ConsentEventRow.user_id == user))
        .order_by(ConsentEventRow.at, ConsentEventRow.id)
    )
    with engine.connect() as conn:
        return [ConsentEvent(r.id, bool(r.granted), r.channel, r.source, r.at) for r in conn.execute(q)]
