"""Cross-border egress records: PIPL 39 separate consents, persons exported per year, alerts.

- **Separate consents** (XB-02): each records what the person was told — recipient, contact, purpose,
  method, data types, how to exercise rights against the recipient — for one upstream or all ("*").
  Revoking sets ``revoked_at``; nothing is deleted, so the state at any past moment can be read.
- **Counters** (XB-01): distinct persons exported per calendar year from 1 January in the policy's
  time zone, sensitive separately. A person is a salted hash made by the egress guard: each end user
  whose request crossed the border, and each distinct identifier in ``person_entities`` (a resident ID,
  a passport, a card, a phone, an e-mail). Two identifiers of one human count twice: the counters are an
  upper bound, never an undercount, which is the safe side of a legal threshold.
- **Alerts**: reaching a threshold (or the early-warning share of it) raises one alert per year,
  counter and level, written here and to the audit chain (`write_batch`).

Must never store a personal value: only hashes, kinds and counts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hegui.errors import RecordNotFound, RequestError, StorageError
from hegui.guard.egress import EgressPolicy, ExportedPerson
from hegui.records.audit import AuditDraft, AuditSink, canonical, direct_sink, utc_now
from hegui.records.tables_egress import EgressAlertRow, EgressConsentRow, EgressPersonRow

EXEMPT = "exempt"
STANDARD_CONTRACT = "standard_contract"
SECURITY_ASSESSMENT = "security_assessment"
PERSONS = "persons"
SENSITIVE = "sensitive"
_REQUIRED = ("recipient", "contact", "purpose", "method", "rights_process")


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("a naive datetime cannot be recorded; give a time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def counting_year(config: EgressPolicy, at: datetime) -> int:
    """The calendar year ``at`` falls in, in the policy's time zone (DCB counts from 1 January)."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no counting year; give a time zone")
    return at.astimezone(ZoneInfo(config.year_timezone)).year


# --- separate consents (PIPL 39) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeparateConsent:
    id: int
    tenant: str
    user: str
    upstream: str
    recipient: str
    contact: str
    purpose: str
    method: str
    data_types: tuple[str, ...]
    rights_process: str
    source: str
    granted_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _consent(row: Any) -> SeparateConsent:
    return SeparateConsent(
        row.id,
        row.tenant,
        row.user_id,
        row.upstream,
        row.recipient,
        row.contact,
        row.purpose,
        row.method,
        tuple(json.loads(row.data_types)),
        row.rights_process,
        row.source,
        row.granted_at,
        row.revoked_at,
    )


def add_consent(
    engine: Engine,
    tenant: str,
    user: str,
    *,
    recipient: str,
    contact: str,
    purpose: str,
    method: str,
    data_types: Sequence[str],
    rights_process: str,
    upstream: str = "*",
    source: str = "api",
    at: datetime | None = None,
) -> SeparateConsent:
    """Record a separate consent. Every item PIPL 39 requires the person to be told must be given."""
    given = {"recipient": recipient, "contact": contact, "purpose": purpose, "method": method}
    given["rights_process"] = rights_process
    for name in _REQUIRED:
        if not given[name].strip():
            raise RequestError(f"a PIPL 39 separate consent needs {name}", param=name)
    types = [t.strip() for t in data_types if t.strip()]
    if not types:
        raise RequestError("a PIPL 39 separate consent needs at least one data type", param="data_types")
    if not tenant or not user or not upstream:
        raise RequestError("tenant, user and upstream must not be empty", param="user")
    values = dict(
        tenant=tenant,
        user_id=user,
        upstream=upstream,
        **given,
        data_types=json.dumps(types, ensure_ascii=False),
        source=source[:64],
        granted_at=_iso(at) if at else utc_now(),
        revoked_at=None,
    )
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(EgressConsentRow).values(**values).returning(EgressConsentRow.id)
        ).scalar_one()
        row = conn.execute(select(EgressConsentRow).where(EgressConsentRow.id == new_id)).one()
        return _consent(row)


def revoke_consent(engine: Engine, consent_id: int, *, at: datetime | None = None) -> SeparateConsent:
    """Withdraw a separate consent; later cross-border requests that need it are refused."""
    with engine.begin() as conn:
        row = conn.execute(select(EgressConsentRow).where(EgressConsentRow.id == consent_id)).one_or_none()
        if row is None:
            raise RecordNotFound(f"no separate consent {consent_id}", param="consent_id")
        if row.revoked_at is None:
            conn.execute(
                update(EgressConsentRow)
                .where(EgressConsentRow.id == consent_id)
                .values(revoked_at=_iso(at) if at else utc_now())
            )
        return _consent(conn.execute(select(EgressConsentRow).where(EgressConsentRow.id == consent_id)).one())


def list_consents(
    engine: Engine, tenant: str | None = None, user: str | None = None
) -> list[SeparateConsent]:
    q = select(EgressConsentRow).order_by(EgressConsentRow.id)
    if tenant is not None:
        q = q.where(EgressConsentRow.tenant == tenant)
    if user is not None:
        q = q.where(EgressConsentRow.user_id == user)
    with engine.connect() as conn:
        return [_consent(r) for r in conn.execute(q)]


def has_separate_consent(
    engine: Engine, tenant: str, user: str, upstream: str, *, at: datetime | None = None
) -> bool:
    """Whether a separate consent covering ``upstream`` was in force at ``at`` (now when None)."""
    when = _iso(at) if at else utc_now()
    q = (
        select(func.count())
        .select_from(EgressConsentRow)
        .where(
            (EgressConsentRow.tenant == tenant)
            & (EgressConsentRow.user_id == user)
            & EgressConsentRow.upstream.in_([upstream, "*"])
            & (EgressConsentRow.granted_at <= when)
            & (EgressConsentRow.revoked_at.is_(None) | (EgressConsentRow.revoked_at > when))
        )
    )
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one()) > 0


# --- counters and alerts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EgressAlert:
    year: int
    counter: str  # "persons" (non-sensitive PI) or "sensitive"
    level: str  # standard_contract, security_assessment, or warn_ + one of them
    threshold: int
    count: int
    at: str


@dataclass(frozen=True, slots=True)
class ExportTally:
    year: int
    persons: int
    sensitive_persons: int
    new_persons: int
    route: str
    alerts: tuple[EgressAlert, ...]


def thresholds(config: EgressPolicy) -> dict[str, list[tuple[str, int]]]:
    """Per counter: (level, threshold) ascending, with the early-warning levels."""
    base = {
        PERSONS: [
            (STANDARD_CONTRACT, config.standard_contract_persons),
            (SECURITY_ASSESSMENT, config.assessment_persons),
        ],
        SENSITIVE: [
            (STANDARD_CONTRACT, config.sensitive_contract_persons),
            (SECURITY_ASSESSMENT, config.assessment_sensitive_persons),
        ],
    }
    out: dict[str, list[tuple[str, int]]] = {}
    for counter, levels in base.items():
        with_warn: list[tuple[str, int]] = []
        for level, limit in levels:
            warn = math.ceil(config.warn_ratio * limit)
            if warn < limit:
                with_warn.append((f"warn_{level}", warn))
            with_warn.append((level, limit))
        out[counter] = sorted(with_warn, key=lambda lv: lv[1])
    return out


def route_for(config: EgressPolicy, persons: int, sensitive_persons: int) -> str:
    """The DCB route for a year's counts: security assessment, standard contract, or exempt."""
    if persons >= config.assessment_persons or sensitive_persons >= config.assessment_sensitive_persons:
        return SECURITY_ASSESSMENT
    if persons >= config.standard_contract_persons or sensitive_persons >= config.sensitive_contract_persons:
        return STANDARD_CONTRACT
    return EXEMPT


def _insert(conn: Connection) -> Callable[..., Any]:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise StorageError(f"egress counters support SQLite and PostgreSQL, not {name}")


def _counts(conn: Connection, year: int) -> tuple[int, int]:
    row = conn.execute(
        select(
            func.count().filter(EgressPersonRow.nonsensitive.is_(True)),
            func.count().filter(EgressPersonRow.sensitive.is_(True)),
        ).where(EgressPersonRow.year == year)
    ).one()
    return int(row[0]), int(row[1])


def record_export(
    engine: Engine,
    config: EgressPolicy,
    persons: Sequence[ExportedPerson],
    *,
    at: datetime | None = None,
    request_id: str = "",
    tenant: str = "default",
    policy_version: str = "",
    audit: AuditSink | None = None,
) -> ExportTally:
    """Count the persons of one cross-border request; raise and audit any threshold now reached (through
    ``audit``: a running gateway's writer; by default `write_batch` on ``engine``)."""
    when = at or datetime.now(UTC)
    year, stamp = counting_year(config, when), _iso(when)
    new_alerts: list[EgressAlert] = []
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        ins = _insert(conn)
        new = 0
        for p in persons:
            nonsensitive = p.kind == "end_user" or not p.sensitive
            result = conn.execute(
                ins(EgressPersonRow)
                .values(
                    year=year,
                    person_hash=p.digest,
                    kind=p.kind,
                    nonsensitive=nonsensitive,
                    sensitive=p.sensitive,
                    first_at=stamp,
                )
                .on_conflict_do_nothing(index_elements=["year", "person_hash"])
                .returning(EgressPersonRow.year)
            )
            # rowcount is not reliable for ON CONFLICT DO NOTHING on every driver; RETURNING is.
            new += len(result.all())
            key = (EgressPersonRow.year == year) & (EgressPersonRow.person_hash == p.digest)
            if p.sensitive:
                conn.execute(
                    update(EgressPersonRow)
                    .where(key & EgressPersonRow.sensitive.is_(False))
                    .values(sensitive=True)
                )
            if nonsensitive:
                conn.execute(
                    update(EgressPersonRow)
                    .where(key & EgressPersonRow.nonsensitive.is_(False))
                    .values(nonsensitive=True)
                )
        count, sensitive_count = _counts(conn, year)
        for counter, value in ((PERSONS, count), (SENSITIVE, sensitive_count)):
            for level, limit in thresholds(config)[counter]:
                if value < limit:
                    break
                inserted = conn.execute(
                    ins(EgressAlertRow)
                    .values(
                        year=year,
                        counter=counter,
                        level=level,
                        threshold=limit,
                        count=value,
                        at=stamp,
                        audited=False,
                    )
                    .on_conflict_do_nothing(index_elements=["year", "counter", "level"])
                    .returning(EgressAlertRow.id)
                ).all()
                if inserted:
                    new_alerts.append(EgressAlert(year, counter, level, limit, value, stamp))
    _audit_pending(engine, request_id=request_id, tenant=tenant, policy_version=policy_version, audit=audit)
    return ExportTally(
        year, count, sensitive_count, new, route_for(config, count, sensitive_count), tuple(new_alerts)
    )


def _audit_pending(
    engine: Engine, *, request_id: str, tenant: str, policy_version: str, audit: AuditSink | None
) -> None:
    """Write every alert not yet in the audit chain (a failed earlier write is retried here)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(EgressAlertRow).where(EgressAlertRow.audited.is_(False)).order_by(EgressAlertRow.id)
        ).all()
    if not rows:
        return
    drafts = []
    for r in rows:
        detail = {
            "year": r.year,
            "counter": r.counter,
            "level": r.level,
            "threshold": r.threshold,
            "count": r._mapping["count"],
        }
        drafts.append(
            AuditDraft(
                request_id=request_id or f"egress-alert-{r.id}",
                stage="egress",
                action="alert",
                policy_version=policy_version,
                content_hash=hashlib.sha256(canonical(detail).encode()).hexdigest(),
                tenant=tenant,
                detail=detail | {"event": "egress_threshold"},
            )
        )
    (audit or direct_sink(engine))(drafts)
    with engine.begin() as conn:
        conn.execute(
            update(EgressAlertRow).where(EgressAlertRow.id.in_([r.id for r in rows])).values(audited=True)
        )


def alerts(engine: Engine, year: int | None = None) -> list[EgressAlert]:
    q = select(EgressAlertRow).order_by(EgressAlertRow.year, EgressAlertRow.id)
    if year is not None:
        q = q.where(EgressAlertRow.year == year)
    with engine.connect() as conn:
        return [
            EgressAlert(r.year, r.counter, r.level, r.threshold, r._mapping["count"], r.at)
            for r in conn.execute(q)
        ]


def year_counts(engine: Engine, year: int) -> tuple[int, int]:
    """(persons with non-sensitive PI, persons with sensitive PI) exported in ``year``."""
    with engine.connect() as conn:
        return _counts(conn, year)


def counts_by_kind(engine: Engine, year: int) -> dict[str, int]:
    q = (
        select(EgressPersonRow.kind, func.count())
        .where(EgressPersonRow.year == year)
        .group_by(EgressPersonRow.kind)
        .order_by(EgressPersonRow.kind)
    )
    with engine.connect() as conn:
        return {str(k): int(n) for k, n in conn.execute(q)}


# --- report for a standard-contract filing or a security assessment --------------------------------

_ROUTE_TEXT = {
    EXEMPT: "Exempt (DCB arts. 3–6): under the standard-contract thresholds.",
    STANDARD_CONTRACT: "Standard contract or certification (DCB art. 8; PIPL 38). File the contract with the "
    "provincial CAC within 10 working days of it taking effect (SCC Measures art. 7).",
    SECURITY_ASSESSMENT: "Security assessment by the CAC (DCB art. 7; PIPL 38). Valid 3 years; renewal may be "
    "requested within the 60 working days before expiry (DCB art. 9).",
}

PERSON_DEFINITION = (
    "A person is a salted hash: each end user whose request reached a foreign upstream, and each distinct "
    "identifier in person_entities found in such a request. Two identifiers of one human count twice, so "
    "the counts are an upper bound."
)


@dataclass(frozen=True, slots=True)
class CrossBorderReport:
    year: int
    period: str
    provider: str
    persons: int
    sensitive_persons: int
    by_kind: dict[str, int]
    route: str
    route_text: str
    thresholds: dict[str, list[tuple[str, int]]]
    alerts: tuple[EgressAlert, ...]
    active_consents: int
    recipients: tuple[str, ...]
    generated_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "year": self.year,
            "period": self.period,
            "provider": self.provider,
            "persons_non_sensitive": self.persons,
            "persons_sensitive": self.sensitive_persons,
            "persons_by_kind": self.by_kind,
            "route": self.route,
            "route_text": self.route_text,
            "thresholds": {
                c: [{"level": lv, "threshold": n} for lv, n in t] for c, t in self.thresholds.items()
            },
            "alerts": [
                {
                    "counter": a.counter,
                    "level": a.level,
                    "threshold": a.threshold,
                    "count": a.count,
                    "at": a.at,
                }
                for a in self.alerts
            ],
            "separate_consents_active": self.active_consents,
            "recipients": list(self.recipients),
            "person_definition": PERSON_DEFINITION,
            "generated_at": self.generated_at,
        }

    def to_markdown(self) -> str:
        lines = [
            f"# Cross-border transfer report {self.year}",
            "",
            f"Provider: {self.provider}. Period: {self.period}. Generated {self.generated_at}.",
            "",
            "| Counter | Distinct persons |",
            "|---|---|",
            f"| Personal information (non-sensitive) | {self.persons} |",
            f"| Sensitive personal information | {self.sensitive_persons} |",
            "",
            f"**Route: {self.route}.** {self.route_text}",
            "",
            "## Persons by kind",
            "",
            "| Kind | Persons |",
            "|---|---|",
            *[f"| {k} | {n} |" for k, n in self.by_kind.items()],
            "",
            "## Thresholds",
            "",
            "| Counter | Level | Threshold |",
            "|---|---|---|",
            *[f"| {c} | {lv} | {n} |" for c, t in self.thresholds.items() for lv, n in t],
            "",
            "## Alerts raised",
            "",
        ]
        if self.alerts:
            lines += ["| At | Counter | Level | Threshold | Count |", "|---|---|---|---|---|"]
            lines += [
                f"| {a.at} | {a.counter} | {a.level} | {a.threshold} | {a.count} |" for a in self.alerts
            ]
        else:
            lines.append("None.")
        lines += [
            "",
            "## Separate consents (PIPL 39)",
            "",
            f"Active: {self.active_consents}. Recipients: {', '.join(self.recipients) or 'none'}.",
            "",
            "## What a person is",
            "",
            PERSON_DEFINITION,
            "",
        ]
        return "\n".join(lines)


def crossborder_report(
    engine: Engine, config: EgressPolicy, *, year: int | None = None, provider: str = ""
) -> CrossBorderReport:
    """The figures a standard-contract filing or a security-assessment application asks for."""
    year = year if year is not None else counting_year(config, datetime.now(UTC))
    persons, sensitive = year_counts(engine, year)
    consents = [c for c in list_consents(engine) if c.active]
    route = route_for(config, persons, sensitive)
    return CrossBorderReport(
        year=year,
        period=f"{year}-01-01 to {year}-12-31 ({config.year_timezone})",
        provider=provider,
        persons=persons,
        sensitive_persons=sensitive,
        by_kind=counts_by_kind(engine, year),
        route=route,
        route_text=_ROUTE_TEXT[route],
        thresholds=thresholds(config),
        alerts=tuple(alerts(engine, year)),
        active_consents=len(consents),
        recipients=tuple(sorted({c.recipient for c in consents})),
        generated_at=utc_now(),
    )
