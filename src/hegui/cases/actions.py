"""What a decision on a case can do (Interim Measures art. 14), each recorded and audited:

- `take_down`: generated content, by its ProduceID (the response id that its label carries): the stored
  conversation turns of that response are erased, its training-pool records tombstoned, and the
  ProduceID resolves to "removed" from then on (`resolve`), so later requests for it are refused.
  Erased content cannot come back, so a takedown is not reversible; queue it for model improvement
  first if it is needed there.
- `sanction`: a step on the sanction ladder set by a person (warn … terminate, or back to none on an
  appeal), through the ladder and store the gateway uses, audited like the admin API's manual changes.
- `queue_improvement`: the prompt and answer, for retraining (模型优化训练), exported as JSON Lines.
- `record_authority_report`: a report made to the authority (what, when, to whom, reference), with an
  exportable report file.
- `publish_refutation`: a refutation of a rumour, published on the public page /refutations.

The audit entries of a takedown carry the ProduceID as their request id, so `hegui audit show
PRODUCE_ID` lists the takedown beside the decisions that produced the content.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from hegui.cases.store import Auditor, events, get_case, record_event
from hegui.cases.tables import AuthorityReportRow, ImprovementItemRow, RefutationRow, RemovedContentRow
from hegui.errors import ContentErased, PermissionDenied, RecordNotFound, RequestError
from hegui.guard.sanctions import Sanction, SanctionLadder, SanctionStore
from hegui.records.audit import AuditDraft, find_by_request, utc_now
from hegui.records.sanctions_store import lift_draft
from hegui.records.tables_records import ConversationTurnRow
from hegui.records.tombstones import tombstone_request
from hegui.records.vault import Vault


def _need(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise RequestError(f"{name} must not be empty", param=name)
    return value


def _case_event(
    engine: Engine,
    audit: Auditor,
    case_id: int | None,
    event: str,
    actor: str,
    detail: dict[str, Any],
    pv: str,
) -> None:
    if case_id is not None:
        record_event(
            engine, audit, get_case(engine, case_id), event, actor=actor, detail=detail, policy_version=pv
        )


# --- takedown ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Takedown:
    produce_id: str
    tenant: str
    case_id: int | None
    reason: str
    by: str
    turns_erased: int
    pool_tombstoned: int
    at: str


@dataclass(frozen=True, slots=True)
class ProduceStatus:
    """What a ProduceID resolves to: ``removed`` (taken down), ``active`` (the chain knows it) or
    ``unknown``."""

    produce_id: str
    status: str
    removed_at: str | None = None


def removed(engine: Engine, produce_id: str) -> Takedown | None:
    t = RemovedContentRow
    q = select(t.produce_id, t.tenant, t.case_id, t.reason, t.by, t.turns_erased, t.pool_tombstoned, t.at)
    with engine.connect() as conn:
        row = conn.execute(q.where(t.produce_id == produce_id)).first()
    return Takedown(*row) if row is not None else None


def resolve(engine: Engine, produce_id: str) -> ProduceStatus:
    gone = removed(engine, produce_id)
    if gone is not None:
        return ProduceStatus(produce_id, "removed", gone.at)
    return ProduceStatus(produce_id, "active" if find_by_request(engine, produce_id) else "unknown")


def take_down(
    engine: Engine,
    audit: Auditor,
    produce_id: str,
    *,
    tenant: str,
    by: str,
    reason: str,
    case_id: int | None = None,
    policy_version: str = "",
) -> Takedown:
    """Remove a response's content everywhere it is kept, in one transaction (a second takedown of
    the same ProduceID is refused).

    The content belongs to the tenant whose request produced it (its audit entries say which). The
    provider's own staff (tenant ``default``, where public complaints arrive) may take down any
    tenant's content; another tenant's staff only their own."""
    produce_id, by, reason = _need(produce_id, "produce_id"), _need(by, "by"), _need(reason, "reason")
    if removed(engine, produce_id) is not None:
        raise RequestError(f"{produce_id} was already taken down", param="produce_id")
    owners = {e.tenant for e in find_by_request(engine, produce_id)} or {tenant}
    if tenant != "default" and owners != {tenant}:
        raise PermissionDenied(f"{produce_id} was produced for another tenant")
    at = utc_now()
    t = ConversationTurnRow
    mine = (t.tenant.in_(sorted(owners))) & (t.request_id == produce_id)
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        users = {u for (u,) in conn.execute(select(t.user_id).where(mine))}
        turns = conn.execute(delete(t).where(mine)).rowcount
        pool = sum(tombstone_request(conn, owner, produce_id, "takedown", at) for owner in sorted(owners))
        conn.execute(
            insert(RemovedContentRow).values(
                produce_id=produce_id,
                tenant=next(iter(owners)) if len(owners) == 1 else tenant,  # the content's owner
                case_id=case_id,
                reason=reason,
                by=by,
                turns_erased=int(turns),
                pool_tombstoned=pool,
                at=at,
            )
        )
    owner = next(iter(owners)) if len(owners) == 1 else tenant
    done = Takedown(produce_id, owner, case_id, reason, by, int(turns), pool, at)
    detail = {
        "case": case_id,
        "content_tenants": sorted(owners),
        "by": by,
        "reason": reason,
        "turns_erased": done.turns_erased,
        "pool_tombstoned": pool,
    }
    audit(
        AuditDraft(
            request_id=produce_id,
            stage="cases",
            action="takedown",
            policy_version=policy_version,
            content_hash="",
            tenant=tenant,
            end_user=next(iter(users)) if len(users) == 1 else None,
            detail=detail,
        )
    )
    _case_event(engine, audit, case_id, "takedown", by, {"produce_id": produce_id, **detail}, policy_version)
    return done


# --- sanctions ----------------------------------------------------------------------------------------


def sanction(
    engine: Engine,
    audit: Auditor,
    ladder: SanctionLadder,
    sanctions: SanctionStore,
    *,
    tenant: str,
    user: str,
    level: str,
    by: str,
    reason: str,
    case_id: int | None = None,
    now: datetime | None = None,
    policy_version: str = "",
) -> dict[str, Any]:
    """Set ``user``'s level on the ladder (raise it for a violation, lower it on an appeal)."""
    if level not in {s.value for s in Sanction}:
        raise RequestError(f"level must be one of {', '.join(s.value for s in Sanction)}", param="level")
    user, by, reason = _need(user, "user"), _need(by, "by"), _need(reason, "reason")
    step = ladder.lift(
        sanctions, tenant, user, to=Sanction(level), by=by, reason=reason, now=now or datetime.now(UTC)
    )
    audit(lift_draft(step, policy_version))
    out = {"user": user, "previous": step.previous.value, "level": step.level.value, "reason": reason}
    _case_event(engine, audit, case_id, "sanction", by, out, policy_version)
    return out


# --- the model-improvement queue ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImprovementItem:
    id: int
    tenant: str
    case_id: int | None
    produce_id: str
    category: str
    prompt: str
    answer: str
    note: str
    by: str
    at: str


def queue_improvement(
    engine: Engine,
    audit: Auditor,
    vault: Vault,
    produce_id: str,
    *,
    tenant: str,
    category: str,
    by: str,
    note: str = "",
    case_id: int | None = None,
    policy_version: str = "",
) -> ImprovementItem:
    """Queue a response's prompt and answer (from the conversation store) for model improvement.

    When the turns are not stored (or were erased) the item is queued with empty texts and a note
    saying so: the category and ProduceID alone still tell the trainers what went wrong."""
    produce_id, by = _need(produce_id, "produce_id"), _need(by, "by")
    t = ConversationTurnRow
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.user_id, t.role, t.ciphertext)
            .where((t.tenant == tenant) & (t.request_id == produce_id))
            .order_by(t.id)
        ).all()
    prompt: list[str] = []
    answer: list[str] = []
    missing = ""
    for r in rows:
        try:
            text = vault.decrypt(tenant, r.user_id, r.ciphertext)
        except ContentErased:
            missing = "the user's data key was erased"
            continue
        (answer if r.role == "assistant" else prompt).append(text)
    if not rows:
        missing = "no stored turns for this ProduceID"
    full_note = "; ".join(p for p in (note.strip(), missing) if p)
    at = utc_now()
    with engine.begin() as conn:
        iid = conn.execute(
            insert(ImprovementItemRow)
            .values(
                tenant=tenant,
                case_id=case_id,
                produce_id=produce_id,
                category=category.strip()[:32],
                prompt="\n".join(prompt),
                answer="\n".join(answer),
                note=full_note,
                by=by,
                at=at,
            )
            .returning(ImprovementItemRow.id)
        ).scalar_one()
    item = ImprovementItem(
        iid,
        tenant,
        case_id,
        produce_id,
        category.strip()[:32],
        "\n".join(prompt),
        "\n".join(answer),
        full_note,
        by,
        at,
    )
    detail = {
        "case": case_id,
        "item": iid,
        "category": item.category,
        "by": by,
        "has_text": bool(prompt or answer),
    }
    audit(AuditDraft(produce_id, "cases", "improve-queue", policy_version, "", tenant, None, (), detail))
    _case_event(
        engine, audit, case_id, "improve-queue", by, {"produce_id": produce_id, **detail}, policy_version
    )
    return item


def improvement_items(engine: Engine, *, tenant: str | None = None) -> list[ImprovementItem]:
    t = ImprovementItemRow
    q = select(t.id, t.tenant, t.case_id, t.produce_id, t.category, t.prompt, t.answer, t.note, t.by, t.at)
    if tenant is not None:
        q = q.where(t.tenant == tenant)
    with engine.connect() as conn:
        return [ImprovementItem(**r._mapping) for r in conn.execute(q.order_by(t.id))]


def export_improvements(engine: Engine, *, tenant: str | None = None) -> str:
    """The queue as JSON Lines: one object per item (ProduceID, category, prompt, answer, note)."""
    return "".join(
        json.dumps(asdict(i), ensure_ascii=False, sort_keys=True) + "\n"
        for i in improvement_items(engine, tenant=tenant)
    )


# --- reports to the authority ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorityReport:
    id: int
    tenant: str
    case_id: int | None
    authority: str
    reference: str
    summary: str
    reported_at: str
    by: str
    at: str


def record_authority_report(
    engine: Engine,
    audit: Auditor,
    *,
    tenant: str,
    authority: str,
    reference: str,
    summary: str,
    by: str,
    reported_at: str = "",
    case_id: int | None = None,
    policy_version: str = "",
) -> AuthorityReport:
    """Record that a report was made (when: ``reported_at`` ISO time, default now; to whom; reference)."""
    authority, summary, by = _need(authority, "authority"), _need(summary, "summary"), _need(by, "by")
    at = utc_now()
    when = reported_at.strip() or at
    try:
        datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError("reported_at must be an ISO-8601 time", param="reported_at") from None
    with engine.begin() as conn:
        rid = conn.execute(
            insert(AuthorityReportRow)
            .values(
                tenant=tenant,
                case_id=case_id,
                authority=authority[:256],
                reference=reference.strip()[:128],
                summary=summary,
                reported_at=when,
                by=by,
                at=at,
            )
            .returning(AuthorityReportRow.id)
        ).scalar_one()
    report = AuthorityReport(
        rid, tenant, case_id, authority[:256], reference.strip()[:128], summary, when, by, at
    )
    detail = {
        "case": case_id,
        "report": rid,
        "authority": report.authority,
        "reference": report.reference,
        "by": by,
    }
    audit(
        AuditDraft(f"authority-{rid}", "cases", "authority-rpt", policy_version, "", tenant, None, (), detail)
    )
    _case_event(engine, audit, case_id, "authority-rpt", by, detail, policy_version)
    return report


def authority_report(engine: Engine, report_id: int) -> AuthorityReport:
    t = AuthorityReportRow
    q = select(t.id, t.tenant, t.case_id, t.authority, t.reference, t.summary, t.reported_at, t.by, t.at)
    with engine.connect() as conn:
        row = conn.execute(q.where(t.id == report_id)).first()
    if row is None:
        raise RecordNotFound(f"no authority report {report_id}", param="id")
    return AuthorityReport(*row)


def authority_reports(engine: Engine, *, case_id: int | None = None) -> list[AuthorityReport]:
    t = AuthorityReportRow
    q = select(t.id, t.tenant, t.case_id, t.authority, t.reference, t.summary, t.reported_at, t.by, t.at)
    if case_id is not None:
        q = q.where(t.case_id == case_id)
    with engine.connect() as conn:
        return [AuthorityReport(*r) for r in conn.execute(q.order_by(t.id))]


def export_authority_report(engine: Engine, report_id: int) -> dict[str, Any]:
    """The report file: the report, the case it came from (kind, subject, decision, dates) and every
    action recorded on that case. The complainant's contact is left out: the authority asks for it
    through its own channel if needed."""
    report = authority_report(engine, report_id)
    out: dict[str, Any] = {"object": "authority_report", "report": asdict(report)}
    if report.case_id is not None:
        case = get_case(engine, report.case_id)
        out["case"] = {
            "receipt": case.receipt,
            "kind": case.kind,
            "state": case.state,
            "produce_id": case.produce_id,
            "user": case.user,
            "url": case.url,
            "description": case.description,
            "decision": case.decision,
            "received_at": case.received_at,
            "due_date": case.due_date,
            "answered_at": case.answered_at,
        }
        out["actions"] = [
            {"at": e.at, "actor": e.actor, "event": e.event, "detail": e.detail}
            for e in events(engine, report.case_id)
            if e.event in ("takedown", "sanction", "improve-queue", "authority-rpt", "decided")
        ]
    return out


# --- refutations of rumours ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refutation:
    id: int
    tenant: str
    case_id: int | None
    title: str
    body: str
    by: str
    published_at: str


def publish_refutation(
    engine: Engine,
    audit: Auditor,
    *,
    tenant: str,
    title: str,
    body: str,
    by: str,
    case_id: int | None = None,
    policy_version: str = "",
) -> Refutation:
    """Publish a refutation (辟谣) on /refutations; audited with the case it answers."""
    title, body, by = _need(title, "title")[:256], _need(body, "body"), _need(by, "by")
    at = utc_now()
    with engine.begin() as conn:
        rid = conn.execute(
            insert(RefutationRow)
            .values(tenant=tenant, case_id=case_id, title=title, body=body, by=by, published_at=at)
            .returning(RefutationRow.id)
        ).scalar_one()
    detail = {"case": case_id, "refutation": rid, "title": title, "by": by}
    audit(
        AuditDraft(f"refutation-{rid}", "cases", "refutation", policy_version, "", tenant, None, (), detail)
    )
    _case_event(engine, audit, case_id, "refutation", by, detail, policy_version)
    return Refutation(rid, tenant, case_id, title, body, by, at)


def refutations(engine: Engine, *, tenant: str | None = None, limit: int = 100) -> list[Refutation]:
    """Published refutations, newest first."""
    t = RefutationRow
    q = (
        select(t.id, t.tenant, t.case_id, t.title, t.body, t.by, t.published_at)
        .order_by(t.id.desc())
        .limit(limit)
    )
    if tenant is not None:
        q = q.where(t.tenant == tenant)
    with engine.connect() as conn:
        return [Refutation(*r) for r in conn.execute(q)]
