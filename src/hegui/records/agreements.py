"""Service agreements and privacy policies (IM 9), their acceptance per end user, and the real-name
verification flag (DS 9) that the provider's own system sets; `may_serve` tells the gateway whether a
user may be served under the policy. Acceptances are kept as evidence and never edited.

Agreements belong to a tenant: each tenant publishes its own versions, its users accept those, and one
tenant's publication never becomes another tenant's current agreement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hegui.errors import RecordNotFound, RequestError
from hegui.records.audit import utc_now
from hegui.records.config import RecordsPolicy
from hegui.records.tables_records import AcceptanceRow, AgreementVersionRow, VerificationRow

KINDS: tuple[str, ...] = ("service", "privacy")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise RequestError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", param="kind")
    return kind


@dataclass(frozen=True, slots=True)
class AgreementVersion:
    kind: str
    version: str
    text: str
    published_at: str


@dataclass(frozen=True, slots=True)
class Acceptance:
    kind: str
    version: str
    channel: str
    accepted_at: str


def publish(engine: Engine, kind: str, version: str, text: str, *, tenant: str) -> AgreementVersion:
    """Publish a new version for ``tenant``; it becomes that tenant's current one. A version, once
    published, never changes."""
    if not version.strip() or not text.strip():
        raise RequestError("version and text must not be empty")
    if len(version) > 64:
        raise RequestError("version must be at most 64 characters", param="version")
    at = utc_now()
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(AgreementVersionRow).values(
                    tenant=tenant, kind=_kind(kind), version=version, text=text, published_at=at
                )
            )
    except IntegrityError:
        raise RequestError(f"{kind} version {version!r} is already published", param="version") from None
    return AgreementVersion(kind, version, text, at)


def current(engine: Engine, kind: str, *, tenant: str) -> AgreementVersion | None:
    """The tenant's newest published version of ``kind``, or None."""
    q = (
        select(
            AgreementVersionRow.kind,
            AgreementVersionRow.version,
            AgreementVersionRow.text,
            AgreementVersionRow.published_at,
        )
        .where((AgreementVersionRow.tenant == tenant) & (AgreementVersionRow.kind == _kind(kind)))
        .order_by(AgreementVersionRow.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return AgreementVersion(*row) if row else None


def accept(
    engine: Engine, tenant: str, user: str, kind: str, version: str | None, channel: str
) -> Acceptance:
    """Record that ``user`` accepted ``version`` (the current one when None) of ``kind``."""
    if version is None:
        cur = current(engine, kind, tenant=tenant)
        if cur is None:
            raise RecordNotFound(f"no {kind} agreement is published", param="kind")
        version = cur.version
    with engine.begin() as conn:
        known = conn.execute(
            select(AgreementVersionRow.id).where(
                (AgreementVersionRow.tenant == tenant)
                & (AgreementVersionRow.kind == _kind(kind))
                & (AgreementVersionRow.version == version)
            )
        ).first()
        if known is None:
            raise RecordNotFound(f"{kind} version {version!r} is not published", param="version")
        at = utc_now()
        conn.execute(
            insert(AcceptanceRow).values(
                tenant=tenant, user_id=user, kind=kind, version=version, channel=channel, accepted_at=at
            )
        )
    return Acceptance(kind, version, channel, at)


def acceptances(engine: Engine, tenant: str, user: str) -> list[Acceptance]:
    q = (
        select(AcceptanceRow.kind, AcceptanceRow.version, AcceptanceRow.channel, AcceptanceRow.accepted_at)
        .where((AcceptanceRow.tenant == tenant) & (AcceptanceRow.user_id == user))
        .order_by(AcceptanceRow.id)
    )
    with engine.connect() as conn:
        return [Acceptance(*r) for r in conn.execute(q)]


def set_verification(
    engine: Engine, tenant: str, user: str, verified: bool, method: str = "provider"
) -> None:
    cond = (VerificationRow.tenant == tenant) & (VerificationRow.user_id == user)
    values = {"verified": verified, "method": method[:64], "updated_at": utc_now()}
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        if conn.execute(update(VerificationRow).where(cond).values(**values)).rowcount == 0:
            conn.execute(insert(VerificationRow).values(tenant=tenant, user_id=user, **values))


def is_verified(engine: Engine, tenant: str, user: str) -> bool:
    cond = (VerificationRow.tenant == tenant) & (VerificationRow.user_id == user)
    with engine.connect() as conn:
        return bool(conn.execute(select(VerificationRow.verified).where(cond)).scalar())


def may_serve(
    engine: Engine, policy: RecordsPolicy, tenant: str, user: str | None, channel: str
) -> tuple[bool, str]:
    """Whether ``user`` may be served now, and the reason when not (fails closed: a requirement that
    cannot be met, such as no published agreement, refuses)."""
    del channel  # acceptance on any channel counts; the channel is recorded with the acceptance
    if not policy.require_agreement and not policy.require_verification:
        return True, ""
    if user is None:
        return False, "an end-user id is required (the 'user' field or the X-Hegui-User header)"
    if policy.require_agreement:
        accepted = {(a.kind, a.version) for a in acceptances(engine, tenant, user)}
        for kind in KINDS:
            cur = current(engine, kind, tenant=tenant)
            if cur is None:
                return False, f"no {kind} agreement is published, and the policy requires acceptance"
            if (kind, cur.version) not in accepted:
                return False, f"the user has not accepted {kind} agreement version {cur.version}"
    if policy.require_verification and not is_verified(engine, tenant, user):
        return False, "the user is not real-name verified"
    return True, ""
